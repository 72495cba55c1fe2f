package migrate_test

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/migrate"
)

// withExtra returns the embedded tenant migrations plus one more file.
func withExtra(t *testing.T, name, body string) fstest.MapFS {
	init, err := dbmate.Tenant.ReadFile("tenant/20250101000000_init.sql")
	require.NoError(t, err)
	return fstest.MapFS{
		"tenant/20250101000000_init.sql": {Data: init},
		"tenant/" + name:                 {Data: []byte(body)},
	}
}

func newSchema(t *testing.T, d *dbtest.DB, name string) db.Schema {
	s := db.MustParseSchema(name)
	_, err := d.Pool.Exec(t.Context(), "SELECT tenant_schema_create($1)", name)
	require.NoError(t, err)
	return s
}

// TestTenantMigrationsSeeOnlyTheirSchema: a tenant migration runs with the
// tenant schema alone on its search_path, so it cannot reach public tables
// by accident, and a failed file leaves its version unrecorded.
func TestTenantMigrationsSeeOnlyTheirSchema(t *testing.T) {
	d := dbtest.New(t)
	s := newSchema(t, d, "acme")
	d.Migrator.Tenant = withExtra(t, "20990101000000_peek.sql", "-- migrate:up\nCREATE TABLE peek AS SELECT * FROM clients;\n-- migrate:down\n")
	n, err := d.Migrator.MigrateTenant(t.Context(), s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `migration 20990101000000_peek.sql: ERROR: relation "clients" does not exist`)
	assert.Equal(t, 1, n, "the files before the failing one stay applied")
	st, err := d.Migrator.TenantStatus(t.Context(), s)
	require.NoError(t, err)
	assert.Equal(t, []string{"20990101000000"}, st.Pending)
}

func TestTenantMigrationsMustBeTransactional(t *testing.T) {
	d := dbtest.New(t)
	s := newSchema(t, d, "acme")
	d.Migrator.Tenant = withExtra(t, "20990101000000_concurrently.sql",
		"-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n-- migrate:down\n")
	_, err := d.Migrator.MigrateTenant(t.Context(), s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tenant migrations must run in a transaction")
}

// TestMigrateTenantsReusesConnections migrates many tenants with two jobs and
// checks that it opened about one connection per job, not one per tenant.
func TestMigrateTenantsReusesConnections(t *testing.T) {
	d := dbtest.New(t)
	var schemas []db.Schema
	for _, n := range []string{"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"} {
		schemas = append(schemas, newSchema(t, d, n))
	}
	var before int64
	require.NoError(t, d.Pool.QueryRow(t.Context(), "SELECT sessions FROM pg_stat_database WHERE datname = current_database()").Scan(&before))
	files, err := migrate.Versions(dbmate.Tenant, "tenant")
	require.NoError(t, err)
	results := d.Migrator.MigrateTenants(t.Context(), schemas, 2, nil)
	for _, r := range results {
		require.NoError(t, r.Err, r.Schema.String())
		assert.Equal(t, len(files), r.Applied)
	}
	var after int64
	require.NoError(t, d.Pool.QueryRow(t.Context(), "SELECT sessions FROM pg_stat_database WHERE datname = current_database()").Scan(&after))
	assert.LessOrEqual(t, after-before, int64(4), "sessions opened for 8 tenants with 2 jobs")
}

// TestRolesMigrationMapsExistingUsers applies the roles migration over a
// tenant whose users predate it: the first staff user (by id) becomes the
// owner, the other staff users admins, everyone else a member; is_staff
// stays as it was.
func TestRolesMigrationMapsExistingUsers(t *testing.T) {
	d := dbtest.New(t)
	s := newSchema(t, d, "acme")
	init, err := dbmate.Tenant.ReadFile("tenant/20250101000000_init.sql")
	require.NoError(t, err)
	d.Migrator.Tenant = fstest.MapFS{"tenant/20250101000000_init.sql": {Data: init}}
	_, err = d.Migrator.MigrateTenant(t.Context(), s)
	require.NoError(t, err)
	_, err = d.Pool.Exec(t.Context(), `INSERT INTO acme.users (username, password_hash, is_staff) VALUES
		('pupil', 'x', false), ('head', 'x', true), ('deputy', 'x', true), ('teacher', 'x', false), ('clerk', 'x', true)`)
	require.NoError(t, err)

	d.Migrator.Tenant = dbmate.Tenant
	_, err = d.Migrator.MigrateTenant(t.Context(), s)
	require.NoError(t, err)
	rows, err := d.Pool.Query(t.Context(), "SELECT username || ':' || role || ':' || is_staff || ':' || email_verified FROM acme.users ORDER BY id")
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		got = append(got, v)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{
		"pupil:member:false:false", "head:owner:true:false", "deputy:admin:true:false",
		"teacher:member:false:false", "clerk:admin:true:false",
	}, got)
	_, err = d.Pool.Exec(t.Context(), "UPDATE acme.users SET role = 'boss' WHERE username = 'pupil'")
	require.Error(t, err, "role is one of owner, admin, member")
}

// TestTenantMigrationsDoNotScanPgIndex: no statement of the tenant
// migrations reads pg_index whole, as an ADD COLUMN ... DEFAULT does on
// PostgreSQL 15: pg_index holds a row for every index of every tenant, so
// each tenant created would pay for all the others (README, "Rules for
// tenant migrations").
func TestTenantMigrationsDoNotScanPgIndex(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	newSchema(t, d, "acme")
	tx, err := d.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "SET LOCAL search_path = acme")
	require.NoError(t, err)
	n, err := d.Migrator.ApplyTenantTx(ctx, tx, nil)
	require.NoError(t, err)
	files, err := fs.Glob(dbmate.Tenant, "tenant/*.sql")
	require.NoError(t, err)
	require.Equal(t, len(files), n, "every tenant migration applied")
	var scans int64
	require.NoError(t, tx.QueryRow(ctx, "SELECT pg_stat_get_xact_numscans('pg_index'::regclass)").Scan(&scans))
	assert.Zero(t, scans, "sequential scans of pg_index while migrating a tenant")
}
