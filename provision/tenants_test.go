package provision_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/dbtest"
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

// TestTenantPageMany pages and searches thousands of tenants (rows only, no
// schemas) and checks every answer against the same question asked in
// plain SQL: deep pages, the orderings, and searches that the trigram
// indexes serve (names, schema names, domains, several terms).
func TestTenantPageMany(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	_, err := d.Pool.Exec(ctx, `
		INSERT INTO clients (schema_name, name, state, created_at)
		SELECT 't' || i, CASE WHEN i % 10 = 0 THEN 'Kilo Store ' || i ELSE 'Tenant ' || md5(i::text) END, 'ready',
		       timestamptz '2026-01-01' + i * interval '1 minute'
		FROM generate_series(1, 3000) i`)
	require.NoError(t, err)
	_, err = d.Pool.Exec(ctx, `
		INSERT INTO domains (domain, client_id, is_primary)
		SELECT schema_name || '.example.com', id, true FROM clients
		UNION ALL
		SELECT 'www-' || schema_name || '.shop.example.org', id, false FROM clients WHERE substr(schema_name, 2)::int % 7 = 0`)
	require.NoError(t, err)

	schemas := func(sql string, args ...any) []string {
		t.Helper()
		rows, err := d.Pool.Query(ctx, sql, args...)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	page := func(patterns []string, order [3]string, lim int32, off int64) ([]string, int64) {
		t.Helper()
		got := []string{}
		var total int64
		err := db.InPublic(ctx, d.Pool, func(q *publicdb.Queries) error {
			items, n, err := provision.TenantPage(ctx, q, patterns, order, lim, off)
			for _, it := range items {
				got = append(got, it.Schema)
				if it.Schema == "t14" {
					assert.Equal(t, []string{"t14.example.com", "www-t14.shop.example.org"}, it.Domains)
					assert.Equal(t, "t14.example.com", it.PrimaryDomain)
				}
			}
			total = n
			return err
		})
		require.NoError(t, err)
		return got, total
	}
	// matching is the SQL answer: tenants matching every pattern in the
	// name, the schema name or a domain.
	const matching = `
		SELECT c.schema_name FROM clients c
		WHERE NOT EXISTS (SELECT 1 FROM unnest($1::text[]) p
		                  WHERE NOT (c.name ILIKE p OR c.schema_name ILIKE p
		                             OR EXISTS (SELECT 1 FROM domains d WHERE d.client_id = c.id AND d.domain ILIKE p)))`

	t.Run("DeepPage", func(t *testing.T) {
		got, total := page(nil, [3]string{}, 25, 2990)
		assert.EqualValues(t, 3000, total)
		assert.Equal(t, schemas("SELECT schema_name FROM clients ORDER BY schema_name OFFSET 2990"), got)
		require.Len(t, got, 10)
	})
	t.Run("PastTheEnd", func(t *testing.T) {
		got, total := page(nil, [3]string{}, 25, 3000)
		assert.Empty(t, got)
		assert.Zero(t, total)
	})
	t.Run("DeepPageOrdered", func(t *testing.T) {
		got, total := page(nil, [3]string{"-name", "created_at"}, 25, 2980)
		assert.EqualValues(t, 3000, total)
		assert.Equal(t, schemas("SELECT schema_name FROM clients ORDER BY name DESC, created_at, schema_name OFFSET 2980"), got)
	})
	for _, tc := range []struct {
		name     string
		patterns []string
		order    [3]string
		off      int64
		matches  int // in all, as plain SQL counts them
	}{
		{"Name", []string{"%kilo store 12%"}, [3]string{}, 0, 11},           // 120 and 1200 to 1290
		{"NameDeep", []string{"%KILO%"}, [3]string{"-id"}, 290, 300},        // case-insensitively; the last page
		{"Domain", []string{"%shop.example.org%"}, [3]string{}, 400, 428},   // every 7th tenant
		{"Schema", []string{"%t299%"}, [3]string{}, 0, 11},                  // t299, t2990 to t2999
		{"TwoTerms", []string{"%t14%", "%shop%"}, [3]string{"name"}, 0, 18}, // t14, t140, t147 and 15 of t1400 to t1499
		{"None", []string{"%nothing here%"}, [3]string{}, 0, 0},
	} {
		t.Run("Search"+tc.name, func(t *testing.T) {
			var all int
			require.NoError(t, d.Pool.QueryRow(ctx, "SELECT count(*) FROM ("+matching+") m", tc.patterns).Scan(&all))
			require.Equal(t, tc.matches, all)
			want := schemas(matching+" ORDER BY "+sqlOrder(tc.order)+" OFFSET $2 LIMIT 25", tc.patterns, tc.off)
			got, total := page(tc.patterns, tc.order, 25, tc.off)
			assert.Equal(t, want, got)
			if len(got) > 0 {
				assert.EqualValues(t, all, total)
			}
		})
	}
}

// sqlOrder is the ORDER BY of TenantPage's ordering keys, in plain SQL.
func sqlOrder(order [3]string) string {
	var keys []string
	for _, k := range order {
		switch {
		case k == "":
		case strings.HasPrefix(k, "-"):
			keys = append(keys, "c."+k[1:]+" DESC")
		default:
			keys = append(keys, "c."+k)
		}
	}
	return strings.Join(append(keys, "c.schema_name"), ", ")
}
