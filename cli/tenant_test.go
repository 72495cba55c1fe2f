package cli_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
)

// userOf reads a tenant's user, with ok false if there is none.
func userOf(t *testing.T, d *dbtest.DB, schema, username string) (tenantdb.User, bool) {
	t.Helper()
	u, err := db.InTenantV(t.Context(), d.Pool, db.MustParseSchema(schema), func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByUsername(t.Context(), username)
	})
	return u, err == nil
}

func checkPassword(t *testing.T, hash, plain string) {
	t.Helper()
	ok, err := password.NewHasher(1).Verify(t.Context(), plain, hash)
	require.NoError(t, err)
	assert.True(t, ok, "password %q does not match", plain)
}

func TestTenantCreate(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)

	t.Run("OK", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "s3cret-pass\r\n"}, "tenant", "create", "--schema", "acme", "--name", "ACME Corp",
			"--domain", "ACME.example.com", "--admin-username", "boss", "--admin-email", "boss@acme.com", "--admin-password-stdin")
		require.NoError(t, r.err)
		assert.Equal(t, "created tenant acme (ACME Corp) at acme.example.com with admin user boss\n", r.stdout)
		assert.NotContains(t, r.stdout+r.stderr, "s3cret-pass")
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM clients WHERE schema_name = 'acme' AND state = 'ready' AND name = 'ACME Corp' AND NOT on_trial AND paid_until IS NULL"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains WHERE domain = 'acme.example.com' AND is_primary"))
		u, ok := userOf(t, d, "acme", "boss")
		require.True(t, ok)
		assert.True(t, u.IsStaff)
		assert.Equal(t, "owner", u.Role, "the tenant's first user owns it")
		assert.Equal(t, "boss@acme.com", u.Email)
		checkPassword(t, u.PasswordHash, "s3cret-pass")
	})
	t.Run("OKPasswordFlag", func(t *testing.T) {
		r := a.ok("tenant", "create", "--schema", "beta", "--name", "Beta", "--domain", "beta.example.com",
			"--on-trial", "--paid-until", "2031-02-28", "--admin-username", "chief", "--admin-password", "flag-pass-1")
		assert.Equal(t, "created tenant beta (Beta) at beta.example.com with admin user chief\n", r.stdout)
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM clients WHERE schema_name = 'beta' AND on_trial AND paid_until = '2031-02-28'"))
		u, ok := userOf(t, d, "beta", "chief")
		require.True(t, ok)
		assert.True(t, u.IsStaff)
		checkPassword(t, u.PasswordHash, "flag-pass-1")
	})
	t.Run("OKWithoutAdmin", func(t *testing.T) {
		r := a.ok("tenant", "create", "--schema", "gamma", "--name", "Gamma", "--domain", "gamma.example.com")
		assert.Equal(t, "created tenant gamma (Gamma) at gamma.example.com\n", r.stdout)
		assert.Equal(t, 0, count(t, d, "SELECT count(*) FROM gamma.users"))
	})
	t.Run("OKPrompt", func(t *testing.T) {
		r := a.runWith(runOpts{term: typing("typed-pass", "typed-pass")}, "tenant", "create",
			"--schema", "delta", "--name", "Delta", "--domain", "delta.example.com", "--admin-username", "root")
		require.NoError(t, r.err)
		assert.Contains(t, r.stderr, "Password for the admin user: ")
		assert.Contains(t, r.stderr, "(again)")
		assert.NotContains(t, r.stdout+r.stderr, "typed-pass")
		u, ok := userOf(t, d, "delta", "root")
		require.True(t, ok)
		checkPassword(t, u.PasswordHash, "typed-pass")
	})

	// Every failure below must leave nothing of the tenant behind.
	for _, tc := range []struct {
		name string
		o    runOpts
		args []string
		code int
		msg  string
	}{
		{"ErrSchemaTaken", runOpts{}, []string{"--schema", "acme", "--domain", "fresh.example.com"}, 1,
			`schema_name: A tenant with schema "acme" already exists.`},
		{"ErrDomainTaken", runOpts{}, []string{"--schema", "fresh", "--domain", "acme.example.com"}, 1,
			`domain: The domain "acme.example.com" is already in use.`},
		{"ErrInvalidDomain", runOpts{}, []string{"--schema", "fresh", "--domain", "fresh.example.com:8000"}, 1, "domain: Enter a valid domain"},
		{"ErrPasswordMismatch", runOpts{term: typing("first-pass", "other-pass")},
			[]string{"--schema", "fresh", "--domain", "fresh.example.com", "--admin-username", "x"}, 1, "the passwords do not match"},
		{"ErrNoPasswordNotTerminal", runOpts{},
			[]string{"--schema", "fresh", "--domain", "fresh.example.com", "--admin-username", "x"}, 1, "use --admin-password-stdin"},
		{"ErrEmptyStdin", runOpts{},
			[]string{"--schema", "fresh", "--domain", "fresh.example.com", "--admin-username", "x", "--admin-password-stdin"}, 1, "--admin-password-stdin: stdin ended"},
		{"ErrShortPassword", runOpts{stdin: "abc\n"},
			[]string{"--schema", "fresh", "--domain", "fresh.example.com", "--admin-username", "x", "--admin-password-stdin"}, 1, "admin_password: This password is too short"},
		{"ErrBadUsername", runOpts{},
			[]string{"--schema", "fresh", "--domain", "fresh.example.com", "--admin-username", "no spaces", "--admin-password", "longenough"}, 1, "admin_username: Enter a valid username"},
		{"ErrBadEmail", runOpts{},
			[]string{"--schema", "fresh", "--domain", "fresh.example.com", "--admin-username", "x", "--admin-email", "nope", "--admin-password", "longenough"}, 1, "admin_email: Enter a valid email address."},
		{"ErrBadPaidUntil", runOpts{}, []string{"--schema", "fresh", "--domain", "fresh.example.com", "--paid-until", "31/12/2030"}, 1,
			`--paid-until: "31/12/2030" is not a date in the form YYYY-MM-DD`},
		{"ErrBothPasswordFlags", runOpts{stdin: "longenough\n"},
			[]string{"--schema", "fresh", "--domain", "fresh.example.com", "--admin-username", "x", "--admin-password", "longenough", "--admin-password-stdin"}, 2, "cannot be used together"},
		{"ErrPasswordWithoutUsername", runOpts{}, []string{"--schema", "fresh", "--domain", "fresh.example.com", "--admin-password", "longenough"}, 2,
			"--admin-password needs --admin-username"},
		{"ErrMissingDomain", runOpts{}, []string{"--schema", "fresh"}, 2, "missing required flag --domain"},
		{"ErrUnknownFlag", runOpts{}, []string{"--schema", "fresh", "--domain", "fresh.example.com", "--admin", "x"}, 2, "unknown flag --admin"},
		{"ErrStrayArgument", runOpts{}, []string{"--schema", "fresh", "--domain", "fresh.example.com", "extra"}, 2, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"tenant", "create", "--name", "Fresh"}, tc.args...)
			r := a.runWith(tc.o, args...)
			wantErr(t, r, tc.code, tc.msg)
			assert.Zero(t, leftovers(t, d, "fresh"))
			assert.NotContains(t, r.stdout+r.stderr+r.err.Error(), "longenough")
		})
	}

	t.Run("ErrInvalidSchema", func(t *testing.T) {
		for _, schema := range []string{
			"a;drop", `"x"`, "pg_x", "public", "information_schema", "Upper", "1abc", "", "a b",
			`x"; DROP SCHEMA acme CASCADE; --`, strings.Repeat("a", 64),
		} {
			r := a.run("tenant", "create", "--schema", schema, "--name", "Bad", "--domain", "bad.example.com")
			wantErr(t, r, 1, "schema_name: invalid schema name")
		}
		assert.Equal(t, 4, count(t, d, "SELECT count(*) FROM clients"))
		assert.Equal(t, 0, count(t, d, "SELECT count(*) FROM domains WHERE domain = 'bad.example.com'"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'acme'"))
		_, ok := userOf(t, d, "acme", "boss")
		assert.True(t, ok, "acme's data survives")
	})
}

func TestTenantList(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)

	t.Run("Empty", func(t *testing.T) {
		assert.Equal(t, "[]\n", a.ok("tenant", "list", "--json").stdout)
	})
	a.ok("tenant", "create", "--schema", "zeta", "--name", "Zeta\tLtd", "--domain", "zeta.example.com", "--on-trial", "--paid-until", "2030-12-31")
	a.ok("tenant", "create", "--schema", "alpha", "--name", "Alpha", "--domain", "alpha.example.com")
	a.ok("domain", "add", "--schema", "alpha", "--domain", "a-www.example.com")
	today := time.Now().Format("2006-01-02")

	t.Run("Text", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(a.ok("tenant", "list").stdout), "\n")
		require.Len(t, lines, 3)
		assert.Equal(t, []string{"NAME", "SCHEMA", "DOMAINS", "CREATED", "TRIAL", "PAID", "UNTIL", "DELETED", "AT"}, strings.Fields(lines[0]))
		assert.Equal(t, []string{"Alpha", "alpha", "alpha.example.com,a-www.example.com", today, "no", "-", "-"}, strings.Fields(lines[1]))
		assert.Equal(t, []string{"Zeta", "Ltd", "zeta", "zeta.example.com", today, "yes", "2030-12-31", "-"}, strings.Fields(lines[2]))
		// Columns line up: every row's SCHEMA starts where the header's does.
		col := strings.Index(lines[0], "SCHEMA")
		assert.Equal(t, "alpha", lines[1][col:col+5])
		assert.Equal(t, "zeta", lines[2][col:col+4])
	})
	t.Run("JSON", func(t *testing.T) {
		out := a.ok("tenant", "list", "--json").stdout
		var raw []map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &raw))
		require.Len(t, raw, 2)
		for _, obj := range raw {
			var keys []string
			for k := range obj {
				keys = append(keys, k)
			}
			// The admin API's tenant JSON (GET /api/admin/tenants/).
			assert.ElementsMatch(t, []string{"id", "schema_name", "name", "state", "on_trial", "paid_until", "created_at", "primary_domain", "domains", "deleted_at"}, keys)
		}
		assert.Equal(t, "alpha", raw[0]["schema_name"])
		assert.Equal(t, "zeta", raw[1]["schema_name"])
		assert.Equal(t, float64(count(t, d, "SELECT id FROM clients WHERE schema_name = 'alpha'")), raw[0]["id"])
		assert.Nil(t, raw[0]["paid_until"])
		assert.Equal(t, "alpha.example.com", raw[0]["primary_domain"])
		assert.Equal(t, []any{"alpha.example.com", "a-www.example.com"}, raw[0]["domains"])
		assert.Equal(t, "Zeta\tLtd", raw[1]["name"])
		assert.Equal(t, "2030-12-31", raw[1]["paid_until"])
		assert.Equal(t, true, raw[1]["on_trial"])
		assert.Equal(t, "ready", raw[1]["state"])
		created, err := time.Parse(time.RFC3339, raw[1]["created_at"].(string))
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), created, time.Minute)
	})
}

