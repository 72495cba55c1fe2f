package cli_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli"
	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/dbtest"
)

// withMigrations returns the embedded tenant migrations plus the given
// files (name: the up SQL).
func withMigrations(t *testing.T, extra map[string]string) fs.FS {
	t.Helper()
	fsys := fstest.MapFS{}
	require.NoError(t, fs.WalkDir(dbmate.Tenant, "tenant", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(dbmate.Tenant, path)
		fsys[path] = &fstest.MapFile{Data: b}
		return err
	}))
	for name, up := range extra {
		fsys["tenant/"+name] = &fstest.MapFile{Data: []byte("-- migrate:up\n" + up + "\n-- migrate:down\n")}
	}
	return fsys
}

// addUnmigratedTenants registers n ready tenants t00, t01, ... whose schemas
// exist but have no migrations applied: the state after a release adds a
// migration, taken to the extreme, and much faster to set up than n
// tenant creates.
func addUnmigratedTenants(t *testing.T, d *dbtest.DB, n int) []string {
	t.Helper()
	var schemas []string
	for i := range n {
		schemas = append(schemas, fmt.Sprintf("t%02d", i))
	}
	_, err := d.Pool.Exec(t.Context(), `
		WITH c AS (
			INSERT INTO clients (schema_name, name, state)
			SELECT s, upper(s), 'ready' FROM unnest($1::text[]) AS s
			RETURNING id, schema_name)
		INSERT INTO domains (domain, client_id, is_primary)
		SELECT schema_name || '.example.com', id, true FROM c`, schemas)
	require.NoError(t, err)
	_, err = d.Pool.Exec(t.Context(), "SELECT tenant_schema_create(s) FROM unnest($1::text[]) AS s", schemas)
	require.NoError(t, err)
	return schemas
}

var summaryPattern = regexp.MustCompile(`(?m)^migrated (\d+) tenants?: (\d+) applied migrations?, (\d+) up to date, (\d+) failed$`)

