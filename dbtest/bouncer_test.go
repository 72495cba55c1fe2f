package dbtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
)

// TestBouncerSearchPathLeak is the negative control for the central
// mechanism. Behind PgBouncer in transaction mode with one server
// connection, a session-level SET search_path made by one client is seen by
// the next client: the leak this design exists to avoid. Our transaction-
// scoped search_path, through the same bouncer, leaves nothing behind.
func TestBouncerSearchPathLeak(t *testing.T) {
	d := dbtest.New(t)
	_, err := provision.New(d.Pool, d.Migrator, password.NewHasher(1)).Demo(t.Context())
	require.NoError(t, err)
	via := d.Bouncer(t, dbtest.BouncerOptions{PoolSize: 1})
	ctx := t.Context()
	connect := func() *pgx.Conn {
		c, err := pgx.Connect(ctx, via)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	showPath := func(c *pgx.Conn) string {
		var p string
		require.NoError(t, c.QueryRow(ctx, "SHOW search_path").Scan(&p))
		return p
	}
	attacker, victim := connect(), connect()
	clean := showPath(victim)

	// The wrong way: a session-level SET on a pooled server connection.
	_, err = attacker.Exec(ctx, "SET search_path TO school1")
	require.NoError(t, err)
	assert.Equal(t, "school1", showPath(victim), "control: with session-level SET the next client inherits school1's schema")
	var n int
	require.NoError(t, victim.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n), "control: the victim reads school1's users unqualified")
	_, err = attacker.Exec(ctx, "RESET search_path")
	require.NoError(t, err)
	require.Equal(t, clean, showPath(victim))

	// Our way, through the same single server connection.
	cfg, err := pgxpool.ParseConfig(via)
	require.NoError(t, err)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	u, err := db.InTenantV(ctx, &db.Pool{Pool: pool}, db.MustParseSchema("school1"), func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByUsername(ctx, "demo")
	})
	require.NoError(t, err)
	assert.Equal(t, "demo", u.Username)
	assert.Equal(t, clean, showPath(victim), "a tenant transaction leaves the shared server connection as it found it")
	err = victim.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n)
	assert.Error(t, err, "and the next client cannot read any tenant's users unqualified")
}
