package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
)

// has reports whether host has a cached answer, a tenant's (known) or "not
// a tenant" (unknown), without making it more recently used.
func (c *tenantCache) has(host string) (known, unknown bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.known.Contains(host), c.unknown.Contains(host)
}

// cacheTest is a tenant cache listening on a database with the demo
// tenants, and the hosts a test has it cache.
type cacheTest struct {
	t     *testing.T
	ctx   context.Context
	d     *dbtest.DB
	prov  *provision.Service
	c     *tenantCache
	hosts []string
}

func newCacheTest(t *testing.T, hosts, unknownHosts int) *cacheTest {
	d := dbtest.New(t)
	ctx := t.Context()
	prov := provision.New(d.Pool, d.Migrator, password.NewHasher(1))
	_, err := prov.Demo(ctx)
	require.NoError(t, err)
	c := newTenantCache(d.Pool, slog.New(slog.DiscardHandler), d.URL, hosts, unknownHosts)
	go c.listen(ctx)
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.listening
	}, 10*time.Second, 10*time.Millisecond)
	return &cacheTest{t: t, ctx: ctx, d: d, prov: prov, c: c}
}

// resolve looks host up until its answer is cached (a lookup that raced
// with an invalidation is not stored), and returns the tenant's schema, ""
// for "not a tenant". dropped checks the hosts resolved.
func (ct *cacheTest) resolve(host string) string {
	ct.t.Helper()
	if !slices.Contains(ct.hosts, host) {
		ct.hosts = append(ct.hosts, host)
	}
	return ct.lookup(host)
}

// lookup is resolve without recording host.
func (ct *cacheTest) lookup(host string) string {
	ct.t.Helper()
	var schema string
	require.Eventually(ct.t, func() bool {
		tn, found, err := ct.c.resolve(ct.ctx, host)
		require.NoError(ct.t, err)
		schema = ""
		if found {
			schema = tn.Schema.String()
		}
		known, unknown := ct.c.has(host)
		return known == found && unknown == !found
	}, 10*time.Second, 5*time.Millisecond)
	return schema
}

// settle waits until every notification of a change committed before it has
// been handled: NOTIFYs arrive in commit order, so once one sent after them
// has dropped its host, they have done their work.
func (ct *cacheTest) settle() {
	ct.t.Helper()
	const barrier = "barrier.invalid"
	ct.lookup(barrier)
	_, err := ct.d.Pool.Exec(ct.ctx, `SELECT pg_notify('tenant_routing', '{"table":"domains","hosts":["`+barrier+`"]}')`)
	require.NoError(ct.t, err)
	require.Eventually(ct.t, func() bool {
		known, unknown := ct.c.has(barrier)
		return !known && !unknown
	}, 10*time.Second, 5*time.Millisecond)
}

// dropped settles and asserts that the cached hosts named are gone and
// every other one is still cached.
func (ct *cacheTest) dropped(gone ...string) {
	ct.t.Helper()
	ct.settle()
	for _, h := range ct.hosts {
		known, unknown := ct.c.has(h)
		if slices.Contains(gone, h) {
			assert.False(ct.t, known || unknown, "%s dropped", h)
		} else {
			assert.True(ct.t, known || unknown, "%s kept", h)
		}
	}
}