// summary parses migrate's summary line into its four counts.
func summary(t *testing.T, out string) [4]int {
	t.Helper()
	m := summaryPattern.FindStringSubmatch(out)
	require.NotNil(t, m, "no summary in:\n%s", out)
	var n [4]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return n
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	schemas := addUnmigratedTenants(t, d, 50)
	versions := func(schema string) int {
		return count(t, d, "SELECT count(*) FROM "+schema+".schema_migrations")
	}

	t.Run("OK", func(t *testing.T) {
		r := a.ok("migrate", "--jobs", "4")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 52, r.stdout)
		assert.Equal(t, "public schema: up to date", lines[0])
		n := len(tenantVersions(t))
		assert.Regexp(t, `^\[\d+/50\] t\d\d: `+appliedPhrase(n)+` in \d`, lines[1])
		assert.Equal(t, fmt.Sprintf("migrated 50 tenants: %d applied migrations, 0 up to date, 0 failed", 50*n), lines[51])
		// The last progress line at least (one every 5 s before).
		assert.Regexp(t, `(?m)^migrating tenants: 50/50 visited \(\d+/s\), 0 up to date by public.tenant_migrations$`, r.stderr)
		for _, s := range schemas {
			assert.Equal(t, n, versions(s), s)
		}
		assert.Equal(t, 50, count(t, d, "SELECT count(*) FROM pg_tables WHERE tablename = 'users' AND schemaname ~ '^t\\d\\d$'"))
	})
	t.Run("OKUpToDate", func(t *testing.T) {
		r := a.ok("migrate", "--tenants")
		assert.Equal(t, "migrated 50 tenants: 0 applied migrations, 50 up to date, 0 failed\n", r.stdout)
		assert.Empty(t, r.stderr, "no tenant visited")
	})
	t.Run("OKShared", func(t *testing.T) {
		assert.Equal(t, "public schema: up to date\n", a.ok("migrate", "--shared").stdout)
	})
	t.Run("OKLiveProgress", func(t *testing.T) {
		// Unrecorded (as after a migrate by hand): visited, and recorded.
		_, err := d.Pool.Exec(t.Context(), "DELETE FROM tenant_migrations WHERE client_id IN (SELECT id FROM clients WHERE schema_name IN ('t01', 't02'))")
		require.NoError(t, err)
		r := a.runWith(runOpts{stdoutTTY: true}, "migrate", "--schema", "t01", "--schema", "t02", "--schema", "t01")
		require.NoError(t, r.err)
		assert.Regexp(t, `\r\[1/2\] migrating tenants \(\d+/s\)\.\.\. t0[12] ok`, r.stdout)
		assert.Regexp(t, `\r\[2/2\] migrating tenants \(\d+/s\)\.\.\. t0[12] ok`, r.stdout)
		assert.True(t, strings.HasSuffix(r.stdout, "\x1b[K\nmigrated 2 tenants: 0 applied migrations, 2 up to date, 0 failed\n"), "%q", r.stdout)
		assert.Equal(t, 50, count(t, d, "SELECT count(*) FROM tenant_migrations WHERE versions = $1", tenantVersions(t)))
	})

	t.Run("NothingPendingReadsNoSchemaVerifyDoes", func(t *testing.T) {
		// Behind the migrator's back: a version row deleted from t03,
		// a bogus one inserted into t04.
		first := tenantVersions(t)[0]
		_, err := d.Pool.Exec(t.Context(), "DELETE FROM t03.schema_migrations WHERE version = $1", first)
		require.NoError(t, err)
		_, err = d.Pool.Exec(t.Context(), "INSERT INTO t04.schema_migrations VALUES ('20200101000000')")
		require.NoError(t, err)
		n := len(tenantVersions(t))

		// Visiting t03 would apply its first file again, and fail.
		r := a.ok("migrate", "--tenants")
		assert.Equal(t, "migrated 50 tenants: 0 applied migrations, 50 up to date, 0 failed\n", r.stdout)
		assert.Equal(t, n-1, versions("t03"))
		assert.Equal(t, n+1, versions("t04"))
		for _, line := range strings.Split(strings.TrimSpace(a.ok("status").stdout), "\n")[1:] {
			assert.True(t, strings.HasSuffix(line, " ok"), "status reads the record: %q", line)
		}

		for _, args := range [][]string{{"status", "--verify"}, {"migrate", "status", "--verify"}} {
			r = a.run(args...)
			wantErr(t, r, cli.ExitDrift, "2 schemas drifted")
			var drift []string
			for _, line := range strings.Split(r.stdout, "\n") {
				if strings.Contains(line, "DRIFT") {
					drift = append(drift, strings.Join(strings.Fields(line), " "))
				}
			}
			assert.Equal(t, []string{
				fmt.Sprintf("t03 %s 1 DRIFT: out of order version %s; recorded but missing version %s", latest(tenantVersions(t)), first, first),
				fmt.Sprintf("t04 %s 0 DRIFT: unknown version 20200101000000; unrecorded version 20200101000000", latest(tenantVersions(t))),
			}, drift, args)
		}
		r = a.run("status", "--verify", "--json")
		wantErr(t, r, cli.ExitDrift, "2 schemas drifted")
		var rows []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows))
		byName := map[string]map[string]any{}
		for _, row := range rows {
			byName[row["schema"].(string)] = row
		}
		assert.Equal(t, []any{first}, byName["t03"]["missing_versions"])
		assert.Equal(t, []any{"20200101000000"}, byName["t04"]["unrecorded_versions"])
		assert.Equal(t, []any{}, byName["t05"]["missing_versions"])
		assert.Equal(t, "ok", byName["t05"]["state"])

		_, err = d.Pool.Exec(t.Context(), "INSERT INTO t03.schema_migrations VALUES ($1)", first)
		require.NoError(t, err)
		_, err = d.Pool.Exec(t.Context(), "DELETE FROM t04.schema_migrations WHERE version = '20200101000000'")
		require.NoError(t, err)
		a.ok("status", "--verify")
	})

	// A new release adds a migration; one tenant has a table in the way.
	a.tenantFS = withMigrations(t, map[string]string{"20990101000000_notes.sql": "CREATE TABLE notes (id bigint PRIMARY KEY, body text);"})
	_, err := d.Pool.Exec(t.Context(), "CREATE TABLE t07.notes (x int)")
	require.NoError(t, err)

	t.Run("ErrOneTenantFails", func(t *testing.T) {
		r := a.runWith(runOpts{progressEvery: time.Nanosecond}, "migrate", "--jobs", "4")
		progress := regexp.MustCompile(`(?m)^migrating tenants: (\d+)/50 visited \(\d+/s\), 0 up to date by public\.tenant_migrations$`).FindAllStringSubmatch(r.stderr, -1)
		require.Len(t, progress, 50, r.stderr)
		assert.Equal(t, "50", progress[49][1])
		wantErr(t, r, 1, "1 tenant migration failed")
		assert.Equal(t, [4]int{50, 49, 0, 1}, summary(t, r.stdout))
		assert.Contains(t, r.stdout, "[")
		assert.Regexp(t, `\] t07: FAILED: migration 20990101000000_notes\.sql: .*"notes" already exists`, r.stdout)
		assert.Regexp(t, `(?m)^  FAILED t07: migration 20990101000000_notes\.sql: .*"notes" already exists.*$`, r.stdout)
		for _, s := range schemas {
			want := len(tenantVersions(t)) + 1
			if s == "t07" {
				want--
			}
			assert.Equal(t, want, versions(s), s)
		}
	})

	t.Run("ConcurrentRunsApplyOnce", func(t *testing.T) {
		_, err := d.Pool.Exec(t.Context(), "DROP TABLE t07.notes")
		require.NoError(t, err)
		a.tenantFS = withMigrations(t, map[string]string{
			"20990101000000_notes.sql": "CREATE TABLE notes (id bigint PRIMARY KEY, body text);",
			"20990102000000_tags.sql":  "CREATE TABLE tags (id bigint PRIMARY KEY);",
		})
		var wg sync.WaitGroup
		results := make([]result, 2)
		for i := range results {
			wg.Go(func() { results[i] = a.run("migrate", "--tenants", "--jobs", "4") })
		}
		wg.Wait()
		applied := 0
		for _, r := range results {
			require.NoError(t, r.err, r.stdout)
			n := summary(t, r.stdout)
			assert.Equal(t, 50, n[0])
			assert.Zero(t, n[3])
			applied += n[1]
		}
		// 49 tenants missed tags, t07 also notes: each applied by one run only.
		assert.Equal(t, 51, applied)
		for _, s := range schemas {
			assert.Equal(t, len(tenantVersions(t))+2, versions(s), s)
		}
	})

	t.Run("RemovesHalfMadeTenants", func(t *testing.T) {
		// What a tenant create killed after creating the schema leaves.
		_, err := d.Pool.Exec(t.Context(), "INSERT INTO clients (schema_name, name) VALUES ('halfmade', 'Half'); SELECT tenant_schema_create('halfmade')")
		require.NoError(t, err)
		r := a.ok("migrate", "--tenants")
		assert.True(t, strings.HasPrefix(r.stdout, "removed halfmade: a tenant left half-made by an interrupted tenant create\n"), r.stdout)
		assert.Zero(t, leftovers(t, d, "halfmade"))
	})

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"ErrUnknownSchema", []string{"--schema", "t01", "--schema", "ghost"}, 1, `--schema: tenant "ghost" not found`},
		{"ErrUnknownSchemas", []string{"--schema", "ghost", "--schema", "spook"}, 1, `--schema: tenants "ghost", "spook" not found`},
		{"ErrInvalidSchema", []string{"--schema", "a;drop"}, 1, `--schema: invalid schema name "a;drop"`},
		{"ErrPublicIsNotATenant", []string{"--schema", "public"}, 1, `--schema: invalid schema name "public"`},
		{"ErrJobs", []string{"--jobs", "0"}, 2, "--jobs must be at least 1"},
		{"ErrJobsNotANumber", []string{"--jobs", "many"}, 2, "invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.run(append([]string{"migrate"}, tc.args...)...)
			wantErr(t, r, tc.code, tc.msg)
			assert.Empty(t, r.stdout)
		})
	}
}
