package provision_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/provision"
)

// foreignSchema makes a schema that is no tenant's: reporting, holding a
// table with a row, and a view in public that depends on it.
func foreignSchema(t *testing.T, d *dbtest.DB) {
	t.Helper()
	_, err := d.Pool.Exec(t.Context(), `
		CREATE SCHEMA reporting;
		CREATE TABLE reporting.figures (id int PRIMARY KEY, total int);
		INSERT INTO reporting.figures VALUES (1, 42);
		CREATE VIEW public.report AS SELECT total FROM reporting.figures`)
	require.NoError(t, err)
}

// foreignSchemaIntact asserts that foreignSchema's objects are all still there.
func foreignSchemaIntact(t *testing.T, d *dbtest.DB) {
	t.Helper()
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'reporting'"))
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM reporting.figures WHERE total = 42"))
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM public.report"))
	assert.Equal(t, 0, count(t, d, "SELECT count(*) FROM pg_class WHERE relnamespace = 'reporting'::regnamespace AND relname = 'users'"),
		"no tenant tables migrated into it")
}

func TestCreateTenantRefusesExistingSchema(t *testing.T) {
	s, d := newService(t)
	foreignSchema(t, d)

	for _, admin := range []*provision.UserParams{nil, {Username: "boss", Password: "longenough"}} {
		_, err := s.CreateTenant(t.Context(), provision.TenantParams{Schema: "reporting", Name: "Reporting", Domain: "reporting.example.com", Admin: admin})
		var fe *provision.FieldError
		require.True(t, errors.As(err, &fe), "got %v", err)
		assert.Equal(t, "schema_name", fe.Field)
		assert.Equal(t, `A schema named "reporting" already exists in the database; choose another name.`, fe.Message)
		foreignSchemaIntact(t, d)
		assert.Zero(t, count(t, d, "SELECT count(*) FROM clients"), "no tenant registered")
		assert.Zero(t, count(t, d, "SELECT count(*) FROM domains"))
	}
	// The refusal left nothing that a later migrate or create would clean
	// up by dropping the schema.
	removed, err := s.RemoveStale(t.Context())
	require.NoError(t, err)
	assert.Empty(t, removed)
	foreignSchemaIntact(t, d)
}

func TestDeleteTenantRefusesOutsideDependents(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: "acme", Name: "ACME", Domain: "acme.example.com",
		Admin: &provision.UserParams{Username: "boss", Password: "longenough"}})
	require.NoError(t, err)
	for name, ddl := range map[string]string{
		"View":       "CREATE VIEW public.acme_users AS SELECT username FROM acme.users",
		"ForeignKey": "CREATE TABLE public.audit (user_id bigint REFERENCES acme.users (id))",
	} {
		t.Run("Err"+name, func(t *testing.T) {
			_, err := d.Pool.Exec(ctx, ddl)
			require.NoError(t, err)
			err = s.DeleteTenant(ctx, "acme")
			var se *provision.SchemaInUseError
			require.True(t, errors.As(err, &se), "got %v", err)
			assert.Contains(t, se.Error(), "objects outside it depend on it")
			// Nothing deleted: the tenant, its data and the outside object.
			assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM clients WHERE schema_name = 'acme'"))
			assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM acme.users"))
			assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains"))
		})
	}
	_, err = d.Pool.Exec(ctx, "DROP VIEW public.acme_users; DROP TABLE public.audit")
	require.NoError(t, err)
	require.NoError(t, s.DeleteTenant(ctx, "acme"))
	assert.Zero(t, leftovers(t, d, "acme"))
}

func TestRollbackDropsOnlyItsOwnSchema(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	// A client row left half-made that never created its schema, while a
	// schema of the same name belongs to someone else: cleaning up the row
	// must not drop the schema.
	_, err := d.Pool.Exec(ctx, "INSERT INTO clients (schema_name, name) VALUES ('reporting', 'Half')")
	require.NoError(t, err)
	foreignSchema(t, d)
	removed, err := s.RemoveStale(ctx)
	require.NoError(t, err)
	assert.Len(t, removed, 1)
	assert.Zero(t, count(t, d, "SELECT count(*) FROM clients"))
	foreignSchemaIntact(t, d)
}

func TestDemoLeavesRealTenantsAlone(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: "school1", Name: "Real", Domain: "school1.example.com"})
	require.NoError(t, err)
	// A schema school2 that is no tenant's, either.
	_, err = d.Pool.Exec(ctx, "CREATE SCHEMA school2; CREATE TABLE school2.data (x int)")
	require.NoError(t, err)

	for range 2 {
		res, err := s.Demo(ctx)
		require.NoError(t, err)
		require.Len(t, res, 2)
		assert.Equal(t, provision.DemoSkipped, res[0].Outcome)
		assert.Equal(t, "A tenant school1 exists that tenantctl demo did not make; no demo user added.", res[0].Reason)
		assert.Equal(t, provision.DemoSkipped, res[1].Outcome)
		assert.Contains(t, res[1].Reason, `A schema named "school2" already exists`)
		assert.Zero(t, count(t, d, "SELECT count(*) FROM school1.users"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM pg_class WHERE relnamespace = 'school2'::regnamespace"), "school2 untouched")
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM clients"))
	}
}