func TestTenantDelete(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com")
	a.ok("domain", "add", "--schema", "acme", "--domain", "www.acme.example.com")

	t.Run("ErrNotTerminal", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "acme\n"}, "tenant", "delete", "--schema", "acme")
		wantErr(t, r, 1, "refusing to delete without --yes when not on a terminal")
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'acme'"))
	})
	t.Run("ErrConfirmationMismatch", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "acm\n", term: typing()}, "tenant", "delete", "--schema", "acme")
		wantErr(t, r, 1, `confirmation "acm" does not match "acme"; nothing deleted`)
		assert.Contains(t, r.stderr, "Type the schema name to confirm")
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM clients WHERE schema_name = 'acme'"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'acme'"))
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		wantErr(t, a.run("tenant", "delete", "--schema", "ghost", "--yes"), 1, `tenant "ghost" not found`)
	})
	t.Run("ErrInvalidSchema", func(t *testing.T) {
		wantErr(t, a.run("tenant", "delete", "--schema", "public", "--yes"), 1, "schema_name: invalid schema name")
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'public'"))
	})
	t.Run("OKConfirmed", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "acme\r\n", term: typing()}, "tenant", "delete", "--schema", "acme")
		require.NoError(t, r.err)
		assert.Equal(t, "deleted tenant acme (ACME)\n", r.stdout)
		assert.Zero(t, leftovers(t, d, "acme"))
		assert.Zero(t, count(t, d, "SELECT count(*) FROM domains"))
	})
	t.Run("OKYes", func(t *testing.T) {
		a.ok("tenant", "create", "--schema", "beta", "--name", "Beta", "--domain", "beta.example.com")
		a.ok("tenant", "delete", "--schema", "beta", "--yes")
		assert.Zero(t, leftovers(t, d, "beta"))
		wantErr(t, a.run("tenant", "delete", "--schema", "beta", "--yes"), 1, `tenant "beta" not found`)
	})
}

