package provision_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/provision"
)

func TestDeleteSuperuserByID(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	a, err := s.CreateSuperuser(ctx, provision.UserParams{Username: "a", Password: "longenough"})
	require.NoError(t, err)
	b, err := s.CreateSuperuser(ctx, provision.UserParams{Username: "b", Password: "longenough"})
	require.NoError(t, err)

	_, err = s.DeleteSuperuserByID(ctx, 9999)
	assert.ErrorIs(t, err, provision.ErrNotFound)
	got, err := s.DeleteSuperuserByID(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, "b", got.Username)
	_, err = s.DeleteSuperuserByID(ctx, a.ID)
	assert.ErrorIs(t, err, provision.ErrLastSuperuser, "the last active superuser stays")
	_, err = s.GetSuperuserByID(ctx, a.ID)
	require.NoError(t, err)

	// An inactive superuser does not count as one left, and can go.
	c, err := s.CreateSuperuser(ctx, provision.UserParams{Username: "c", Password: "longenough"})
	require.NoError(t, err)
	_, err = s.DeleteSuperuserByID(ctx, a.ID)
	require.NoError(t, err, "c is active")
	p, err := s.SearchSuperusers(ctx, provision.Query{Limit: 10})
	require.NoError(t, err)
	assert.EqualValues(t, 1, p.Total)
	_, err = s.DeleteSuperuserByID(ctx, c.ID)
	assert.ErrorIs(t, err, provision.ErrLastSuperuser)
}

func TestRemoveTenantDomainKeepsOne(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: "acme", Name: "ACME", Domain: "acme.example.com"})
	require.NoError(t, err)
	assert.ErrorIs(t, s.RemoveTenantDomain(ctx, "acme", "acme.example.com"), provision.ErrLastDomain)
	_, err = s.AddDomain(ctx, "acme", "www.acme.example.com", false)
	require.NoError(t, err)
	require.NoError(t, s.RemoveTenantDomain(ctx, "acme", "acme.example.com"))
	tn, err := s.DescribeTenant(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, "www.acme.example.com", tn.PrimaryDomain)
}