// TestCacheInvalidationIsExact checks that every kind of routing change
// drops only the cached answers it concerns, tenants' and "not a tenant"
// ones alike, and that the answers looked up again are right.
func TestCacheInvalidationIsExact(t *testing.T) {
	ct := newCacheTest(t, 100, 100)
	ctx := ct.ctx
	require.Equal(t, "school1", ct.resolve("school1.localhost"))
	require.Equal(t, "school2", ct.resolve("school2.localhost"))
	for _, h := range []string{"extra.localhost", "acme.localhost", "nobody.localhost"} {
		require.Empty(t, ct.resolve(h))
	}

	t.Run("OKDomainAdded", func(t *testing.T) {
		_, err := ct.prov.AddDomain(ctx, "school1", "extra.localhost", false)
		require.NoError(t, err)
		ct.dropped("extra.localhost")
		assert.Equal(t, "school1", ct.resolve("extra.localhost"))
	})
	t.Run("OKPrimaryDomainChanged", func(t *testing.T) {
		_, err := ct.prov.SetPrimaryDomain(ctx, "school1", "extra.localhost")
		require.NoError(t, err)
		ct.dropped() // routing is the same
	})
	t.Run("OKTenantUpdated", func(t *testing.T) {
		name := "School One"
		_, err := ct.prov.UpdateTenant(ctx, "school1", provision.TenantChanges{Name: &name})
		require.NoError(t, err)
		ct.dropped() // routing is the same
	})
	t.Run("OKTenantSoftDeleted", func(t *testing.T) {
		_, err := ct.prov.SoftDeleteTenant(ctx, "school1")
		require.NoError(t, err)
		ct.dropped("school1.localhost", "extra.localhost")
		assert.Empty(t, ct.resolve("school1.localhost"))
		assert.Empty(t, ct.resolve("extra.localhost"))
	})
	t.Run("OKTenantRestored", func(t *testing.T) {
		_, err := ct.prov.RestoreTenant(ctx, "school1")
		require.NoError(t, err)
		ct.dropped("school1.localhost", "extra.localhost")
		assert.Equal(t, "school1", ct.resolve("school1.localhost"))
		assert.Equal(t, "school1", ct.resolve("extra.localhost"))
	})
	t.Run("OKTenantRenamed", func(t *testing.T) {
		tx, err := ct.d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		_, err = tx.Exec(ctx, `ALTER SCHEMA school1 RENAME TO school_one`)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `UPDATE clients SET schema_name = 'school_one' WHERE schema_name = 'school1'`)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		ct.dropped("school1.localhost", "extra.localhost")
		assert.Equal(t, "school_one", ct.resolve("school1.localhost"))
		assert.Equal(t, "school_one", ct.resolve("extra.localhost"))
	})
	t.Run("OKDomainRemoved", func(t *testing.T) {
		require.NoError(t, ct.prov.RemoveDomain(ctx, "extra.localhost"))
		ct.dropped("extra.localhost")
		assert.Empty(t, ct.resolve("extra.localhost"))
	})
	t.Run("OKDomainMoved", func(t *testing.T) {
		_, err := ct.prov.AddDomain(ctx, "school2", "extra.localhost", false)
		require.NoError(t, err)
		ct.dropped("extra.localhost")
		require.Equal(t, "school2", ct.resolve("extra.localhost"))
		_, err = ct.d.Pool.Exec(ctx, `UPDATE domains SET client_id = (SELECT id FROM clients WHERE schema_name = 'school_one')
			WHERE domain = 'extra.localhost'`)
		require.NoError(t, err)
		ct.dropped("extra.localhost")
		assert.Equal(t, "school_one", ct.resolve("extra.localhost"))
	})
	t.Run("OKTenantCreated", func(t *testing.T) {
		_, err := ct.prov.CreateTenant(ctx, provision.TenantParams{Schema: "acme", Name: "ACME", Domain: "acme.localhost"})
		require.NoError(t, err)
		ct.dropped("acme.localhost")
		assert.Equal(t, "acme", ct.resolve("acme.localhost"))
	})
	t.Run("OKTenantDeleted", func(t *testing.T) {
		require.NoError(t, ct.prov.DeleteTenant(ctx, "school2"))
		ct.dropped("school2.localhost")
		assert.Empty(t, ct.resolve("school2.localhost"))
	})
	t.Run("OKTooManyHostsToName", func(t *testing.T) {
		// 40 hosts of 240 bytes do not fit in one notification.
		_, err := ct.d.Pool.Exec(ctx, `INSERT INTO domains (domain, client_id)
			SELECT repeat('x', 220) || g || '.acme.localhost', (SELECT id FROM clients WHERE schema_name = 'acme')
			FROM generate_series(10, 49) g`)
		require.NoError(t, err)
		ct.dropped() // each domain named its own host
		_, err = ct.prov.SoftDeleteTenant(ctx, "acme")
		require.NoError(t, err)
		ct.dropped(ct.hosts...)
		assert.Empty(t, ct.resolve("acme.localhost"))
		assert.Equal(t, "school_one", ct.resolve("school1.localhost"))
	})
	t.Run("OKUnreadablePayload", func(t *testing.T) {
		ct.c.invalidate("clients")
		for _, h := range ct.hosts {
			known, unknown := ct.c.has(h)
			assert.False(t, known || unknown, "%s dropped", h)
		}
	})
}