// TestTenantCreateRefusesExistingSchema: a schema that exists but is no
// tenant's is refused, and neither adopted nor dropped (with the view in
// public that depends on it).
func TestTenantCreateRefusesExistingSchema(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	_, err := d.Pool.Exec(t.Context(), `
		CREATE SCHEMA reporting;
		CREATE TABLE reporting.figures (id int PRIMARY KEY, total int);
		INSERT INTO reporting.figures VALUES (1, 42);
		CREATE VIEW public.report AS SELECT total FROM reporting.figures`)
	require.NoError(t, err)

	for _, args := range [][]string{
		{"--schema", "reporting", "--name", "Reporting", "--domain", "reporting.example.com"},
		{"--schema", "reporting", "--name", "Reporting", "--domain", "reporting.example.com", "--admin-username", "boss", "--admin-password", "longenough"},
	} {
		r := a.run(append([]string{"tenant", "create"}, args...)...)
		wantErr(t, r, 1, `schema_name: A schema named "reporting" already exists in the database; choose another name.`)
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM reporting.figures WHERE total = 42"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM public.report"))
		assert.Zero(t, count(t, d, "SELECT count(*) FROM pg_class WHERE relnamespace = 'reporting'::regnamespace AND relname = 'users'"))
		assert.Zero(t, count(t, d, "SELECT count(*) FROM clients"))
		assert.Zero(t, count(t, d, "SELECT count(*) FROM domains"))
	}
	// migrate finds nothing half-made to clean up (and so drops nothing).
	a.ok("migrate")
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM reporting.figures"))
	wantErr(t, a.run("tenant", "delete", "--schema", "reporting", "--yes"), 1, `tenant "reporting" not found`)
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM public.report"))
}

