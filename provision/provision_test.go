package provision_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
)

func newService(t *testing.T) (*provision.Service, *dbtest.DB) {
	d := dbtest.New(t)
	return provision.New(d.Pool, d.Migrator, password.NewHasher(2)), d
}

// count runs a counting query against the test database.
func count(t *testing.T, d *dbtest.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, d.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// leftovers counts what a failed provisioning of schema might leave behind.
func leftovers(t *testing.T, d *dbtest.DB, schema string) int {
	return count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema) +
		count(t, d, "SELECT count(*) FROM clients WHERE schema_name = $1", schema) +
		count(t, d, "SELECT count(*) FROM domains d JOIN clients c ON c.id = d.client_id WHERE c.schema_name = $1", schema)
}

func TestCreateTenant(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	c, err := s.CreateTenant(ctx, provision.TenantParams{
		Schema: "acme", Name: "ACME", Domain: "ACME.example.com", OnTrial: true,
		Admin: &provision.UserParams{Username: "boss", Email: "boss@acme.com", Password: "s3cret-pass", Staff: true},
	})
	require.NoError(t, err)
	assert.Equal(t, "ready", c.State)
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains WHERE domain = 'acme.example.com' AND is_primary"))
	// The versions it applied are recorded, as migrate records them.
	files, err := d.Migrator.TenantVersions()
	require.NoError(t, err)
	rec, err := d.Migrator.Recorded(ctx)
	require.NoError(t, err)
	assert.Equal(t, files, rec["acme"])

	u, err := db.InTenantV(ctx, d.Pool, db.MustParseSchema("acme"), func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByUsername(ctx, "boss")
	})
	require.NoError(t, err)
	assert.True(t, u.IsStaff)
	assert.Equal(t, provision.RoleOwner, u.Role, "the tenant's first user owns it")
	ok, err := password.NewHasher(1).Verify(ctx, "s3cret-pass", u.PasswordHash)
	require.NoError(t, err)
	assert.True(t, ok)

	t.Run("ErrSchemaTaken", func(t *testing.T) {
		_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: "acme", Name: "Other", Domain: "other.example.com"})
		var fe *provision.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "schema_name", fe.Field)
		assert.Equal(t, 0, count(t, d, "SELECT count(*) FROM domains WHERE domain = 'other.example.com'"))
	})
	t.Run("ErrDomainTaken", func(t *testing.T) {
		_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: "beta", Name: "Beta", Domain: "acme.example.com"})
		var fe *provision.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "domain", fe.Field)
		assert.Zero(t, leftovers(t, d, "beta"))
	})
	t.Run("ErrInvalidInput", func(t *testing.T) {
		for _, p := range []provision.TenantParams{
			{Schema: `x"; DROP SCHEMA acme CASCADE; --`, Name: "X", Domain: "x.example.com"},
			{Schema: "public", Name: "X", Domain: "x.example.com"},
			{Schema: "pg_temp", Name: "X", Domain: "x.example.com"},
			{Schema: "Upper", Name: "X", Domain: "x.example.com"},
			{Schema: "x", Name: "", Domain: "x.example.com"},
			{Schema: "x", Name: "X", Domain: "x.example.com:8000"},
			{Schema: "x", Name: "X", Domain: "x.example.com", Admin: &provision.UserParams{Username: "bad name", Password: "longenough"}},
			{Schema: "x", Name: "X", Domain: "x.example.com", Admin: &provision.UserParams{Username: "ok", Password: "short"}},
		} {
			_, err := s.CreateTenant(ctx, p)
			var fe *provision.FieldError
			assert.ErrorAs(t, err, &fe, "%+v", p)
		}
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM clients"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'acme'"))
	})
	t.Run("ErrAdminEmail", func(t *testing.T) {
		_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: "gamma", Name: "G", Domain: "gamma.example.com",
			Admin: &provision.UserParams{Username: "x", Email: "not-an-email", Password: "longenough"}})
		require.Error(t, err)
		assert.Zero(t, leftovers(t, d, "gamma"))
	})
	t.Run("Delete", func(t *testing.T) {
		require.NoError(t, s.DeleteTenant(ctx, "acme"))
		assert.Zero(t, leftovers(t, d, "acme"))
		assert.ErrorIs(t, s.DeleteTenant(ctx, "acme"), provision.ErrNotFound)
	})
}

