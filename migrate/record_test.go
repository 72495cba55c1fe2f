package migrate_test

import (
	"io/fs"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/migrate"
)

// newTenants registers ready tenants (clients rows) with empty schemas, as
// a release that adds migrations finds them, taken to the extreme.
func newTenants(t *testing.T, d *dbtest.DB, names ...string) []db.Schema {
	t.Helper()
	_, err := d.Pool.Exec(t.Context(), "INSERT INTO clients (schema_name, name, state) SELECT s, upper(s), 'ready' FROM unnest($1::text[]) AS s", names)
	require.NoError(t, err)
	_, err = d.Pool.Exec(t.Context(), "SELECT tenant_schema_create(s) FROM unnest($1::text[]) AS s", names)
	require.NoError(t, err)
	var schemas []db.Schema
	for _, n := range names {
		schemas = append(schemas, db.MustParseSchema(n))
	}
	return schemas
}

// schemaVersions reads s's schema_migrations, sorted.
func schemaVersions(t *testing.T, d *dbtest.DB, s db.Schema) []string {
	t.Helper()
	rows, err := d.Pool.Query(t.Context(), "SELECT version FROM "+s.Ident()+".schema_migrations ORDER BY version COLLATE \"C\"")
	require.NoError(t, err)
	var vs []string
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		vs = append(vs, v)
	}
	require.NoError(t, rows.Err())
	return vs
}

// assertRecorded asserts that public.tenant_migrations holds exactly each
// schema's applied versions.
func assertRecorded(t *testing.T, d *dbtest.DB, schemas []db.Schema) {
	t.Helper()
	rec, err := d.Migrator.Recorded(t.Context())
	require.NoError(t, err)
	for _, s := range schemas {
		assert.Equal(t, schemaVersions(t, d, s), rec[s.String()], s.String())
	}
}

// run migrates schemas with two jobs and returns the results and the
// schemas it visited.
func run(t *testing.T, d *dbtest.DB, schemas []db.Schema) ([]migrate.Result, []string) {
	t.Helper()
	var visited []string
	results := d.Migrator.MigrateTenants(t.Context(), schemas, 2, func(p migrate.Progress) {
		visited = append(visited, p.Result.Schema.String())
		assert.Equal(t, len(visited), p.Done)
	})
	slices.Sort(visited)
	return results, visited
}

