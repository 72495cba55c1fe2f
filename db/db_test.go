package db_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
)

// turnConn counts round trips on the wire: a write that follows a read (or
// starts the conversation) begins one.
type turnConn struct {
	net.Conn
	turns   *atomic.Int64
	reading atomic.Bool
}

func (c *turnConn) Write(b []byte) (int, error) {
	if c.reading.Swap(false) {
		c.turns.Add(1)
	}
	return c.Conn.Write(b)
}

func (c *turnConn) Read(b []byte) (int, error) {
	c.reading.Store(true)
	return c.Conn.Read(b)
}

// errTracer records the SQLSTATE of every failed query, batched or not.
type errTracer struct{ codes chan string }

func (t errTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (t errTracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	var pe *pgconn.PgError
	if errors.As(d.Err, &pe) {
		t.codes <- pe.Code
	}
}

func (t errTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (t errTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	var pe *pgconn.PgError
	if errors.As(d.Err, &pe) {
		t.codes <- pe.Code
	}
}

func (t errTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// setup gives a database with tenants acme and beta (one user each) and a
// one-connection pool whose round trips are counted, so every transaction
// below shares a connection with the one before. The Pool has no parts:
// its tenant transactions run on that one connection too, where the tests
// inspect it.
func setup(t *testing.T) (*db.Pool, *atomic.Int64, chan string) {
	d := dbtest.New(t)
	prov := provision.New(d.Pool, d.Migrator, password.NewHasher(1))
	for _, s := range []string{"acme", "beta"} {
		_, err := prov.CreateTenant(t.Context(), provision.TenantParams{Schema: s, Name: s, Domain: s + ".example.com",
			Admin: &provision.UserParams{Username: "u", Password: "Harbour-Lamp-71"}})
		require.NoError(t, err)
	}
	cfg, err := pgxpool.ParseConfig(d.URL)
	require.NoError(t, err)
	require.NoError(t, db.Configure(cfg, db.DefaultLimits))
	cfg.MaxConns = 1
	turns := &atomic.Int64{}
	dialer := &net.Dialer{}
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &turnConn{Conn: c, turns: turns}, nil
	}
	codes := make(chan string, 100)
	cfg.ConnConfig.Tracer = errTracer{codes: codes}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return &db.Pool{Pool: pool}, turns, codes
}

var acme, beta = db.MustParseSchema("acme"), db.MustParseSchema("beta")

func getUser(ctx context.Context, pool *db.Pool, s db.Schema, username string) (tenantdb.User, error) {
	return db.InTenantV(ctx, pool, s, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByUsername(ctx, username)
	})
}

// TestRoundTrips counts what a tenant transaction costs on the wire once its
// statements are prepared on the connection: the first statement rides with
// BEGIN and the search_path, then one trip per statement, then COMMIT.
func TestRoundTrips(t *testing.T) {
	pool, turns, _ := setup(t)
	ctx := t.Context()
	measure := func(fn func()) int64 {
		fn() // the tenant's first visit to the connection
		fn() // the second, which prepares the tenant's own statements
		turns.Store(0)
		fn()
		return turns.Load()
	}
	assert.EqualValues(t, 2, measure(func() {
		_, err := getUser(ctx, pool, acme, "u")
		require.NoError(t, err)
	}), "one statement: batch + COMMIT")
	assert.EqualValues(t, 3, measure(func() {
		require.NoError(t, db.InTenant(ctx, pool, beta, func(q *tenantdb.Queries) error {
			u, err := q.GetUserByUsername(ctx, "u")
			if err != nil {
				return err
			}
			_, err = q.ListItems(ctx, tenantdb.ListItemsParams{Lim: 20, Off: 0})
			_ = u
			return err
		}))
	}), "two statements: batch + statement + COMMIT")
	assert.EqualValues(t, 0, measure(func() {
		require.NoError(t, db.InTenant(ctx, pool, beta, func(*tenantdb.Queries) error { return nil }))
	}), "no statement: no transaction at all")

	// Reads need no BEGIN and no COMMIT: one trip per statement.
	assert.EqualValues(t, 1, measure(func() {
		_, err := db.ReadTenantV(ctx, pool, acme, func(q *tenantdb.Queries) (tenantdb.User, error) {
			return q.GetUserByUsername(ctx, "u")
		})
		require.NoError(t, err)
	}), "one read")
	assert.EqualValues(t, 2, measure(func() {
		require.NoError(t, db.ReadTenant(ctx, pool, beta, func(q *tenantdb.Queries) error {
			if _, err := q.GetUserByUsername(ctx, "u"); err != nil {
				return err
			}
			_, err := q.ListItems(ctx, tenantdb.ListItemsParams{Lim: 20, Off: 0})
			return err
		}))
	}), "two reads")
}

// TestSignInRoundTrips: the throttled sign-in (count before the hash, give
// back on success) costs two round trips more than the sign-in without a
// throttle: the count and the give-back are statements of their own, as
// they must be on Citus (a statement reading a tenant's tables runs on its
// worker, where public does not exist). The count is committed by its
// implicit transaction before the lookup, and given back.
func TestSignInRoundTrips(t *testing.T) {
	pool, turns, _ := setup(t)
	ctx := t.Context()
	measure := func(fn func()) int64 {
		fn()
		fn()
		turns.Store(0)
		fn()
		return turns.Load()
	}
	record := func(id int64, keys [][]byte) error {
		return db.InTenant(ctx, pool, acme, func(q *tenantdb.Queries) error {
			err := q.RecordSignIn(ctx, tenantdb.RecordSignInParams{
				Jti: uuid.New(), Family: uuid.New(), UserID: id, ExpiresAt: time.Now().Add(time.Hour),
			})
			if err != nil || keys == nil {
				return err
			}
			return q.ThrottleSucceeded(ctx, keys)
		})
	}
	assert.EqualValues(t, 3, measure(func() {
		u, err := db.ReadTenantV(ctx, pool, acme, func(q *tenantdb.Queries) (tenantdb.SignInUserRow, error) {
			return q.SignInUser(ctx, "u")
		})
		require.NoError(t, err)
		require.NoError(t, record(u.ID, nil))
	}), "unthrottled: the lookup, then RecordSignIn")

	keys := [][]byte{make([]byte, 32), append(make([]byte, 31), 1)}
	start := func() tenantdb.SignInUserRow {
		u, err := db.ReadTenantV(ctx, pool, acme, func(q *tenantdb.Queries) (tenantdb.SignInUserRow, error) {
			wait, err := q.Throttle(ctx, tenantdb.ThrottleParams{Keys: keys, Limits: []int32{5, 30}, WindowSecs: 300})
			require.NoError(t, err)
			require.Zero(t, wait)
			return q.SignInUser(ctx, "u")
		})
		require.NoError(t, err)
		require.NotZero(t, u.ID)
		return u
	}
	attempts := func() (n int) {
		require.NoError(t, pool.QueryRow(ctx, "SELECT coalesce(sum(attempts), 0) FROM public.signin_attempts").Scan(&n))
		return n
	}
	assert.EqualValues(t, 5, measure(func() {
		u := start()
		require.NoError(t, record(u.ID, keys))
	}), "throttled: the count, the lookup, then RecordSignIn and the give-back")

	u := start()
	assert.Equal(t, 2, attempts(), "counted on both keys, and committed")
	require.NoError(t, record(u.ID, keys))
	assert.Equal(t, 0, attempts(), "given back")
}

// TestReadTenant checks that reads in implicit transactions see their
// tenant's schema, statement after statement, prepared or not, and leave
// the connection as they found it.
func TestReadTenant(t *testing.T) {
	pool, _, _ := setup(t)
	ctx := t.Context()
	var before string
	require.NoError(t, pool.QueryRow(ctx, "SHOW search_path").Scan(&before))
	require.NoError(t, db.InTenant(ctx, pool, beta, func(q *tenantdb.Queries) error {
		_, err := q.CreateItem(ctx, tenantdb.CreateItemParams{Name: "beta only"})
		return err
	}))
	count := func(s db.Schema) (counted int64, listed int) {
		require.NoError(t, db.ReadTenant(ctx, pool, s, func(q *tenantdb.Queries) error {
			if _, err := q.GetUserByUsername(ctx, "u"); err != nil {
				return err
			}
			var err error
			if counted, err = q.CountItems(ctx); err != nil {
				return err
			}
			page, err := q.ListItems(ctx, tenantdb.ListItemsParams{Lim: 20})
			listed = len(page)
			return err
		}))
		return counted, listed
	}
	for range 2 { // first preparing the statements, then with them prepared
		for _, s := range []db.Schema{acme, beta, acme} {
			want := map[db.Schema]int{beta: 1}[s]
			counted, listed := count(s)
			assert.EqualValues(t, want, counted, s.String())
			assert.Equal(t, want, listed, s.String())
		}
	}
	_, err := db.ReadTenantV(ctx, pool, acme, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByUsername(ctx, "nobody")
	})
	assert.ErrorIs(t, err, pgx.ErrNoRows)

	var after string
	var status string
	require.NoError(t, pool.QueryRow(ctx, "SELECT current_setting('search_path'), current_setting('plan_cache_mode')").Scan(&after, &status))
	assert.Equal(t, before, after, "no search_path left on the connection")
	assert.Equal(t, "auto", status, "no plan_cache_mode left on the connection")
}