func TestCreateTenantFailingMigrationLeavesNothing(t *testing.T) {
	s, d := newService(t)
	init, err := dbmate.Tenant.ReadFile("tenant/20250101000000_init.sql")
	require.NoError(t, err)
	d.Migrator.Tenant = fstest.MapFS{
		"tenant/20250101000000_init.sql":   {Data: init},
		"tenant/20990101000000_broken.sql": {Data: []byte("-- migrate:up\nCREATE TABLE broken (id int REFERENCES nowhere (id));\n-- migrate:down\n")},
	}
	_, err = s.CreateTenant(t.Context(), provision.TenantParams{Schema: "doomed", Name: "Doomed", Domain: "doomed.example.com",
		Admin: &provision.UserParams{Username: "admin", Password: "longenough"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "20990101000000_broken.sql")
	assert.Zero(t, leftovers(t, d, "doomed"))
}

func TestStaleProvisioningIsCleanedUp(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	// What a tenant create killed after reserving and creating the schema leaves.
	_, err := d.Pool.Exec(ctx, `
		WITH c AS (INSERT INTO clients (schema_name, name) VALUES ('halfmade', 'Half') RETURNING id)
		INSERT INTO domains (domain, client_id, is_primary) SELECT 'half.example.com', id, true FROM c`)
	require.NoError(t, err)
	_, err = d.Pool.Exec(ctx, "SELECT tenant_schema_create('halfmade')")
	require.NoError(t, err)

	removed, err := s.RemoveStale(ctx)
	require.NoError(t, err)
	assert.Equal(t, []db.Schema{db.MustParseSchema("halfmade")}, removed)
	assert.Zero(t, leftovers(t, d, "halfmade"))

	// And a create of the same schema also clears the remains first.
	_, err = d.Pool.Exec(ctx, `INSERT INTO clients (schema_name, name) VALUES ('halfmade', 'Half')`)
	require.NoError(t, err)
	_, err = s.CreateTenant(ctx, provision.TenantParams{Schema: "halfmade", Name: "Whole", Domain: "half.example.com"})
	require.NoError(t, err)
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM clients WHERE schema_name = 'halfmade' AND state = 'ready' AND name = 'Whole'"))
}

func TestDomains(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: "acme", Name: "ACME", Domain: "acme.example.com"})
	require.NoError(t, err)

	_, err = s.AddDomain(ctx, "acme", "www.acme.example.com", true)
	require.NoError(t, err)
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains WHERE is_primary AND domain = 'www.acme.example.com'"))

	_, err = s.AddDomain(ctx, "nobody", "x.example.com", false)
	assert.ErrorIs(t, err, provision.ErrNotFound)
	_, err = s.AddDomain(ctx, "acme", "acme.example.com", false)
	var fe *provision.FieldError
	assert.ErrorAs(t, err, &fe)

	require.NoError(t, s.RemoveDomain(ctx, "www.acme.example.com"))
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains WHERE is_primary AND domain = 'acme.example.com'"))
	assert.ErrorIs(t, s.RemoveDomain(ctx, "www.acme.example.com"), provision.ErrNotFound)
}

func TestDemoIsIdempotent(t *testing.T) {
	s, d := newService(t)
	for range 2 {
		_, err := s.Demo(t.Context())
		require.NoError(t, err)
	}
	assert.Equal(t, 2, count(t, d, "SELECT count(*) FROM clients WHERE state = 'ready'"))
	for _, schema := range []string{"school1", "school2"} {
		n, err := db.InTenantV(t.Context(), d.Pool, db.MustParseSchema(schema), func(q *tenantdb.Queries) (string, error) {
			u, err := q.GetUserByUsername(t.Context(), "demo")
			return u.Username, err
		})
		require.NoError(t, err)
		assert.Equal(t, "demo", n)
	}
}
