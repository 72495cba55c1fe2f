package bench

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/token"
)

// schemaShape describes schema's objects with its name taken out: its
// relations, columns, constraints, indexes and triggers, and its applied
// migrations.
func schemaShape(t *testing.T, d *dbtest.DB, schema string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, q := range []string{
		`SELECT relname || ' ' || relkind::text FROM pg_class WHERE relnamespace = $1::regnamespace`,
		`SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
		 FROM information_schema.columns WHERE table_schema = $1`,
		`SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = $1::regnamespace`,
		`SELECT indexdef FROM pg_indexes WHERE schemaname = $1`,
		`SELECT tgrelid::regclass::text || ' ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		 WHERE c.relnamespace = $1::regnamespace AND NOT t.tgisinternal`,
		`SELECT 'migration ' || version FROM ` + pgx.Identifier{schema, "schema_migrations"}.Sanitize(),
		`SELECT 'user ' || username || ' ' || role || ' staff=' || is_staff || ' active=' || is_active FROM ` + pgx.Identifier{schema, "users"}.Sanitize(),
		`SELECT 'audit ' || action FROM ` + pgx.Identifier{schema, "audit_log"}.Sanitize(),
	} {
		args := []any{schema}
		if !strings.Contains(q, "$1") {
			args = nil
		}
		rows, err := d.Pool.Query(ctx, q, args...)
		require.NoError(t, err, q)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err, q)
		for _, l := range lines {
			out = append(out, strings.ReplaceAll(l, schema+".", "S."))
		}
	}
	slices.Sort(out)
	return out
}

// publicShape is the tenant's rows in public, without ids, names and times.
func publicShape(t *testing.T, d *dbtest.DB, schema string) string {
	t.Helper()
	var s string
	require.NoError(t, d.Pool.QueryRow(context.Background(), `
SELECT c.state || ' trial=' || c.on_trial || ' paid=' || coalesce(c.paid_until::text, '-') || ' created=' || c.schema_created ||
       ' demo=' || c.demo || ' deleted=' || coalesce(c.deleted_at::text, '-') || ' domains=' ||
       (SELECT string_agg(replace(d.domain, c.schema_name, 'S') || ' primary=' || d.is_primary, ',') FROM domains d WHERE d.client_id = c.id)
FROM clients c WHERE c.schema_name = $1`, schema).Scan(&s))
	return s
}

// TestBulkTenantMatchesCreateTenant: a tenant made by the bench's bulk path
// has the tables, indexes, triggers, applied migrations, owner, audit entry
// and public rows of one made by provision.CreateTenant, and its minted
// token and shared password hash are accepted as the server's own.
func TestBulkTenantMatchesCreateTenant(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	prov := provision.New(d.Pool, d.Migrator, password.NewHasher(2))
	_, err := prov.CreateTenant(ctx, provision.TenantParams{
		Schema: "t1", Name: "Bench tenant t1", Domain: "t1.localhost",
		Admin: &provision.UserParams{Username: adminUsername, Email: adminUsername + "@t1.localhost", Password: adminPassword, Staff: true},
	})
	require.NoError(t, err)

	const secret = "bench-test-secret-key-of-32-bytes!!"
	b, err := newBulkProvisioner(ctx, d.Pool, d.Migrator, 7, secret, true)
	require.NoError(t, err)
	made, err := b.create(ctx, 1, 3)
	require.NoError(t, err)
	require.Len(t, made, 2)

	real := schemaShape(t, d, "t1")
	assert.Contains(t, real, "users r", "the shape lists the tables")
	for _, s := range []string{"t2", "t3"} {
		assert.Equal(t, real, schemaShape(t, d, s), s)
		assert.Equal(t, publicShape(t, d, "t1"), publicShape(t, d, s), s)
	}
	assert.Equal(t, "ready trial=false paid=- created=true demo=false deleted=- domains=S.localhost primary=true", publicShape(t, d, "t2"))

	tn := made[0]
	assert.Equal(t, "t2.localhost", tn.host)
	var items, keys int
	require.NoError(t, d.Pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM t2.items), (SELECT count(*) FROM t2.api_keys)").Scan(&items, &keys))
	assert.Equal(t, 7, items)
	assert.Equal(t, 1, keys)
	assert.NotEmpty(t, tn.apiKey)

	claims, err := token.NewIssuer(secret, 0, 0).Parse(tn.token, token.Access)
	require.NoError(t, err)
	var clientID, userID int64
	require.NoError(t, d.Pool.QueryRow(ctx, "SELECT c.id, u.id FROM clients c, t2.users u WHERE c.schema_name = 't2'").Scan(&clientID, &userID))
	assert.Equal(t, "t2", claims.Tenant)
	assert.Equal(t, clientID, claims.TenantID)
	assert.Equal(t, userID, claims.UserID)
	assert.Equal(t, userID, tn.userID)
	assert.Equal(t, clientID, tn.schema.Client())

	var hash string
	require.NoError(t, d.Pool.QueryRow(ctx, "SELECT password_hash FROM t3.users").Scan(&hash))
	ok, err := password.NewHasher(1).Verify(ctx, adminPassword, hash)
	require.NoError(t, err)
	assert.True(t, ok, "the shared hash is of the admins' password")
}

// TestReuseLoadsKeptTenants: -reuse finds the tenants a kept run left
// (t1 ... tN, each pinned to its id and schema oid, with its host and
// admin) and mints tokens the server accepts under this run's key; it
// refuses a database holding another count than -tenants asks for.
func TestReuseLoadsKeptTenants(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	b, err := newBulkProvisioner(ctx, d.Pool, d.Migrator, 1, "the kept run's secret key, 32 bytes+", false)
	require.NoError(t, err)
	made, err := b.create(ctx, 0, 3)
	require.NoError(t, err)

	const secret = "this run's secret key, of 32 bytes!"
	r := &runner{cfg: Config{Tenants: []int{1, 3}}, pool: d.Pool, secret: secret}
	require.NoError(t, r.loadTenants(ctx))
	require.Len(t, r.tenants, 3)
	for i, got := range r.tenants {
		want := made[i]
		assert.Equal(t, want.schema, got.schema, "pinned to the same id and oid")
		assert.Equal(t, want.host, got.host)
		assert.Equal(t, want.userID, got.userID)
		claims, err := token.NewIssuer(secret, 0, 0).Parse(got.token, token.Access)
		require.NoError(t, err)
		assert.Equal(t, want.schema.String(), claims.Tenant)
		assert.Equal(t, want.schema.Client(), claims.TenantID)
		assert.Equal(t, want.userID, claims.UserID)
	}

	r = &runner{cfg: Config{Tenants: []int{5}}, pool: d.Pool, secret: secret}
	assert.ErrorContains(t, r.loadTenants(ctx), "it holds 3 tenants, and -tenants asks for 5 at most")
}
