package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/provision"
)

func provisionParams(i int) provision.TenantParams {
	return provision.TenantParams{
		Schema: fmt.Sprintf("school%d", i), Name: fmt.Sprintf("School %d", i), Domain: fmt.Sprintf("school%d.localhost", i),
		Admin: &provision.UserParams{Username: "demo", Password: tenantPassword},
	}
}

// tenantPassword is the password of the demo user of the tenants tests
// make with provisionParams: the seed's demo123 is fixed data that only
// tenantctl demo may set (the password rules refuse it).
const tenantPassword = "School-Admin-Pass-9"

// demoPassword is the password of user demo on host: demo123 on the seed's
// tenants, tenantPassword on those made by provisionParams.
func demoPassword(host string) string {
	if host == school1 || host == school2 {
		return provision.DemoPassword
	}
	return tenantPassword
}

func TestPublicHost(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	notFound := map[string]any{"detail": "Not found."}
	e.run(t, []scenario{
		{"OKWelcome", req{method: "GET", host: public, path: "/"}, 200, map[string]any{"name": "tenantctl"}},
		{"OKWelcomeIP", req{method: "GET", host: "127.0.0.1:8000", path: "/"}, 200, nil},
		{"OKHealth", req{method: "GET", host: public, path: "/health/"}, 200, map[string]any{"status": "ok"}},
		{"OKHealthOnTenant", req{method: "GET", host: school1, path: "/health"}, 200, map[string]any{"status": "ok"}},
		{"OKReady", req{method: "GET", host: public, path: "/ready/"}, 200, map[string]any{"status": "ok", "database": "ok"}},
		{"ErrHealthMethod", req{method: "POST", host: school1, path: "/health/"}, 405, map[string]any{"detail": `Method "POST" not allowed.`}},
		{"ErrItemsOnPublic", req{method: "GET", host: public, path: "/api/items/", bearer: tok}, 404, notFound},
		{"ErrTokenOnPublic", req{method: "POST", host: public, path: "/api/token/", body: map[string]string{"username": "demo", "password": "demo123"}}, 404, notFound},
		{"ErrProfileOnPublic", req{method: "GET", host: public, path: "/api/profile/", bearer: tok}, 404, notFound},
		{"ErrUnknownPath", req{method: "GET", host: public, path: "/nope/"}, 404, notFound},
		{"ErrUnknownTenantPath", req{method: "GET", host: school1, path: "/nope/"}, 404, notFound},
		{"ErrHostNotAllowed", req{method: "GET", host: "evil.example.com", path: "/"}, 400,
			map[string]any{"detail": "Invalid HTTP_HOST header: 'evil.example.com'. You may need to add 'evil.example.com' to ALLOWED_HOSTS."}},
		{"ErrHostNotAllowedOnTenantPath", req{method: "GET", host: "evil.example.com", path: "/api/items/"}, 400, nil},
		{"ErrHostMalformed", req{method: "GET", host: "bad_host!:80", path: "/"}, 400, nil},
		// An allowed host that is neither a tenant's nor a public host: the
		// public site is not there, as django-tenants answers an unknown host.
		{"ErrWelcomeOnUnknownHost", req{method: "GET", host: "nobody.localhost:8000", path: "/"}, 404, notFound},
		{"ErrAdminAPIOnUnknownHost", req{method: "POST", host: "nobody.localhost", path: "/api/admin/token/", body: map[string]string{"username": "a", "password": "b"}}, 404, notFound},
		{"ErrAdminUIOnUnknownHost", req{method: "GET", host: "nobody.localhost", path: "/admin/login/"}, 404, notFound},
		{"OKHealthOnUnknownHost", req{method: "GET", host: "nobody.localhost", path: "/health/"}, 200, map[string]any{"status": "ok"}},
		{"OKSchemaOnUnknownHost", req{method: "GET", host: "nobody.localhost", path: "/api/schema/?format=json"}, 200, nil},
	})

	t.Run("Schema", func(t *testing.T) {
		e.t = t
		r := e.do(req{method: "GET", host: public, path: "/api/schema/"})
		require.Equal(t, 200, r.status)
		assert.True(t, strings.HasPrefix(string(r.body), "openapi: 3"))
		r = e.do(req{method: "GET", host: school1, path: "/api/schema/?format=json"})
		require.Equal(t, 200, r.status)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(r.body, &doc))
		assert.Contains(t, doc["paths"], "/api/items/{id}/")
	})
	t.Run("Admin", func(t *testing.T) {
		e.t = t
		r := e.do(req{method: "GET", host: public, path: "/admin/"})
		assert.Equal(t, 200, r.status)
		assert.Contains(t, string(r.body), "tenantctl admin")
	})
}

func TestCORS(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "OPTIONS", host: school1, path: "/api/items/", header: map[string][]string{
		"Origin": {"http://localhost:3000"}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"authorization,content-type"},
	}})
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "http://localhost:3000", r.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, r.header.Get("Access-Control-Allow-Headers"), "authorization")

	r = e.do(req{method: "GET", host: public, path: "/health/", header: map[string][]string{"Origin": {"http://evil.example.com"}}})
	assert.Equal(t, 200, r.status)
	assert.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
	r = e.do(req{method: "GET", host: public, path: "/health/", header: map[string][]string{"Origin": {"http://localhost:8000"}}})
	assert.Equal(t, "http://localhost:8000", r.header.Get("Access-Control-Allow-Origin"))
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	big := `{"name": "x", "description": "` + strings.Repeat("a", 2<<20) + `"}`
	r := e.do(req{method: "POST", host: school1, path: "/api/items/", body: big, ctype: "application/json", bearer: e.demo(school1)})
	assert.Equal(t, 413, r.status)
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.items"))
}

// TestRoutingFollowsProvisioning checks that the host cache never serves a
// stale answer: domains and tenants added or removed take effect at once.
func TestRoutingFollowsProvisioning(t *testing.T) {
	e := newEnv(t)
	// Warm the cache with "not a tenant" for the new domain.
	assert.Equal(t, 404, e.do(req{method: "POST", host: "campus.localhost", path: "/api/token/", body: map[string]string{"username": "demo", "password": "demo123"}}).status)
	_, err := e.prov.AddDomain(t.Context(), "school1", "campus.localhost", false)
	require.NoError(t, err)
	eventually(t, func() bool {
		return e.do(req{method: "POST", host: "campus.localhost", path: "/api/token/", body: map[string]string{"username": "demo", "password": "demo123"}}).status == 200
	})

	tok := e.demo(school2)
	require.Equal(t, 200, e.do(req{method: "GET", host: school2, path: "/api/items/", bearer: tok}).status)
	require.NoError(t, e.prov.DeleteTenant(t.Context(), "school2"))
	eventually(t, func() bool {
		return e.do(req{method: "GET", host: school2, path: "/api/items/", bearer: tok}).status == 404
	})

	// Recreated under the same schema name, the tenant does not honour the
	// old tenant's tokens.
	_, err = e.prov.CreateTenant(t.Context(), provisionParams(2))
	require.NoError(t, err)
	eventually(t, func() bool {
		return e.do(req{method: "GET", host: school2, path: "/api/items/", bearer: tok}).status == 403
	})
}

// eventually polls cond for up to five seconds: cache invalidation arrives
// by NOTIFY, asynchronously.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
