package provision_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/provision"
)

// TestPurgeDeleted: only the tenants deleted softly longer ago than the
// retention are dropped; recent ones, restored ones and live ones stay.
func TestPurgeDeleted(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	for _, n := range []string{"old", "recent", "live", "restored"} {
		_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: n, Name: n, Domain: n + ".example.com",
			Admin: &provision.UserParams{Username: "boss", Password: "Correct-horse-7"}})
		require.NoError(t, err)
	}
	for _, n := range []string{"old", "recent", "restored"} {
		tn, err := s.SoftDeleteTenant(ctx, n)
		require.NoError(t, err)
		require.NotNil(t, tn.DeletedAt)
	}
	_, err := s.SoftDeleteTenant(ctx, "old")
	assert.ErrorIs(t, err, provision.ErrTenantDeleted)
	_, err = s.RestoreTenant(ctx, "live")
	assert.ErrorIs(t, err, provision.ErrTenantLive)
	_, err = s.RestoreTenant(ctx, "ghost")
	assert.ErrorIs(t, err, provision.ErrNotFound)

	_, err = d.Pool.Exec(ctx, "UPDATE clients SET deleted_at = now() - interval '31 days' WHERE schema_name IN ('old', 'restored')")
	require.NoError(t, err)
	_, err = d.Pool.Exec(ctx, "UPDATE clients SET deleted_at = now() - interval '29 days' WHERE schema_name = 'recent'")
	require.NoError(t, err)
	tn, err := s.RestoreTenant(ctx, "restored")
	require.NoError(t, err)
	assert.Nil(t, tn.DeletedAt)

	purged, err := s.PurgeDeleted(ctx, 30*24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []string{"old"}, purged)
	assert.Zero(t, count(t, d, "SELECT count(*) FROM clients WHERE schema_name = 'old'"))
	assert.Zero(t, count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'old'"))
	assert.Zero(t, count(t, d, "SELECT count(*) FROM domains WHERE domain = 'old.example.com'"))
	for _, n := range []string{"recent", "live", "restored"} {
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM clients WHERE schema_name = $1", n), n)
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", n), n)
	}
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM recent.users"), "the data of a recent one stays")

	_, err = s.PurgeDeleted(ctx, 0)
	assert.Error(t, err)
	purged, err = s.PurgeDeleted(ctx, 30*24*time.Hour)
	require.NoError(t, err)
	assert.Empty(t, purged)
}