// TestSearchPathStaysInTransaction checks that a tenant transaction leaves
// nothing behind on the pooled connection, whether it commits or fails, and
// that each transaction sees only its own schema.
func TestSearchPathStaysInTransaction(t *testing.T) {
	pool, _, _ := setup(t)
	ctx := t.Context()
	showPath := func() string {
		var p string
		require.NoError(t, pool.QueryRow(ctx, "SHOW search_path").Scan(&p))
		return p
	}
	before := showPath()

	u, err := getUser(ctx, pool, acme, "u")
	require.NoError(t, err)
	assert.Equal(t, "u", u.Username)
	assert.Equal(t, before, showPath(), "after commit")

	// A failing first statement (unique violation) rolls back cleanly.
	err = db.InTenant(ctx, pool, acme, func(q *tenantdb.Queries) error {
		_, err := q.CreateUser(ctx, tenantdb.CreateUserParams{Username: "u", PasswordHash: "x", Role: "member"})
		return err
	})
	var pe *pgconn.PgError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "23505", pe.Code)
	assert.Equal(t, before, showPath(), "after rollback")

	// ErrNoRows from the first statement is reported as such.
	_, err = db.InTenantV(ctx, pool, beta, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByUsername(ctx, "nobody")
	})
	assert.ErrorIs(t, err, pgx.ErrNoRows)

	// Work in one tenant never sees the other: write in acme, read in beta.
	require.NoError(t, db.InTenant(ctx, pool, acme, func(q *tenantdb.Queries) error {
		_, err := q.CreateItem(ctx, tenantdb.CreateItemParams{Name: "acme only"})
		return err
	}))
	n, err := db.InTenantV(ctx, pool, beta, func(q *tenantdb.Queries) (int64, error) { return q.CountItems(ctx) })
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Equal(t, before, showPath())

	// The zero Schema is refused before anything is sent.
	assert.ErrorIs(t, db.InTenant(ctx, pool, db.Schema{}, func(*tenantdb.Queries) error { return nil }), db.ErrInvalidSchema)
}