// TestTenantDeleteRefusesOutsideDependents: a tenant whose schema something
// outside it depends on is not deleted; CASCADE never reaches beyond it.
func TestTenantDeleteRefusesOutsideDependents(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com", "--admin-username", "boss", "--admin-password", "longenough")
	_, err := d.Pool.Exec(t.Context(), "CREATE VIEW public.staff AS SELECT username FROM acme.users WHERE is_staff")
	require.NoError(t, err)

	wantErr(t, a.run("tenant", "delete", "--schema", "acme", "--yes"), 1,
		"schema acme cannot be dropped: objects outside it depend on it: view public.staff")
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM public.staff"))
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM clients WHERE schema_name = 'acme' AND state = 'ready'"))
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains"))

	_, err = d.Pool.Exec(t.Context(), "DROP VIEW public.staff")
	require.NoError(t, err)
	a.ok("tenant", "delete", "--schema", "acme", "--yes")
	assert.Zero(t, leftovers(t, d, "acme"))
}

// TestTenantListStreams lists more tenants than a page holds (rows only, no
// schemas: the list reads public alone), with every kind of cell, and checks
// the output against what the list printed when it held every tenant: the
// JSON array of writeJSON, and the table of a text/tabwriter.
func TestTenantListStreams(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	_, err := d.Pool.Exec(t.Context(), `
		INSERT INTO clients (schema_name, name, state, on_trial, paid_until, deleted_at)
		SELECT 't' || i,
		       CASE WHEN i % 500 = 0 THEN E'Tab\tName ' || i WHEN i % 7 = 0 THEN 'Ünïcødé <&> ' || i ELSE 'Tenant ' || i END,
		       CASE WHEN i % 300 = 0 THEN 'provisioning' ELSE 'ready' END,
		       i % 2 = 0,
		       CASE WHEN i % 3 = 0 THEN date '2030-01-01' + i END,
		       CASE WHEN i % 400 = 0 THEN timestamptz '2026-01-02 03:04:05.123456Z' END
		FROM generate_series(1, 2345) i`)
	require.NoError(t, err)
	_, err = d.Pool.Exec(t.Context(), `
		INSERT INTO domains (domain, client_id, is_primary)
		SELECT schema_name || '.example.com', id, true FROM clients WHERE substr(schema_name, 2)::int % 250 <> 7
		UNION ALL
		SELECT 'www-' || schema_name || '.shop.example.com', id, false FROM clients WHERE substr(schema_name, 2)::int % 3 = 0`)
	require.NoError(t, err)

	var want []string
	rows, err := d.Pool.Query(t.Context(), "SELECT schema_name FROM clients ORDER BY schema_name")
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		want = append(want, s)
	}
	require.NoError(t, rows.Err())
	require.Len(t, want, 2345)

	type listed struct {
		ID            int64      `json:"id"`
		SchemaName    string     `json:"schema_name"`
		Name          string     `json:"name"`
		State         string     `json:"state"`
		OnTrial       bool       `json:"on_trial"`
		PaidUntil     *string    `json:"paid_until"`
		CreatedAt     time.Time  `json:"created_at"`
		PrimaryDomain *string    `json:"primary_domain"`
		Domains       []string   `json:"domains"`
		DeletedAt     *time.Time `json:"deleted_at"`
	}
	out := a.ok("tenant", "list", "--json").stdout
	var got []listed
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, len(want))
	for i, g := range got {
		require.Equal(t, want[i], g.SchemaName, "tenant %d", i)
	}
	// Every tenant with its domains, primary first, as the database has them.
	var domains int
	for _, g := range got {
		domains += len(g.Domains)
		if g.PrimaryDomain != nil {
			assert.Equal(t, *g.PrimaryDomain, g.Domains[0], g.SchemaName)
		}
	}
	assert.Equal(t, count(t, d, "SELECT count(*) FROM domains"), domains)
	byName := map[string]listed{}
	for _, g := range got {
		byName[g.SchemaName] = g
	}
	assert.Equal(t, []string{"t3.example.com", "www-t3.shop.example.com"}, byName["t3"].Domains)
	assert.Equal(t, []string{}, byName["t7"].Domains)
	assert.Nil(t, byName["t7"].PrimaryDomain)
	assert.Equal(t, "Tab\tName 500", byName["t500"].Name)
	assert.Equal(t, "provisioning", byName["t300"].State)
	assert.Equal(t, "2030-01-04", *byName["t3"].PaidUntil)
	require.NotNil(t, byName["t400"].DeletedAt)
	assert.Equal(t, "2026-01-02T03:04:05.123456Z", byName["t400"].DeletedAt.Format(time.RFC3339Nano))

	// Byte for byte the array writeJSON printed.
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(got))
	assert.Equal(t, buf.String(), out)

	// The table as text/tabwriter laid it out.
	buf.Reset()
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCHEMA\tDOMAINS\tCREATED\tTRIAL\tPAID UNTIL\tDELETED AT")
	for _, g := range got {
		name := strings.NewReplacer("\t", " ").Replace(g.Name)
		if g.State != "ready" {
			name += " (provisioning)"
		}
		trial, paid, deleted := "no", "-", "-"
		if g.OnTrial {
			trial = "yes"
		}
		if g.PaidUntil != nil {
			paid = *g.PaidUntil
		}
		if g.DeletedAt != nil {
			deleted = g.DeletedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, g.SchemaName, strings.Join(g.Domains, ","),
			g.CreatedAt.Local().Format("2006-01-02"), trial, paid, deleted)
	}
	require.NoError(t, tw.Flush())
	text := a.ok("tenant", "list").stdout
	assert.Equal(t, buf.String(), text)
	assert.Len(t, strings.Split(strings.TrimSuffix(text, "\n"), "\n"), len(want)+1)
}
