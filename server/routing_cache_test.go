package server_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
)

// TestRoutingCacheBounds drives the host cache over HTTP with small
// ROUTING_CACHE_HOSTS and ROUTING_CACHE_UNKNOWN_HOSTS, telling hits from
// misses by the metrics: the least recently used tenant host is the one
// evicted, and a flood of unknown hosts evicts no tenant host.
func TestRoutingCacheBounds(t *testing.T) {
	e := newEnvOpts(t, func(c *config.Config) {
		c.MetricsAddr = "127.0.0.1:0"
		c.RoutingCacheHosts, c.RoutingCacheUnknownHosts = 2, 3
	}, envOpts{telemetry: true})
	const metric = "tenantctl_tenant_cache_lookups_total"
	// hit requests host and reports whether the cache answered for it.
	hit := func(host string, status int) bool {
		t.Helper()
		before := e.scrapeMetrics()
		require.Equal(t, status, e.do(req{method: "GET", host: host, path: "/api/items/"}).status, host)
		after := e.scrapeMetrics()
		hits := after.value(metric, "result", "hit") - before.value(metric, "result", "hit")
		misses := after.value(metric, "result", "miss") - before.value(metric, "result", "miss")
		require.Equal(t, 1.0, hits+misses, "one lookup for %s", host)
		return hits == 1
	}
	const extra = "extra.localhost:8000"
	_, err := e.prov.AddDomain(t.Context(), "school1", "extra.localhost", false)
	require.NoError(t, err)
	// Once a host is answered from the cache, the routing listener is
	// connected; once a notification sent after the domain was added has
	// dropped it, the domain's notification (if the listener heard it) is
	// handled too, and no other invalidation is on the way.
	const barrier = "barrier.localhost:8000"
	eventually(t, func() bool { return hit(barrier, 404) })
	_, err = e.db.Pool.Exec(t.Context(), `SELECT pg_notify('tenant_routing', '{"table":"domains","hosts":["barrier.localhost"]}')`)
	require.NoError(t, err)
	eventually(t, func() bool { return !hit(barrier, 404) })

	for _, h := range []string{school1, school2, extra} {
		hit(h, 401)
	}
	assert.True(t, hit(school2, 401), "school2 kept")
	assert.False(t, hit(school1, 401), "school1, the least recently used, was evicted")
	assert.True(t, hit(school2, 401), "school2, used more recently than extra, kept")
	assert.False(t, hit(extra, 401), "extra evicted")

	// The tenant hosts cached are school2 and extra.
	before := e.scrapeMetrics()
	var flood []string
	for i := range 200 {
		flood = append(flood, fmt.Sprintf("random%d.localhost:8000", i))
		require.Equal(t, 404, e.do(req{method: "GET", host: flood[i], path: "/api/items/"}).status)
	}
	after := e.scrapeMetrics()
	assert.Equal(t, 200.0, after.value(metric, "result", "miss")-before.value(metric, "result", "miss"))
	assert.True(t, hit(school2, 401), "no unknown host evicts a tenant host")
	assert.True(t, hit(extra, 401), "no unknown host evicts a tenant host")
	assert.True(t, hit(flood[199], 404), "the last unknown hosts are cached")
	assert.False(t, hit(flood[0], 404), "the first ones were evicted")
}