// TestRollingMigration changes the type of a column in one tenant's table
// while its statements are prepared on the pooled connection, as a rolling
// migration does. The next statement fails once with "cached plan must not
// change result type"; the transaction is retried and the request succeeds.
func TestRollingMigration(t *testing.T) {
	pool, _, codes := setup(t)
	ctx := t.Context()
	list := func(s db.Schema) error {
		return db.InTenant(ctx, pool, s, func(q *tenantdb.Queries) error {
			_, err := q.CreateItem(ctx, tenantdb.CreateItemParams{Name: "x"})
			if err != nil {
				return err
			}
			_, err = q.ListItems(ctx, tenantdb.ListItemsParams{Lim: 20})
			return err
		})
	}
	for range 2 {
		require.NoError(t, list(acme))
		require.NoError(t, list(beta))
	}
	_, err := pool.Exec(ctx, "ALTER TABLE beta.items ALTER COLUMN name TYPE text")
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, list(beta))
		require.NoError(t, list(acme))
	}
	close(codes)
	var stale int
	for c := range codes {
		if c == "0A000" {
			stale++
		}
	}
	assert.Equal(t, 1, stale, "the scenario must hit a stale plan once, or it tests nothing")
}

// TestStatementPerTenant checks that each tenant seen again on a connection
// gets its own prepared statements there, planned once as generic plans:
// what keeps PostgreSQL from planning every request afresh when many tenants
// are busy. A first visit uses the statement all tenants share.
func TestStatementPerTenant(t *testing.T) {
	pool, _, _ := setup(t)
	ctx := t.Context()
	for range 4 {
		for _, s := range []db.Schema{acme, beta} {
			_, err := getUser(ctx, pool, s, "u")
			require.NoError(t, err)
		}
	}
	// The pool has one connection: this is the one the tenants used.
	rows, err := pool.Query(ctx, `SELECT substring(statement for 10), generic_plans, custom_plans
		FROM pg_prepared_statements WHERE statement LIKE '%FROM users WHERE username%'
		AND statement NOT LIKE '%pg_prepared_statements%' ORDER BY 1`)
	require.NoError(t, err)
	type stmt struct {
		Prefix          string
		Generic, Custom int64
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[stmt])
	require.NoError(t, err)
	want := []stmt{{"-- name: G", 2, 0}, {"/* acme */", 3, 0}, {"/* beta */", 3, 0}}
	if len(dbtest.CitusWorkers()) > 0 {
		// On a Citus coordinator PostgreSQL chooses (see db.Configure), and
		// Citus' fast-path router plans are custom ones.
		for i := range want {
			want[i].Generic, want[i].Custom = 0, want[i].Generic
		}
	}
	assert.Equal(t, want, got)
}

