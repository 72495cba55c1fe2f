package db_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

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

// openPool opens a pool on a fresh database. Its tenants' schemas need not
// exist: the tests only ask which backend serves them.
func openPool(t *testing.T, lim db.Limits) *db.Pool {
	t.Helper()
	d := dbtest.New(t)
	lim.Schemas, lim.Plans = db.DefaultLimits.Schemas, db.DefaultLimits.Plans
	pool, err := db.Open(t.Context(), d.URL, lim)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// backend returns the pid of the backend that a transaction in s runs on.
func backend(t *testing.T, pool *db.Pool, s db.Schema) int {
	t.Helper()
	var pid int
	require.NoError(t, db.InTenantTx(t.Context(), pool, s, func(_ *tenantdb.Queries, tx pgx.Tx) error {
		return tx.QueryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&pid)
	}))
	return pid
}

// hold runs a transaction in s that keeps its connection until the returned
// function is called (which waits for the transaction to end); pid is its
// backend's.
func hold(t *testing.T, pool *db.Pool, s db.Schema) (pid int, release func()) {
	t.Helper()
	pids, done, ended := make(chan int, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		ended <- db.InTenantTx(context.Background(), pool, s, func(_ *tenantdb.Queries, tx pgx.Tx) error {
			var pid int
			if err := tx.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				return err
			}
			pids <- pid
			<-done
			return nil
		})
	}()
	select {
	case pid = <-pids:
	case err := <-ended:
		t.Fatalf("hold %s: %v", s, err)
	}
	var once bool
	release = func() {
		if !once {
			once = true
			close(done)
			require.NoError(t, <-ended)
		}
	}
	t.Cleanup(release)
	return pid, release
}

// waitFor waits until n tenant transactions wait for a connection.
func waitFor(t *testing.T, pool *db.Pool, n int) {
	t.Helper()
	for pool.Waiting() != n {
		if t.Context().Err() != nil {
			t.Fatalf("never %d waiting", n)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func tenants(n int) []db.Schema {
	out := make([]db.Schema, n)
	for i := range out {
		out[i] = db.MustParseSchema(fmt.Sprintf("tenant%d", i))
	}
	return out
}

// TestTenantAffinity checks that while the pool is healthy a tenant's
// transactions all run on one backend, and that the tenants spread over
// every part.
func TestTenantAffinity(t *testing.T) {
	pool := openPool(t, db.Limits{Conns: 4})
	require.Len(t, pool.Parts(), 4, "one part per connection by default")
	home := map[db.Schema]int{}
	for round := range 10 {
		for _, s := range tenants(20) {
			pid := backend(t, pool, s)
			if round == 0 {
				home[s] = pid
			}
			require.Equal(t, home[s], pid, "%s moved to another backend in round %d", s, round)
		}
	}
	backends := map[int]bool{}
	for _, pid := range home {
		backends[pid] = true
	}
	assert.Len(t, backends, 4, "20 tenants over 4 parts use every part")
	// The public schema's work runs on connections of its own.
	var pid int
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&pid))
	assert.NotContains(t, backends, pid)
}

// TestTenantServedWhenPartBusy checks that a tenant whose part has no free
// connection is served on another part's idle one, beyond its cap (it is
// the only tenant at work), and then goes home again.
func TestTenantServedWhenPartBusy(t *testing.T) {
	pool := openPool(t, db.Limits{Conns: 2, TenantConns: 1})
	acme := db.MustParseSchema("acme")
	home := backend(t, pool, acme)
	held, release := hold(t, pool, acme)
	require.Equal(t, home, held)
	other := backend(t, pool, acme)
	assert.NotEqual(t, home, other, "served on the other part's connection")
	release()
	assert.Equal(t, home, backend(t, pool, acme), "back on its own part once it is free")
}

// TestTenantCap checks the per-tenant cap: with every connection held by
// acme, beyond its cap of 1, acme's next transaction gives up with
// ErrTenantBusy after its wait while beta waits within its cap, and the
// released connection then goes to beta.
func TestTenantCap(t *testing.T) {
	pool := openPool(t, db.Limits{Conns: 2, TenantConns: 1, TenantWait: 500 * time.Millisecond})
	acme, beta := db.MustParseSchema("acme"), db.MustParseSchema("beta")
	_, release1 := hold(t, pool, acme)
	_, release2 := hold(t, pool, acme) // the lone tenant takes the idle connection beyond its cap

	betaPid, betaDone, betaEnded := make(chan int, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		betaEnded <- db.InTenantTx(context.Background(), pool, beta, func(_ *tenantdb.Queries, tx pgx.Tx) error {
			var pid int
			err := tx.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid)
			betaPid <- pid
			<-betaDone
			return err
		})
	}()
	waitFor(t, pool, 1)
	acmeDone := make(chan error, 1)
	go func() {
		acmeDone <- db.InTenantTx(context.Background(), pool, acme, func(*tenantdb.Queries, pgx.Tx) error { return nil })
	}()
	assert.ErrorIs(t, <-acmeDone, db.ErrTenantBusy, "acme, over its cap while beta waited, gave up")
	assert.EqualValues(t, 1, pool.Rejected())

	release1()
	assert.NotZero(t, <-betaPid, "beta, within its cap, was served")
	close(betaDone)
	require.NoError(t, <-betaEnded)
	release2()
	assert.Equal(t, 0, pool.Waiting())
	// Alone again, acme is served.
	assert.NotZero(t, backend(t, pool, acme))
}

