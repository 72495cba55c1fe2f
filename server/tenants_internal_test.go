package server

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
)

// TestCacheInvalidationIsExact checks that a routing change drops only the
// cached answers it concerns: a new domain its host, a changed tenant its
// own hosts and the "not a tenant" answers, never another tenant's.
func TestCacheInvalidationIsExact(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	prov := provision.New(d.Pool, d.Migrator, password.NewHasher(1))
	_, err := prov.Demo(ctx)
	require.NoError(t, err)
	c := newTenantCache(d.Pool, slog.New(slog.DiscardHandler), d.URL)
	go c.listen(ctx)
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.listening
	}, 10*time.Second, 10*time.Millisecond)

	cached := func(host string) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.entries[host]
		return ok
	}
	resolve := func(host string) (tenant, bool) {
		tn, found, err := c.resolve(ctx, host)
		require.NoError(t, err)
		require.True(t, cached(host), "%s cached", host)
		return tn, found
	}
	s1, found := resolve("school1.localhost")
	require.True(t, found)
	resolve("school2.localhost")
	_, found = resolve("extra.localhost")
	require.False(t, found)

	t.Run("OKDomainAdded", func(t *testing.T) {
		_, err := prov.AddDomain(ctx, "school1", "extra.localhost", false)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return !cached("extra.localhost") }, 10*time.Second, 5*time.Millisecond)
		require.True(t, cached("school1.localhost"), "the tenant's other host is kept")
		require.True(t, cached("school2.localhost"), "another tenant's host is kept")
		got, found := resolve("extra.localhost")
		require.True(t, found)
		require.Equal(t, s1.ID, got.ID)
	})
	t.Run("OKTenantChanged", func(t *testing.T) {
		resolve("nobody.localhost")
		_, err := d.Pool.Exec(ctx, `UPDATE clients SET name = 'School One' WHERE schema_name = 'school1'`)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return !cached("school1.localhost") }, 10*time.Second, 5*time.Millisecond)
		require.False(t, cached("extra.localhost"), "every host of the tenant goes")
		require.False(t, cached("nobody.localhost"), "answers of no tenant go")
		require.True(t, cached("school2.localhost"), "another tenant's host is kept")
	})
	t.Run("OKUnreadablePayload", func(t *testing.T) {
		c.invalidate("clients")
		require.False(t, cached("school2.localhost"))
	})
}