// TestRoutingNotifyPayload checks the notify_tenant_routing trigger's
// payloads, which the listener trusts to name every host a change concerns.
func TestRoutingNotifyPayload(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	prov := provision.New(d.Pool, d.Migrator, password.NewHasher(1))
	_, err := prov.Demo(ctx)
	require.NoError(t, err)
	var school1 int64
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT id FROM clients WHERE schema_name = 'school1'`).Scan(&school1))

	conn, err := pgx.Connect(ctx, d.URL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "LISTEN tenant_routing")
	require.NoError(t, err)
	next := func() map[string]any {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		n, err := conn.WaitForNotification(wctx)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(n.Payload), &m), n.Payload)
		return m
	}
	exec := func(sql string) {
		t.Helper()
		_, err := d.Pool.Exec(ctx, sql)
		require.NoError(t, err)
	}
	change := func(table, op string, hosts ...string) map[string]any {
		h := []any{}
		for _, s := range hosts {
			h = append(h, s)
		}
		return map[string]any{"table": table, "op": op, "tenant_id": float64(school1), "hosts": h}
	}

	_, err = prov.AddDomain(ctx, "school1", "extra.localhost", false)
	require.NoError(t, err)
	assert.Equal(t, change("domains", "insert", "extra.localhost"), next())
	exec(`UPDATE domains SET domain = 'extra2.localhost' WHERE domain = 'extra.localhost'`)
	assert.Equal(t, change("domains", "update", "extra2.localhost", "extra.localhost"), next())
	// Neither notifies: the next notification is the soft delete's.
	exec(`UPDATE domains SET is_primary = (domain = 'extra2.localhost') WHERE client_id = ` + strconv.FormatInt(school1, 10))
	exec(`UPDATE clients SET name = 'School One', on_trial = false WHERE id = ` + strconv.FormatInt(school1, 10))
	_, err = prov.SoftDeleteTenant(ctx, "school1")
	require.NoError(t, err)
	assert.Equal(t, change("clients", "update", "extra2.localhost", "school1.localhost"), next())
	exec(`DELETE FROM domains WHERE domain = 'extra2.localhost'`)
	assert.Equal(t, change("domains", "delete", "extra2.localhost"), next())

	exec(`INSERT INTO domains (domain, client_id)
		SELECT repeat('x', 220) || g || '.localhost', ` + strconv.FormatInt(school1, 10) + ` FROM generate_series(10, 49) g`)
	for range 40 {
		next()
	}
	exec(`UPDATE clients SET deleted_at = NULL WHERE id = ` + strconv.FormatInt(school1, 10))
	assert.Equal(t, map[string]any{"table": "clients", "op": "update", "tenant_id": float64(school1), "all": true}, next())
}

// TestCacheLRU checks that each bound evicts the least recently used
// answer, and that "not a tenant" answers, however many, never evict a
// tenant's.
func TestCacheLRU(t *testing.T) {
	ct := newCacheTest(t, 2, 3)
	_, err := ct.prov.AddDomain(ct.ctx, "school1", "extra.localhost", false)
	require.NoError(t, err)
	ct.settle()
	cached := func(hosts ...string) []string {
		var out []string
		for _, h := range hosts {
			if known, unknown := ct.c.has(h); known || unknown {
				out = append(out, h)
			}
		}
		return out
	}

	ct.resolve("school1.localhost")
	ct.resolve("school2.localhost")
	ct.resolve("school1.localhost") // now the most recently used
	ct.resolve("extra.localhost")
	assert.Equal(t, []string{"school1.localhost", "extra.localhost"},
		cached("school1.localhost", "school2.localhost", "extra.localhost"), "school2, the least recently used, evicted")

	var flood []string
	for i := range 100 {
		h := fmt.Sprintf("random%d.localhost", i)
		flood = append(flood, h)
		require.Empty(t, ct.resolve(h))
	}
	assert.Equal(t, []string{"school1.localhost", "extra.localhost"},
		cached("school1.localhost", "school2.localhost", "extra.localhost"), "unknown hosts evict no tenant")
	assert.Equal(t, flood[97:], cached(flood...), "only the last unknown hosts are kept")
}

// TestCacheDiscardsRacedAnswer checks the guarantee under the LRUs: an
// answer looked up before an invalidation arrived is not stored after it,
// and nothing is cached while the listener is disconnected.
func TestCacheDiscardsRacedAnswer(t *testing.T) {
	c := newTenantCache(nil, slog.New(slog.DiscardHandler), "", 10, 10)
	tn := tenant{ID: 1, Schema: db.MustParseSchema("school1")}
	c.setListening(true)

	gen := c.gen
	c.invalidate(`{"table":"domains","hosts":["other.localhost"]}`)
	c.store("school1.localhost", gen, tn, true)
	c.store("nobody.localhost", gen, tenant{}, false)
	for _, h := range []string{"school1.localhost", "nobody.localhost"} {
		known, unknown := c.has(h)
		assert.False(t, known || unknown, "%s looked up before an invalidation is not stored", h)
	}

	c.store("school1.localhost", c.gen, tn, true)
	known, _ := c.has("school1.localhost")
	require.True(t, known)

	c.setListening(false)
	known, _ = c.has("school1.localhost")
	assert.False(t, known, "a disconnected listener empties the cache")
	c.store("school1.localhost", c.gen, tn, true)
	known, _ = c.has("school1.localhost")
	assert.False(t, known, "nothing is cached while the listener is disconnected")
}

// BenchmarkTenantCacheMemory fills the tenant hosts' LRU with
// config.DefaultRoutingCacheHosts entries and reports the Go heap each
// entry holds, and the process's RSS when full.
func BenchmarkTenantCacheMemory(b *testing.B) {
	n := config.DefaultRoutingCacheHosts
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := newTenantCache(nil, slog.New(slog.DiscardHandler), "", n, config.DefaultRoutingCacheUnknownHosts)
		c.setListening(true)
		for i := range n {
			// Strings built afresh, as a request's host and a row's
			// schema name are.
			s := db.MustParseSchema(fmt.Sprintf("tenant_%06d", i))
			c.store(fmt.Sprintf("tenant-%06d.example.com", i), c.gen, tenant{ID: int64(i + 1), Schema: s.Pin(int64(i+1), int64(16384+i))}, true)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		require.Equal(b, n, c.known.Len())
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-bytes/host")
		b.ReportMetric(float64(rssKiB(b))/1024, "rss-MiB")
		runtime.KeepAlive(c)
	}
}

// rssKiB is the process's resident set (VmRSS) in KiB.
func rssKiB(b *testing.B) int {
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(b, err)
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			require.NoError(b, err)
			return kib
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