// TestTenantCapAlone checks that a tenant whose own work fills the pool is
// not refused: with nobody else waiting, its transaction over the cap
// waits past its TenantWait until a connection frees up.
func TestTenantCapAlone(t *testing.T) {
	pool := openPool(t, db.Limits{Conns: 2, TenantConns: 1, TenantWait: 20 * time.Millisecond})
	acme := db.MustParseSchema("acme")
	_, release1 := hold(t, pool, acme)
	_, release2 := hold(t, pool, acme)
	defer release2()

	done := make(chan error, 1)
	go func() {
		done <- db.InTenantTx(context.Background(), pool, acme, func(*tenantdb.Queries, pgx.Tx) error { return nil })
	}()
	waitFor(t, pool, 1)
	time.Sleep(10 * 20 * time.Millisecond) // ten of its waits
	assert.Equal(t, 1, pool.Waiting(), "still waiting, not refused")
	release1()
	require.NoError(t, <-done)
	assert.EqualValues(t, 0, pool.Rejected())
}

// TestTenantWaitWithinCap checks that a transaction within its tenant's cap
// waits for a connection as long as its context allows, with no
// ErrTenantBusy, and that a cancelled waiter gives its place up.
func TestTenantWaitWithinCap(t *testing.T) {
	pool := openPool(t, db.Limits{Conns: 1, TenantConns: 1, TenantWait: time.Millisecond})
	acme, beta := db.MustParseSchema("acme"), db.MustParseSchema("beta")
	_, release := hold(t, pool, acme)

	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	go func() {
		gaveUp <- db.InTenantTx(ctx, pool, beta, func(*tenantdb.Queries, pgx.Tx) error { return nil })
	}()
	waitFor(t, pool, 1)
	cancel()
	assert.ErrorIs(t, <-gaveUp, context.Canceled)
	waitFor(t, pool, 0)

	served := make(chan int, 1)
	go func() { served <- backend(t, pool, beta) }()
	waitFor(t, pool, 1)
	release()
	assert.NotZero(t, <-served)
	assert.EqualValues(t, 0, pool.Rejected())
}

// TestPoolSettings checks that a pool's shape is validated.
func TestPoolSettings(t *testing.T) {
	d := dbtest.New(t)
	for _, lim := range []db.Limits{
		{Schemas: 1, Conns: 2, Parts: 3},
		{Schemas: 1, TenantConns: -1},
		{Schemas: 1, TenantWait: -time.Second},
	} {
		_, err := db.Open(t.Context(), d.URL, lim)
		assert.Error(t, err, "%+v", lim)
	}
	pool, err := db.Open(t.Context(), d.URL+"&pool_max_conns=6", db.Limits{Schemas: 1, Parts: 2})
	require.NoError(t, err)
	defer pool.Close()
	assert.EqualValues(t, 6, pool.Config().MaxConns, "pool_max_conns sizes the pool")
	require.Len(t, pool.Parts(), 2)
	assert.EqualValues(t, 3, pool.Parts()[0].Config().MaxConns)
	assert.EqualValues(t, 3, pool.Parts()[1].Config().MaxConns)
}

// BenchmarkPoolOneTenant runs one tenant's reads from 32 goroutines on a
// pool of 4 without parts (one pgxpool, as before tenant-affine parts) and
// with 4 parts: the parts' bookkeeping must cost the lone tenant nothing.
func BenchmarkPoolOneTenant(b *testing.B) {
	d := dbtest.New(b)
	prov := provision.New(d.Pool, d.Migrator, password.NewHasher(1))
	_, err := prov.CreateTenant(b.Context(), provision.TenantParams{Schema: "acme", Name: "acme", Domain: "acme.example.com",
		Admin: &provision.UserParams{Username: "u", Password: "Harbour-Lamp-71"}})
	require.NoError(b, err)
	parts, err := db.Open(b.Context(), d.URL, db.Limits{Schemas: 100, Plans: 100, Conns: 4})
	require.NoError(b, err)
	defer parts.Close()
	// A pgxpool of 4 configured alike, as the pool was before parts.
	single, err := pgxpool.NewWithConfig(b.Context(), parts.Config().Copy())
	require.NoError(b, err)
	defer single.Close()
	for _, bc := range []struct {
		name string
		pool *db.Pool
	}{{"single", &db.Pool{Pool: single}}, {"parts", parts}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, err := getUser(b.Context(), bc.pool, acme, "u")
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
