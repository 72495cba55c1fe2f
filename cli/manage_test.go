package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
)

func TestTenantUpdate(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com", "--on-trial", "--paid-until", "2030-01-31")
	row := func() (name string, trial bool, paid *time.Time) {
		require.NoError(t, d.Pool.QueryRow(t.Context(), "SELECT name, on_trial, paid_until FROM clients WHERE schema_name = 'acme'").Scan(&name, &trial, &paid))
		return
	}

	t.Run("OKName", func(t *testing.T) {
		r := a.ok("tenant", "update", "--schema", "acme", "--name", "ACME Corp")
		assert.Equal(t, "updated tenant acme (ACME Corp): on trial yes, paid until 2030-01-31\n", r.stdout)
		name, trial, paid := row()
		assert.Equal(t, "ACME Corp", name)
		assert.True(t, trial, "unchanged")
		require.NotNil(t, paid, "unchanged")
		assert.Equal(t, "2030-01-31", paid.Format("2006-01-02"))
	})
	t.Run("OKPaidUntilAndTrial", func(t *testing.T) {
		a.ok("tenant", "update", "--schema", "acme", "--paid-until", "2031-06-30", "--on-trial=false")
		name, trial, paid := row()
		assert.Equal(t, "ACME Corp", name)
		assert.False(t, trial)
		require.NotNil(t, paid)
		assert.Equal(t, "2031-06-30", paid.Format("2006-01-02"))
	})
	t.Run("OKClearPaidUntil", func(t *testing.T) {
		r := a.ok("tenant", "update", "--schema", "acme", "--paid-until", "")
		assert.Equal(t, "updated tenant acme (ACME Corp): on trial no, paid until -\n", r.stdout)
		_, _, paid := row()
		assert.Nil(t, paid)
	})
	t.Run("OKOnTrial", func(t *testing.T) {
		a.ok("tenant", "update", "--schema", "acme", "--on-trial")
		_, trial, _ := row()
		assert.True(t, trial)
	})
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"ErrNothingToChange", []string{"--schema", "acme"}, 2, "nothing to change: give --name, --paid-until or --on-trial"},
		{"ErrUnknownTenant", []string{"--schema", "ghost", "--name", "X"}, 1, `tenant "ghost" not found`},
		{"ErrInvalidSchema", []string{"--schema", "a;b", "--name", "X"}, 1, "schema_name: invalid schema name"},
		{"ErrEmptyName", []string{"--schema", "acme", "--name", " "}, 1, "name: This field is required."},
		{"ErrBadDate", []string{"--schema", "acme", "--paid-until", "tomorrow"}, 1, `--paid-until: "tomorrow" is not a date in the form YYYY-MM-DD`},
		{"ErrBadBool", []string{"--schema", "acme", "--on-trial=maybe"}, 2, `invalid value "maybe" for flag --on-trial`},
		{"ErrMissingSchema", []string{"--name", "X"}, 2, "missing required flag --schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, a.run(append([]string{"tenant", "update"}, tc.args...)...), tc.code, tc.msg)
			name, trial, paid := row()
			assert.Equal(t, "ACME Corp", name)
			assert.True(t, trial)
			assert.Nil(t, paid)
		})
	}
}