// TestRecordedVersions: public.tenant_migrations holds each tenant's
// applied versions after every migration, a run with nothing pending
// visits no schema (so a change behind the migrator's back goes unseen by
// it), and a failing file leaves the record and the schema as they were
// together.
func TestRecordedVersions(t *testing.T) {
	d := dbtest.New(t)
	schemas := newTenants(t, d, "t1", "t2", "t3")
	files, err := migrate.Versions(dbmate.Tenant, "tenant")
	require.NoError(t, err)

	results, visited := run(t, d, schemas)
	for _, r := range results {
		require.NoError(t, r.Err)
		assert.Equal(t, len(files), r.Applied)
	}
	assert.Equal(t, []string{"t1", "t2", "t3"}, visited)
	assertRecorded(t, d, schemas)
	assert.Equal(t, files, schemaVersions(t, d, schemas[0]))

	t.Run("NothingPendingVisitsNoSchema", func(t *testing.T) {
		// Behind the migrator's back: were t2 visited, its missing
		// version would be applied again and fail (its tables exist).
		_, err := d.Pool.Exec(t.Context(), "DELETE FROM t2.schema_migrations WHERE version = $1", files[0])
		require.NoError(t, err)
		results, visited := run(t, d, schemas)
		assert.Empty(t, visited)
		for _, r := range results {
			assert.NoError(t, r.Err)
			assert.Zero(t, r.Applied)
		}
		assert.Equal(t, files[1:], schemaVersions(t, d, schemas[1]), "t2 untouched")
		rec, err := d.Migrator.Recorded(t.Context())
		require.NoError(t, err)
		assert.Equal(t, files, rec["t2"], "the record still says what the migrator applied")
		_, err = d.Pool.Exec(t.Context(), "INSERT INTO t2.schema_migrations VALUES ($1)", files[0])
		require.NoError(t, err)
	})

	t.Run("UnrecordedTenantIsVisitedAndRecorded", func(t *testing.T) {
		// As a tenant migrated by a release before the record, or by hand.
		_, err := d.Pool.Exec(t.Context(), "DELETE FROM tenant_migrations WHERE client_id = (SELECT id FROM clients WHERE schema_name = 't3')")
		require.NoError(t, err)
		results, visited := run(t, d, schemas)
		assert.Equal(t, []string{"t3"}, visited)
		for _, r := range results {
			assert.NoError(t, r.Err)
			assert.Zero(t, r.Applied)
		}
		assertRecorded(t, d, schemas)
	})

	t.Run("OnePendingFailingInOneTenant", func(t *testing.T) {
		d.Migrator.Tenant = withAll(t, "20990101000000_notes.sql", "-- migrate:up\nCREATE TABLE notes (id bigint PRIMARY KEY);\n-- migrate:down\n")
		defer func() { d.Migrator.Tenant = dbmate.Tenant }()
		_, err := d.Pool.Exec(t.Context(), "CREATE TABLE t1.notes (x int)")
		require.NoError(t, err)
		results, visited := run(t, d, schemas)
		assert.Equal(t, []string{"t1", "t2", "t3"}, visited)
		require.Error(t, results[0].Err)
		assert.Contains(t, results[0].Err.Error(), `"notes" already exists`)
		assert.Equal(t, 1, results[1].Applied)
		assert.Equal(t, 1, results[2].Applied)
		// The failed file rolled back its version row and its record alike.
		assertRecorded(t, d, schemas)
		assert.Equal(t, files, schemaVersions(t, d, schemas[0]))
		assert.Equal(t, append(slices.Clone(files), "20990101000000"), schemaVersions(t, d, schemas[1]))

		// Only t1 is pending now.
		_, err = d.Pool.Exec(t.Context(), "DROP TABLE t1.notes")
		require.NoError(t, err)
		results, visited = run(t, d, schemas)
		assert.Equal(t, []string{"t1"}, visited)
		assert.NoError(t, results[0].Err)
		assert.Equal(t, 1, results[0].Applied)
		assertRecorded(t, d, schemas)
	})

	t.Run("FileAddedBehindNewerOnesIsPending", func(t *testing.T) {
		// Its version is older than the newest applied: only the whole
		// recorded set tells it is missing.
		d.Migrator.Tenant = withAll(t, "20240101000000_old.sql", "-- migrate:up\nCREATE TABLE old (id int);\n-- migrate:down\n")
		defer func() { d.Migrator.Tenant = dbmate.Tenant }()
		_, visited := run(t, d, schemas)
		assert.Equal(t, []string{"t1", "t2", "t3"}, visited)
	})
}

// TestMigrateTenantsReplacesConnections: a job's connection is replaced
// after SchemasPerConn tenants, so its backend's catalog cache stays bounded.
func TestMigrateTenantsReplacesConnections(t *testing.T) {
	d := dbtest.New(t)
	var schemas []db.Schema
	for _, n := range []string{"t1", "t2", "t3", "t4", "t5", "t6"} {
		schemas = append(schemas, newSchema(t, d, n))
	}
	d.Migrator.SchemasPerConn = 2
	var before, after int64
	require.NoError(t, d.Pool.QueryRow(t.Context(), "SELECT sessions FROM pg_stat_database WHERE datname = current_database()").Scan(&before))
	for _, r := range d.Migrator.MigrateTenants(t.Context(), schemas, 1, nil) {
		require.NoError(t, r.Err)
	}
	require.NoError(t, d.Pool.QueryRow(t.Context(), "SELECT sessions FROM pg_stat_database WHERE datname = current_database()").Scan(&after))
	assert.GreaterOrEqual(t, after-before, int64(3), "6 tenants, 2 a connection")
}

// withAll returns the embedded tenant migrations plus one more file.
func withAll(t *testing.T, name, body string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{"tenant/" + name: {Data: []byte(body)}}
	require.NoError(t, fs.WalkDir(dbmate.Tenant, "tenant", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(dbmate.Tenant, path)
		fsys[path] = &fstest.MapFile{Data: b}
		return err
	}))
	return fsys
}