// TestConnectionsRetireAfterManySchemas checks the bound on backend memory:
// a pooled connection that has served Limits.Schemas distinct schemas is
// replaced by a fresh backend.
func TestConnectionsRetireAfterManySchemas(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	const limit = 50
	pool, err := db.Open(ctx, d.URL+"&pool_max_conns=1", db.Limits{Schemas: limit, Plans: 10})
	require.NoError(t, err)
	defer pool.Close()
	// The one tenant connection: one part of one connection.
	pid := func() (p int) {
		require.NoError(t, pool.Parts()[0].QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&p))
		return p
	}
	first := pid()
	// The schemas need not exist: setting the search_path is what counts,
	// and the statement's "relation does not exist" is expected.
	touch := func(name string) {
		err := db.InTenant(ctx, pool, db.MustParseSchema(name), func(q *tenantdb.Queries) error {
			_, err := q.AppliedMigrations(ctx)
			return err
		})
		var pe *pgconn.PgError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, "42P01", pe.Code)
	}
	for i := range limit - 1 {
		touch(fmt.Sprintf("s%d", i))
	}
	assert.Equal(t, first, pid(), "still the same backend below the limit")
	touch("one_more")
	assert.NotEqual(t, first, pid(), "a new backend after the limit")
}

// TestPlansLimit checks the bound on a connection's tenant-specific
// statements: past Limits.Plans, tenants share the statement every tenant
// uses, and still get their own rows.
func TestPlansLimit(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	prov := provision.New(d.Pool, d.Migrator, password.NewHasher(1))
	for _, s := range []string{"acme", "beta"} {
		_, err := prov.CreateTenant(ctx, provision.TenantParams{Schema: s, Name: s, Domain: s + ".example.com",
			Admin: &provision.UserParams{Username: "u_" + s, Password: "Harbour-Lamp-71"}})
		require.NoError(t, err)
	}
	_, err := db.Open(ctx, d.URL, db.Limits{Schemas: 0})
	require.Error(t, err, "a connection must be allowed one schema")
	pool, err := db.Open(ctx, d.URL+"&pool_max_conns=1", db.Limits{Schemas: 100, Plans: 1})
	require.NoError(t, err)
	defer pool.Close()
	for range 3 {
		for _, s := range []db.Schema{acme, beta} {
			u, err := getUser(ctx, pool, s, "u_"+s.String())
			require.NoError(t, err)
			assert.Equal(t, "u_"+s.String(), u.Username)
		}
	}
	rows, err := pool.Parts()[0].Query(ctx, `SELECT substring(statement for 10) FROM pg_prepared_statements
		WHERE statement LIKE '/*%' AND statement NOT LIKE '%pg_prepared_statements%' ORDER BY 1`)
	require.NoError(t, err)
	tagged, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Equal(t, []string{"/* acme */"}, tagged, "one tenant-specific statement, the first tenant's")
}
