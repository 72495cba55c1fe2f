package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/migrate"
	"github.com/tenantctl/tenantctl/telemetry"
)

// publicVersions and tenantVersions are the embedded migrations, so tests
// keep passing as migrations are added.
func publicVersions(t *testing.T) []string {
	v, err := migrate.Versions(dbmate.Public, "public")
	require.NoError(t, err)
	return v
}

func tenantVersions(t *testing.T) []string {
	v, err := migrate.Versions(dbmate.Tenant, "tenant")
	require.NoError(t, err)
	return v
}

func latest(vs []string) string { return vs[len(vs)-1] }

// appliedPhrase is how migrate reports n applied migrations.
func appliedPhrase(n int) string {
	if n == 1 {
		return "applied 1 migration"
	}
	return fmt.Sprintf("applied %d migrations", n)
}

func TestDomain(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com")
	primary := func() string {
		var dom string
		require.NoError(t, d.Pool.QueryRow(t.Context(), "SELECT domain FROM domains WHERE is_primary").Scan(&dom))
		return dom
	}

	t.Run("AddOK", func(t *testing.T) {
		r := a.ok("domain", "add", "--schema", "acme", "--domain", "Shop.Acme.example.com")
		assert.Equal(t, "added domain shop.acme.example.com to tenant acme\n", r.stdout)
		assert.Equal(t, "acme.example.com", primary())
	})
	t.Run("AddPrimaryOK", func(t *testing.T) {
		r := a.ok("domain", "add", "--schema", "acme", "--domain", "www.acme.example.com", "--primary")
		assert.Equal(t, "added domain www.acme.example.com to tenant acme as its primary domain\n", r.stdout)
		assert.Equal(t, "www.acme.example.com", primary())
	})
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"ErrAddTaken", []string{"add", "--schema", "acme", "--domain", "acme.example.com"}, 1, `domain: The domain "acme.example.com" is already in use.`},
		{"ErrAddUnknownTenant", []string{"add", "--schema", "ghost", "--domain", "ghost.example.com"}, 1, `tenant "ghost" not found`},
		{"ErrAddInvalidSchema", []string{"add", "--schema", "a;drop", "--domain", "x.example.com"}, 1, "schema_name: invalid schema name"},
		{"ErrAddInvalidDomain", []string{"add", "--schema", "acme", "--domain", "http://x.example.com"}, 1, "domain: Enter a valid domain name"},
		{"ErrAddMissingDomain", []string{"add", "--schema", "acme"}, 2, "missing required flag --domain"},
		{"ErrRemoveUnknown", []string{"remove", "--domain", "nowhere.example.com"}, 1, `domain "nowhere.example.com" not found`},
		{"ErrUnknownSubcommand", []string{"rename"}, 2, `unknown command "rename"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, a.run(append([]string{"domain"}, tc.args...)...), tc.code, tc.msg)
			assert.Equal(t, 3, count(t, d, "SELECT count(*) FROM domains"))
		})
	}
	t.Run("RemoveOK", func(t *testing.T) {
		r := a.ok("domain", "remove", "--domain", "www.acme.example.com")
		assert.Equal(t, "removed domain www.acme.example.com\n", r.stdout)
		assert.Equal(t, 2, count(t, d, "SELECT count(*) FROM domains"))
		// The oldest remaining domain takes over as primary.
		assert.Equal(t, "acme.example.com", primary())
	})
}

func TestUserCreate(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com")

	t.Run("OK", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "user-pass-1\n"}, "user", "create", "--schema", "acme", "--username", "ann",
			"--email", "ann@acme.com", "--password-stdin", "--staff")
		require.NoError(t, r.err)
		assert.Equal(t, "created user ann in tenant acme (role admin, staff)\n", r.stdout)
		u, ok := userOf(t, d, "acme", "ann")
		require.True(t, ok)
		assert.True(t, u.IsStaff)
		assert.Equal(t, "ann@acme.com", u.Email)
		checkPassword(t, u.PasswordHash, "user-pass-1")
	})
	t.Run("OKPrompt", func(t *testing.T) {
		r := a.runWith(runOpts{term: typing("user-pass-2", "user-pass-2")}, "user", "create", "--schema", "acme", "--username", "bob")
		require.NoError(t, r.err)
		assert.Equal(t, "created user bob in tenant acme (role member)\n", r.stdout)
		assert.Contains(t, r.stderr, "Password for bob: ")
		u, ok := userOf(t, d, "acme", "bob")
		require.True(t, ok)
		assert.False(t, u.IsStaff)
		checkPassword(t, u.PasswordHash, "user-pass-2")
	})
	t.Run("OKRole", func(t *testing.T) {
		r := a.run("user", "create", "--schema", "acme", "--username", "cat", "--password", "user-pass-3", "--role", "owner")
		require.NoError(t, r.err)
		assert.Equal(t, "created user cat in tenant acme (role owner, staff)\n", r.stdout)
		u, _ := userOf(t, d, "acme", "cat")
		assert.Equal(t, "owner", u.Role)
		assert.True(t, u.IsStaff)
	})
	t.Run("ErrRole", func(t *testing.T) {
		r := a.run("user", "create", "--schema", "acme", "--username", "dan", "--password", "user-pass-4", "--role", "boss")
		wantErr(t, r, 2, `--role: "boss" is not owner, admin or member`)
		_, ok := userOf(t, d, "acme", "dan")
		assert.False(t, ok)
	})
	for _, tc := range []struct {
		name string
		o    runOpts
		args []string
		code int
		msg  string
	}{
		{"ErrUsernameTaken", runOpts{}, []string{"--schema", "acme", "--username", "ann", "--password", "longenough"}, 1, "username: A user with that username already exists."},
		{"ErrUnknownTenant", runOpts{}, []string{"--schema", "ghost", "--username", "x", "--password", "longenough"}, 1, `tenant "ghost" not found`},
		{"ErrInvalidSchema", runOpts{}, []string{"--schema", "pg_catalog", "--username", "x", "--password", "longenough"}, 1, "schema_name: invalid schema name"},
		{"ErrNoPasswordNotTerminal", runOpts{}, []string{"--schema", "acme", "--username", "x"}, 1, "use --password-stdin"},
		{"ErrPasswordMismatch", runOpts{term: typing("longenough", "longenougj")}, []string{"--schema", "acme", "--username", "x"}, 1, "the passwords do not match"},
		{"ErrBothPasswordFlags", runOpts{}, []string{"--schema", "acme", "--username", "x", "--password", "longenough", "--password-stdin"}, 2, "cannot be used together"},
		{"ErrMissingUsername", runOpts{}, []string{"--schema", "acme"}, 2, "missing required flag --username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, a.runWith(tc.o, append([]string{"user", "create"}, tc.args...)...), tc.code, tc.msg)
			assert.Equal(t, 3, count(t, d, "SELECT count(*) FROM acme.users"), "ann, bob and cat only")
		})
	}
}

func TestSuperuserCreate(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	superuser := func(name string) (publicdb.Superuser, error) {
		return db.InPublicV(t.Context(), d.Pool, func(q *publicdb.Queries) (publicdb.Superuser, error) {
			return q.GetSuperuserByUsername(t.Context(), name)
		})
	}

	t.Run("OK", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "admin-pass\n"}, "superuser", "create", "--username", "admin", "--email", "admin@example.com", "--password-stdin")
		require.NoError(t, r.err)
		assert.Equal(t, "created superuser admin\n", r.stdout)
		su, err := superuser("admin")
		require.NoError(t, err)
		assert.Equal(t, "admin@example.com", su.Email)
		checkPassword(t, su.PasswordHash, "admin-pass")
	})
	t.Run("OKPrompt", func(t *testing.T) {
		a.runWith(runOpts{term: typing("other-pass", "other-pass")}, "superuser", "create", "--username", "ops")
		su, err := superuser("ops")
		require.NoError(t, err)
		checkPassword(t, su.PasswordHash, "other-pass")
	})
	t.Run("ErrUsernameTaken", func(t *testing.T) {
		wantErr(t, a.run("superuser", "create", "--username", "admin", "--password", "longenough"), 1,
			"username: A superuser with that username already exists.")
	})
	t.Run("ErrPasswordMismatch", func(t *testing.T) {
		wantErr(t, a.runWith(runOpts{term: typing("longenough", "different")}, "superuser", "create", "--username", "eve"), 1, "the passwords do not match")
		_, err := superuser("eve")
		assert.Error(t, err)
	})
	t.Run("ErrShortPassword", func(t *testing.T) {
		wantErr(t, a.run("superuser", "create", "--username", "eve", "--password", "short"), 1, "password: This password is too short")
	})
	assert.Equal(t, 2, count(t, d, "SELECT count(*) FROM superusers"))
}

func TestDemo(t *testing.T) {
	t.Parallel()
	// A fresh database: demo migrates the public schema itself.
	d := dbtest.NewEmpty(t)
	a := newApp(t, d)

	first := a.ok("demo").stdout
	assert.Contains(t, first, "public schema: "+appliedPhrase(len(publicVersions(t)))+"\n")
	assert.Contains(t, first, "created school1 (http://school1.localhost:8000/) with user demo / demo123\n")
	assert.Contains(t, first, "created school2")

	// Idempotent: also a demo user deleted since comes back.
	_, err := d.Pool.Exec(t.Context(), "DELETE FROM school2.users")
	require.NoError(t, err)
	second := a.ok("demo").stdout
	assert.Equal(t, "school1 already exists (http://school1.localhost:8000/); user demo present\n"+
		"school2 already exists (http://school2.localhost:8000/); user demo present\n", second)

	assert.Equal(t, 2, count(t, d, "SELECT count(*) FROM clients WHERE state = 'ready'"))
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains WHERE domain = 'school2.localhost' AND is_primary"))
	for _, s := range []string{"school1", "school2"} {
		u, ok := userOf(t, d, s, "demo")
		require.True(t, ok, s)
		checkPassword(t, u.PasswordHash, "demo123")
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM "+s+".users"))
	}
}

// TestDemoRefusesProduction: demo makes nothing when APP_ENV=production.
func TestDemoRefusesProduction(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.env["APP_ENV"] = "production"
	r := a.run("demo")
	wantErr(t, r, 1, "refusing to run demo when APP_ENV=production")
	assert.Empty(t, r.stdout)
	assert.Zero(t, count(t, d, "SELECT count(*) FROM clients"))
}

// TestDemoLeavesRealTenantsAlone: a tenant school1 that demo did not make
// gets no demo user, demo says so and fails; school2 is made as usual, and a
// second run still leaves school1 alone.
func TestDemoLeavesRealTenantsAlone(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "school1", "--name", "Real School", "--domain", "school1.example.com",
		"--admin-username", "head", "--admin-password", "longenough")

	for range 2 {
		r := a.run("demo")
		wantErr(t, r, 1, "demo skipped school1: not made by tenantctl demo")
		assert.Contains(t, r.stdout, "skipped school1: A tenant school1 exists that tenantctl demo did not make; no demo user added.\n")
		assert.NotContains(t, r.stdout, "user demo present\nschool1")
		_, ok := userOf(t, d, "school1", "demo")
		assert.False(t, ok, "no demo user in the real tenant")
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM school1.users"))
		u, ok := userOf(t, d, "school2", "demo")
		require.True(t, ok)
		checkPassword(t, u.PasswordHash, "demo123")
	}
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM clients WHERE demo"))
}

// TestDemoURLsFollowListenAddr: the printed URLs carry LISTEN_ADDR's port.
func TestDemoURLsFollowListenAddr(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.env["LISTEN_ADDR"] = "127.0.0.1:9123"
	out := a.ok("demo").stdout
	assert.Contains(t, out, "created school1 (http://school1.localhost:9123/) with user demo / demo123\n")
	assert.NotContains(t, out, ":8000")
	a.env["LISTEN_ADDR"] = ":80"
	assert.Contains(t, a.ok("demo").stdout, "school2 already exists (http://school2.localhost/)")
}

func TestStatus(t *testing.T) {
	t.Parallel()
	d := dbtest.NewEmpty(t)
	a := newApp(t, d)

	t.Run("FreshDatabase", func(t *testing.T) {
		out := a.ok("status").stdout
		assert.Equal(t, []string{"SCHEMA", "VERSION", "PENDING", "STATE", "public", "-", fmt.Sprint(len(publicVersions(t))), "pending"}, strings.Fields(out))
		r := a.run("status", "--exit-code")
		wantErr(t, r, cli.ExitPending, "1 schema with pending migrations; run tenantctl migrate")
		assert.Equal(t, out, r.stdout, "the same table")
	})
	a.ok("migrate")
	a.ok("tenant", "create", "--schema", "school1", "--name", "S1", "--domain", "s1.example.com")
	a.ok("tenant", "create", "--schema", "school2", "--name", "S2", "--domain", "s2.example.com")

	rows := func(args ...string) [][]string {
		var out [][]string
		for _, line := range strings.Split(strings.TrimSpace(a.ok(append([]string{"status"}, args...)...).stdout), "\n")[1:] {
			out = append(out, strings.Fields(line))
		}
		return out
	}
	pub, ten := latest(publicVersions(t)), latest(tenantVersions(t))
	t.Run("OK", func(t *testing.T) {
		// tenant create recorded the versions it applied.
		assert.Equal(t, 2, count(t, d, "SELECT count(*) FROM tenant_migrations WHERE versions = $1", tenantVersions(t)))
		assert.Equal(t, [][]string{
			{"public", pub, "0", "ok"},
			{"school1", ten, "0", "ok"},
			{"school2", ten, "0", "ok"},
		}, rows())
		a.ok("status", "--exit-code")
		assert.Equal(t, rows(), rows("--verify"))
	})
	t.Run("DriftUnknownVersion", func(t *testing.T) {
		_, err := d.Pool.Exec(t.Context(), "INSERT INTO school1.schema_migrations VALUES ('1999')")
		require.NoError(t, err)
		// status reads the record, which the insert behind its back
		// left alone; --verify reads the schema.
		assert.Equal(t, []string{"school1", ten, "0", "ok"}, rows()[1])
		r := a.run("status", "--verify")
		wantErr(t, r, cli.ExitDrift, "1 schema drifted from the migration files")
		assert.Contains(t, r.stdout, "DRIFT: unknown version 1999; unrecorded version 1999\n")
		assert.Contains(t, a.ok("migrate", "--tenants").stdout, "2 up to date", "migrate reads the record too")
		// A record that has the version (as migrate writes it for a
		// schema it visits): status reports the drift as it always did.
		_, err = d.Pool.Exec(t.Context(), "UPDATE tenant_migrations SET versions = array_prepend('1999', versions) WHERE client_id = (SELECT id FROM clients WHERE schema_name = 'school1')")
		require.NoError(t, err)
		assert.Equal(t, []string{"school1", ten, "0", "DRIFT:", "unknown", "version", "1999"}, rows()[1])
		wantErr(t, a.run("status", "--exit-code"), cli.ExitDrift, "1 schema drifted from the migration files")
		r = a.run("status", "--verify")
		wantErr(t, r, cli.ExitDrift, "1 schema drifted from the migration files")
		assert.Contains(t, r.stdout, "DRIFT: unknown version 1999\n", "no difference from the record")
	})
	t.Run("Pending", func(t *testing.T) {
		a.tenantFS = withMigrations(t, map[string]string{"20990101000000_notes.sql": "CREATE TABLE notes (id int);"})
		defer func() { a.tenantFS = nil }()
		assert.Equal(t, []string{"school2", ten, "1", "pending"}, rows()[2])
		// Drift (school1) wins over pending migrations.
		wantErr(t, a.run("status", "--exit-code", "--json"), cli.ExitDrift, "drifted")
		_, err := d.Pool.Exec(t.Context(), "DELETE FROM school1.schema_migrations WHERE version = '1999'; UPDATE tenant_migrations SET versions = array_remove(versions, '1999')")
		require.NoError(t, err)
		wantErr(t, a.run("status", "--exit-code"), cli.ExitPending, "2 schemas with pending migrations")
		wantErr(t, a.run("status", "--exit-code", "--verify"), cli.ExitPending, "2 schemas with pending migrations")
		_, err = d.Pool.Exec(t.Context(), "INSERT INTO school1.schema_migrations VALUES ('1999'); UPDATE tenant_migrations SET versions = array_prepend('1999', versions) WHERE client_id = (SELECT id FROM clients WHERE schema_name = 'school1')")
		require.NoError(t, err)
	})
	t.Run("DriftOutOfOrder", func(t *testing.T) {
		a.tenantFS = withMigrations(t, map[string]string{"20240101000000_old.sql": "CREATE TABLE old (id int);"})
		defer func() { a.tenantFS = nil }()
		assert.Equal(t, []string{"school2", ten, "1", "DRIFT:", "out", "of", "order", "version", "20240101000000"}, rows()[2])
	})
	t.Run("JSON", func(t *testing.T) {
		var got []map[string]any
		require.NoError(t, json.Unmarshal([]byte(a.ok("status", "--json").stdout), &got))
		require.Len(t, got, 3)
		assert.Equal(t, "public", got[0]["schema"])
		assert.Equal(t, "ok", got[0]["state"])
		assert.Equal(t, "drift", got[1]["state"])
		assert.Equal(t, []any{"1999"}, got[1]["unknown_versions"])
		assert.Equal(t, ten, got[2]["version"])
		assert.Equal(t, float64(0), got[2]["pending"])
	})
}

func TestServe(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	var got config.Config
	calls := 0
	fake := func(ctx context.Context, cfg config.Config, log *slog.Logger, pool *db.Pool, _ *telemetry.Telemetry) error {
		calls++
		got = cfg
		log.Info("fake server", "addr", cfg.ListenAddr)
		return pool.Ping(ctx)
	}

	t.Run("OK", func(t *testing.T) {
		r := a.runWith(runOpts{serve: fake}, "serve", "--addr", "127.0.0.1:9999")
		require.NoError(t, r.err)
		assert.Equal(t, 1, calls)
		assert.Equal(t, "127.0.0.1:9999", got.ListenAddr)
		assert.Equal(t, d.URL, got.DatabaseURL)
		assert.Contains(t, r.stderr, "level=INFO msg=\"fake server\"", "LOG_FORMAT=text")
	})
	t.Run("OKListenAddrFromEnv", func(t *testing.T) {
		a.env["LISTEN_ADDR"] = ":7000"
		defer delete(a.env, "LISTEN_ADDR")
		require.NoError(t, a.runWith(runOpts{serve: fake}, "serve").err)
		assert.Equal(t, ":7000", got.ListenAddr)
	})
	t.Run("ErrInsecureProduction", func(t *testing.T) {
		a.env["APP_ENV"] = "production"
		defer delete(a.env, "APP_ENV")
		calls = 0
		wantErr(t, a.runWith(runOpts{serve: fake}, "serve"), 1, "refusing to serve: SECRET_KEY is the insecure development default")
		assert.Zero(t, calls)
	})
	t.Run("ErrProductionNoSMTP", func(t *testing.T) {
		a.env["APP_ENV"] = "production"
		a.env["SECRET_KEY"] = strings.Repeat("3f9a", 16)
		defer delete(a.env, "APP_ENV")
		defer delete(a.env, "SECRET_KEY")
		calls = 0
		wantErr(t, a.runWith(runOpts{serve: fake}, "serve"), 1, "refusing to serve: SMTP_URL is not set")
		assert.Zero(t, calls)
	})
	t.Run("ErrBadConfig", func(t *testing.T) {
		a.env["LOG_FORMAT"] = "xml"
		defer func() { a.env["LOG_FORMAT"] = "text" }()
		wantErr(t, a.runWith(runOpts{serve: fake}, "serve"), 1, `invalid configuration: LOG_FORMAT: "xml" is not json or text`)
	})
	t.Run("ErrBadConnLimits", func(t *testing.T) {
		for k, v := range map[string]string{"DB_MAX_SCHEMAS_PER_CONN": "0", "DB_MAX_PLANS_PER_CONN": "-1"} {
			a.env[k] = v
			calls = 0
			wantErr(t, a.runWith(runOpts{serve: fake}, "serve"), 1, `invalid configuration: `+k+`: "`+v+`" is not a whole number of at least`)
			assert.Zero(t, calls)
			delete(a.env, k)
		}
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	d := dbtest.NewEmpty(t)
	a := newApp(t, d)

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"ErrNoCommand", nil, 2, "missing command"},
		{"ErrUnknownCommand", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"ErrNoSubcommand", []string{"tenant"}, 2, "tenant: missing command"},
		{"ErrUnknownFlag", []string{"status", "--verbose"}, 2, "unknown flag --verbose"},
		{"ErrUnknownFlagRoot", []string{"--verbose", "status"}, 2, "unknown flag --verbose"},
		{"ErrUnknownSubcommandFlag", []string{"tenant", "list", "--jsn"}, 2, "unknown flag --jsn"},
		{"ErrMissingFlags", []string{"tenant", "create", "--schema", "x"}, 2, "missing required flags --name, --domain"},
		{"ErrBadInt", []string{"migrate", "--jobs", "many"}, 2, `invalid value "many" for flag --jobs`},
		{"ErrBadBool", []string{"tenant", "list", "--json=perhaps"}, 2, `invalid value "perhaps" for flag --json`},
		{"ErrUnknownCommandNested", []string{"user", "rename"}, 2, `unknown command "rename"`},
		{"ErrFlagNeedsValue", []string{"tenant", "delete", "--schema"}, 2, "--schema"},
		// An unmigrated database gets a hint instead of a bare SQL error.
		{"ErrNotMigrated", []string{"tenant", "list"}, 1, `relation "clients" does not exist (SQLSTATE 42P01) (is the database migrated? run: tenantctl migrate)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.run(tc.args...)
			wantErr(t, r, tc.code, tc.msg)
			// No Go internals in what the user reads.
			assert.NotRegexp(t, `strconv|Parse(Bool|Int)|parse error|provided but not defined`, r.err.Error())
		})
	}
	t.Run("Version", func(t *testing.T) {
		r := a.run("--version")
		require.NoError(t, r.err)
		assert.Regexp(t, `^tenantctl version dev( \(.+\))?\n$`, r.stdout)
		var out bytes.Buffer
		require.NoError(t, cli.New(cli.Options{Stdout: &out, Version: "v1.2.3"}).Run(t.Context(), []string{"tenantctl", "--version"}))
		assert.Regexp(t, `^tenantctl version v1\.2\.3( \(.+\))?\n$`, out.String())
	})
	t.Run("Completion", func(t *testing.T) {
		for shell, want := range map[string]string{"bash": "complete -", "zsh": "#compdef tenantctl", "fish": "complete -c tenantctl"} {
			r := a.run("completion", shell)
			require.NoError(t, r.err, shell)
			assert.Contains(t, r.stdout, want, shell)
		}
		assert.Contains(t, a.ok("--help").stdout, "completion")
	})
	t.Run("Help", func(t *testing.T) {
		r := a.run("tenant", "create", "--help")
		require.NoError(t, r.err)
		assert.Contains(t, r.stdout, "--admin-password-stdin")
	})
	t.Run("ErrDatabaseUnreachable", func(t *testing.T) {
		b := newApp(t, d)
		b.env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=2"
		wantErr(t, b.run("tenant", "list"), 1, "connect to database: failed to connect")
	})
	t.Run("ErrInterrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		wantErr(t, a.runWith(runOpts{ctx: ctx}, "migrate"), 1, "interrupted")
	})
	t.Run("DotEnv", func(t *testing.T) {
		dir := t.TempDir()
		good := filepath.Join(dir, "good.env")
		require.NoError(t, os.WriteFile(good, []byte("# test\nexport DATABASE_URL=\""+d.URL+"\"\n"), 0o600))
		b := newApp(t, d)
		delete(b.env, "DATABASE_URL")
		wantErr(t, b.runWith(runOpts{dotEnv: good}, "tenant", "list"), 1, `relation "clients" does not exist`)

		bad := filepath.Join(dir, "bad.env")
		require.NoError(t, os.WriteFile(bad, []byte("NOT A SETTING\n"), 0o600))
		wantErr(t, b.runWith(runOpts{dotEnv: bad}, "tenant", "list"), 1, "bad.env:1: expected KEY=VALUE")
	})
	t.Run("Run", func(t *testing.T) {
		// The entry point main calls, with a stdin that is not a terminal.
		var stdout, stderr bytes.Buffer
		getenv := func(k string) string { return map[string]string{"DATABASE_URL": d.URL}[k] }
		err := cli.Run(t.Context(), []string{"tenantctl", "migrate", "--shared"}, getenv, strings.NewReader(""), &stdout, &stderr)
		require.NoError(t, err)
		assert.Equal(t, "public schema: "+appliedPhrase(len(publicVersions(t)))+"\n", stdout.String())
		err = cli.Run(t.Context(), []string{"tenantctl", "tenant", "delete", "--schema", "x"}, getenv, strings.NewReader(""), &stdout, &stderr)
		assert.EqualError(t, err, `tenant "x" not found`)
	})
}
