package provision_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/provision"
)

func TestSearchTenants(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	for i, name := range []string{"Alpha School", "Beta_Store", "Gamma 100%"} {
		_, err := s.CreateTenant(ctx, provision.TenantParams{
			Schema: fmt.Sprintf("t%d", i), Name: name, Domain: fmt.Sprintf("t%d.example.com", i)})
		require.NoError(t, err)
	}
	_, err := s.AddDomain(ctx, "t0", "alpha.school.org", false)
	require.NoError(t, err)

	for search, want := range map[string][]string{
		"":           {"t0", "t1", "t2"},
		"school":     {"t0"}, // name and domain, counted once
		"SCHOOL.ORG": {"t0"}, // a domain, case-insensitively
		"t1":         {"t1"}, // schema
		"a_s":        {"t1"}, // _ is literal: not Alpha School
		"0%":         {"t2"}, // % is literal
		"%":          {"t2"}, // only names that contain a %
		"nothing":    nil,
	} {
		p, err := s.SearchTenants(ctx, provision.Query{Search: search})
		require.NoError(t, err)
		var got []string
		for _, tn := range p.Items {
			got = append(got, tn.Schema)
		}
		assert.Equal(t, want, got, "search %q", search)
		assert.EqualValues(t, len(want), p.Total, "search %q", search)
	}

	p, err := s.SearchTenants(ctx, provision.Query{Limit: 2, Offset: 2})
	require.NoError(t, err)
	require.Len(t, p.Items, 1)
	assert.EqualValues(t, 3, p.Total)
	p, err = s.SearchTenants(ctx, provision.Query{Limit: 2, Offset: 20})
	require.NoError(t, err)
	assert.Empty(t, p.Items)
	assert.EqualValues(t, 3, p.Total)
	p, err = s.SearchTenants(ctx, provision.Query{Offset: 1 << 40})
	require.NoError(t, err)
	assert.Empty(t, p.Items)

	tn, err := s.DescribeTenant(ctx, "t0")
	require.NoError(t, err)
	assert.Equal(t, []string{"t0.example.com", "alpha.school.org"}, tn.Domains)
	assert.Equal(t, "t0.example.com", tn.PrimaryDomain)
	assert.Equal(t, "ready", tn.State)
	_, err = s.DescribeTenant(ctx, "nobody")
	assert.ErrorIs(t, err, provision.ErrNotFound)
}

func TestTenantDomains(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	for _, schema := range []string{"acme", "other"} {
		_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: schema, Name: schema, Domain: schema + ".example.com"})
		require.NoError(t, err)
	}
	_, err := s.AddDomain(ctx, "acme", "www.acme.example.com", false)
	require.NoError(t, err)

	ds, err := s.ListDomains(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, ds, 2)
	assert.Equal(t, "acme.example.com", ds[0].Domain)
	assert.True(t, ds[0].IsPrimary)

	dm, err := s.SetPrimaryDomain(ctx, "acme", "WWW.acme.example.com")
	require.NoError(t, err)
	assert.True(t, dm.IsPrimary)
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains WHERE is_primary AND domain = 'www.acme.example.com'"))
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains d JOIN clients c ON c.id = d.client_id WHERE c.schema_name = 'acme' AND d.is_primary"))
	_, err = s.SetPrimaryDomain(ctx, "acme", "www.acme.example.com") // already primary
	require.NoError(t, err)

	_, err = s.SetPrimaryDomain(ctx, "acme", "other.example.com")
	assert.ErrorIs(t, err, provision.ErrNotFound, "another tenant's domain")
	_, err = s.SetPrimaryDomain(ctx, "nobody", "acme.example.com")
	assert.ErrorIs(t, err, provision.ErrNotFound)
	_, err = s.ListDomains(ctx, "nobody")
	assert.ErrorIs(t, err, provision.ErrNotFound)

	assert.ErrorIs(t, s.RemoveTenantDomain(ctx, "acme", "other.example.com"), provision.ErrNotFound)
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains WHERE domain = 'other.example.com'"))
	require.NoError(t, s.RemoveTenantDomain(ctx, "acme", "www.acme.example.com"))
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains WHERE is_primary AND domain = 'acme.example.com'"),
		"the remaining domain became primary")
	assert.ErrorIs(t, s.RemoveTenantDomain(ctx, "acme", "www.acme.example.com"), provision.ErrNotFound)
	var fe *provision.FieldError
	assert.ErrorAs(t, s.RemoveTenantDomain(ctx, "acme", "bad domain"), &fe)
}

func TestValidateTenant(t *testing.T) {
	fields := func(p provision.TenantParams) []string {
		var out []string
		for _, fe := range provision.ValidateTenant(p) {
			out = append(out, fe.Field)
		}
		return out
	}
	assert.Empty(t, fields(provision.TenantParams{Schema: "ok", Name: "OK", Domain: "ok.example.com",
		Admin: &provision.UserParams{Username: "boss", Password: "longenough"}}))
	assert.Equal(t, []string{"schema_name", "name", "domain"}, fields(provision.TenantParams{}))
	assert.Equal(t, []string{"schema_name", "admin_username", "admin_password"}, fields(provision.TenantParams{
		Schema: "Bad!", Name: "X", Domain: "x.example.com", Admin: &provision.UserParams{Password: "short"}}))
	assert.Equal(t, []string{"admin_email"}, fields(provision.TenantParams{
		Schema: "ok", Name: "X", Domain: "x.example.com", Admin: &provision.UserParams{Username: "b", Email: "nope", Password: "longenough"}}))
}