func TestDomainList(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "beta", "--name", "Beta", "--domain", "beta.example.com")
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com")
	a.ok("domain", "add", "--schema", "acme", "--domain", "a.acme.example.com")

	t.Run("Text", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(a.ok("domain", "list").stdout), "\n")
		require.Len(t, lines, 4)
		assert.Equal(t, []string{"DOMAIN", "SCHEMA", "PRIMARY", "CREATED"}, strings.Fields(lines[0]))
		today := time.Now().Format("2006-01-02")
		assert.Equal(t, []string{"acme.example.com", "acme", "yes", today}, strings.Fields(lines[1]))
		assert.Equal(t, []string{"a.acme.example.com", "acme", "no", today}, strings.Fields(lines[2]))
		assert.Equal(t, []string{"beta.example.com", "beta", "yes", today}, strings.Fields(lines[3]))
	})
	t.Run("JSONOneTenant", func(t *testing.T) {
		var got []map[string]any
		require.NoError(t, json.Unmarshal([]byte(a.ok("domain", "list", "--schema", "beta", "--json").stdout), &got))
		require.Len(t, got, 1)
		assert.Equal(t, "beta.example.com", got[0]["domain"])
		assert.Equal(t, "beta", got[0]["schema_name"])
		assert.Equal(t, true, got[0]["is_primary"])
		_, err := time.Parse(time.RFC3339, got[0]["created_at"].(string))
		assert.NoError(t, err)
		assert.Len(t, got[0], 4)
	})
	t.Run("ErrUnknownTenant", func(t *testing.T) {
		wantErr(t, a.run("domain", "list", "--schema", "ghost"), 1, `tenant "ghost" not found`)
	})
	t.Run("ErrRemoveLast", func(t *testing.T) {
		// A tenant keeps at least one domain, here as in the admin.
		wantErr(t, a.run("domain", "remove", "--domain", "beta.example.com"), 1, "the tenant's only domain")
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains WHERE domain = 'beta.example.com'"))
	})
}

func TestUserManage(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com",
		"--admin-username", "boss", "--admin-email", "boss@acme.com", "--admin-password", "longenough")
	a.ok("user", "create", "--schema", "acme", "--username", "ann", "--password", "longenough")
	a.ok("tenant", "create", "--schema", "other", "--name", "Other", "--domain", "other.example.com")
	a.ok("user", "create", "--schema", "other", "--username", "ann", "--password", "longenough")

	t.Run("List", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(a.ok("user", "list", "--schema", "acme").stdout), "\n")
		require.Len(t, lines, 3)
		assert.Equal(t, []string{"USERNAME", "EMAIL", "ROLE", "STAFF", "ACTIVE", "JOINED", "LAST", "LOGIN"}, strings.Fields(lines[0]))
		assert.Equal(t, []string{"ann", "-", "member", "no", "yes"}, strings.Fields(lines[1])[:5])
		assert.Equal(t, []string{"boss", "boss@acme.com", "owner", "yes", "yes"}, strings.Fields(lines[2])[:5])
	})
	t.Run("ListJSON", func(t *testing.T) {
		var got []map[string]any
		require.NoError(t, json.Unmarshal([]byte(a.ok("user", "list", "--schema", "acme", "--json").stdout), &got))
		require.Len(t, got, 2)
		var keys []string
		for k := range got[1] {
			keys = append(keys, k)
		}
		assert.ElementsMatch(t, []string{"id", "username", "email", "is_staff", "is_active", "date_joined", "last_login", "role", "email_verified"}, keys)
		assert.Equal(t, "owner", got[1]["role"])
		assert.Equal(t, "boss", got[1]["username"])
		assert.Equal(t, true, got[1]["is_staff"])
		assert.Nil(t, got[1]["last_login"])
	})
	t.Run("UpdateOK", func(t *testing.T) {
		// A refresh token that deactivation must revoke.
		_, err := d.Pool.Exec(t.Context(), `INSERT INTO acme.refresh_tokens (jti, family, user_id, expires_at)
			SELECT gen_random_uuid(), gen_random_uuid(), id, now() + interval '1 day' FROM acme.users WHERE username = 'ann'`)
		require.NoError(t, err)
		r := a.ok("user", "update", "--schema", "acme", "--username", "ann", "--email", "ann@acme.com", "--staff", "--active=false")
		assert.Equal(t, "updated user ann in tenant acme: email ann@acme.com, role member, staff yes, active no\n", r.stdout)
		u, ok := userOf(t, d, "acme", "ann")
		require.True(t, ok)
		assert.Equal(t, "ann@acme.com", u.Email)
		assert.True(t, u.IsStaff)
		assert.False(t, u.IsActive)
		assert.Zero(t, count(t, d, "SELECT count(*) FROM acme.refresh_tokens WHERE revoked_at IS NULL"))
		// Only the given flags change.
		a.ok("user", "update", "--schema", "acme", "--username", "ann", "--active")
		u, _ = userOf(t, d, "acme", "ann")
		assert.True(t, u.IsActive)
		assert.True(t, u.IsStaff)
		assert.Equal(t, "ann@acme.com", u.Email)
		r = a.ok("user", "update", "--schema", "acme", "--username", "ann", "--role", "admin")
		assert.Equal(t, "updated user ann in tenant acme: email ann@acme.com, role admin, staff yes, active yes\n", r.stdout)
		// The other tenant's ann is untouched.
		o, _ := userOf(t, d, "other", "ann")
		assert.Equal(t, "", o.Email)
		assert.False(t, o.IsStaff)
	})
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"ErrUpdateNothing", []string{"update", "--schema", "acme", "--username", "ann"}, 2, "nothing to change: give --email, --role, --staff or --active"},
		{"ErrUpdateUnknownUser", []string{"update", "--schema", "acme", "--username", "ghost", "--staff"}, 1, `user "ghost" not found in tenant acme`},
		{"ErrUpdateUnknownTenant", []string{"update", "--schema", "ghost", "--username", "ann", "--staff"}, 1, `tenant "ghost" not found`},
		{"ErrUpdateBadEmail", []string{"update", "--schema", "acme", "--username", "ann", "--email", "nope"}, 1, "email: Enter a valid email address."},
		{"ErrUpdateBadBool", []string{"update", "--schema", "acme", "--username", "ann", "--staff=yes please"}, 2, `invalid value "yes please" for flag --staff`},
		{"ErrDeleteUnknownUser", []string{"delete", "--schema", "acme", "--username", "ghost", "--yes"}, 1, `user "ghost" not found in tenant acme`},
		{"ErrDeleteUnknownTenant", []string{"delete", "--schema", "ghost", "--username", "ann", "--yes"}, 1, `tenant "ghost" not found`},
		{"ErrDeleteNotTerminal", []string{"delete", "--schema", "acme", "--username", "ann"}, 1, "refusing to delete without --yes when not on a terminal"},
		{"ErrDeleteMissingUsername", []string{"delete", "--schema", "acme", "--yes"}, 2, "missing required flag --username"},
		{"ErrListUnknownTenant", []string{"list", "--schema", "ghost"}, 1, `tenant "ghost" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, a.run(append([]string{"user"}, tc.args...)...), tc.code, tc.msg)
			assert.Equal(t, 2, count(t, d, "SELECT count(*) FROM acme.users"))
			u, _ := userOf(t, d, "acme", "ann")
			assert.Equal(t, "ann@acme.com", u.Email)
		})
	}
	t.Run("DeleteConfirmMismatch", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "bob\n", term: typing()}, "user", "delete", "--schema", "acme", "--username", "ann")
		wantErr(t, r, 1, `confirmation "bob" does not match "ann"; nothing deleted`)
		assert.Contains(t, r.stderr, "Type the username to confirm")
		_, ok := userOf(t, d, "acme", "ann")
		assert.True(t, ok)
	})
	t.Run("DeleteOK", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "ann\n", term: typing()}, "user", "delete", "--schema", "acme", "--username", "ann")
		require.NoError(t, r.err)
		assert.Equal(t, "deleted user ann from tenant acme\n", r.stdout)
		_, ok := userOf(t, d, "acme", "ann")
		assert.False(t, ok)
		_, ok = userOf(t, d, "other", "ann")
		assert.True(t, ok, "the other tenant's ann stays")
		a.ok("user", "delete", "--schema", "acme", "--username", "boss", "--yes")
		assert.Zero(t, count(t, d, "SELECT count(*) FROM acme.users"))
	})
}

func TestSuperuserManage(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("superuser", "create", "--username", "root", "--email", "root@example.com", "--password", "longenough")
	a.ok("superuser", "create", "--username", "ops", "--password", "longenough")
	hash := func(name string) string {
		var h string
		require.NoError(t, d.Pool.QueryRow(t.Context(), "SELECT password_hash FROM superusers WHERE username = $1", name).Scan(&h))
		return h
	}

	t.Run("List", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(a.ok("superuser", "list").stdout), "\n")
		require.Len(t, lines, 3)
		assert.Equal(t, []string{"ops", "-", "yes"}, strings.Fields(lines[1])[:3])
		assert.Equal(t, []string{"root", "root@example.com", "yes"}, strings.Fields(lines[2])[:3])
		var got []map[string]any
		require.NoError(t, json.Unmarshal([]byte(a.ok("superuser", "list", "--json").stdout), &got))
		require.Len(t, got, 2)
		var keys []string
		for k := range got[0] {
			keys = append(keys, k)
		}
		assert.ElementsMatch(t, []string{"id", "username", "email", "is_active", "date_joined", "last_login"}, keys)
		assert.NotContains(t, a.ok("superuser", "list", "--json").stdout, "argon2")
	})
	t.Run("SetPasswordStdin", func(t *testing.T) {
		// An admin session that the new password must end.
		_, err := d.Pool.Exec(t.Context(), `INSERT INTO admin_sessions (token_hash, superuser_id, csrf_token, expires_at)
			SELECT sha256('x'), id, 'c', now() + interval '1 hour' FROM superusers WHERE username = 'ops'`)
		require.NoError(t, err)
		r := a.runWith(runOpts{stdin: "new-password-1\n"}, "superuser", "set-password", "--username", "ops", "--password-stdin")
		require.NoError(t, r.err)
		assert.Equal(t, "set the password of superuser ops\n", r.stdout)
		checkPassword(t, hash("ops"), "new-password-1")
		assert.Zero(t, count(t, d, "SELECT count(*) FROM admin_sessions"))
	})
	t.Run("SetPasswordPrompt", func(t *testing.T) {
		r := a.runWith(runOpts{term: typing("new-password-2", "new-password-2")}, "superuser", "set-password", "--username", "ops")
		require.NoError(t, r.err)
		assert.Contains(t, r.stderr, "Password for ops: ")
		checkPassword(t, hash("ops"), "new-password-2")
	})
	for _, tc := range []struct {
		name string
		o    runOpts
		args []string
		code int
		msg  string
	}{
		{"ErrSetPasswordUnknown", runOpts{}, []string{"set-password", "--username", "ghost", "--password", "longenough"}, 1, `superuser "ghost" not found`},
		{"ErrSetPasswordShort", runOpts{}, []string{"set-password", "--username", "ops", "--password", "short"}, 1, "password: This password is too short"},
		{"ErrSetPasswordMismatch", runOpts{term: typing("longenough", "longenougj")}, []string{"set-password", "--username", "ops"}, 1, "the passwords do not match"},
		{"ErrSetPasswordNotTerminal", runOpts{}, []string{"set-password", "--username", "ops"}, 1, "use --password-stdin"},
		{"ErrSetPasswordBothFlags", runOpts{}, []string{"set-password", "--username", "ops", "--password", "longenough", "--password-stdin"}, 2, "cannot be used together"},
		{"ErrDeleteUnknown", runOpts{}, []string{"delete", "--username", "ghost", "--yes"}, 1, `superuser "ghost" not found`},
		{"ErrDeleteNotTerminal", runOpts{}, []string{"delete", "--username", "ops"}, 1, "refusing to delete without --yes when not on a terminal"},
		{"ErrDeleteMismatch", runOpts{stdin: "root\n", term: typing()}, []string{"delete", "--username", "ops"}, 1, `confirmation "root" does not match "ops"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, a.runWith(tc.o, append([]string{"superuser"}, tc.args...)...), tc.code, tc.msg)
			assert.Equal(t, 2, count(t, d, "SELECT count(*) FROM superusers"))
			checkPassword(t, hash("ops"), "new-password-2")
		})
	}
	t.Run("DeleteOK", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "ops\n", term: typing()}, "superuser", "delete", "--username", "ops")
		require.NoError(t, r.err)
		assert.Equal(t, "deleted superuser ops\n", r.stdout)
		assert.Zero(t, count(t, d, "SELECT count(*) FROM superusers WHERE username = 'ops'"))
		// The last active superuser stays, here as in the admin.
		wantErr(t, a.run("superuser", "delete", "--username", "root", "--yes"), 1, "the last active superuser")
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM superusers"))
	})
}
