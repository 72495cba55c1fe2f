package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitStatus polls GET path on host with bearer until it answers want, for
// up to a second, and fails the test if it does not.
func (e *env) waitStatus(t *testing.T, host, path, bearer string, want int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	last := 0
	for time.Now().Before(deadline) {
		r, _, _, err := e.send(req{method: "GET", host: host, path: path, bearer: bearer})
		require.NoError(t, err)
		if last = r.status; last == want {
			e.do(req{method: "GET", host: host, path: path, bearer: bearer}) // checked against the OpenAPI document
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("GET %s on %s answered %d, not %d, a second after the change", path, host, last, want)
}

// TestTenantSoftDeleteAPI: DELETE ...?soft=true unroutes the tenant within
// a second and ends its sign-ins, keeps its schema, data and domains
// (reserved); restore brings it back with its data, the old tokens still
// refused; a permanent delete stays immediate.
func TestTenantSoftDeleteAPI(t *testing.T) {
	e := newEnv(t)
	admin := e.adminToken()
	access, refresh := e.login(school1, "demo", demoPassword(school1))
	// The host's answer is cached now.
	require.Equal(t, http.StatusOK, e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: access}).status)
	for _, n := range []string{"kept", "also kept"} {
		r := e.do(req{method: "POST", host: school1, path: "/api/items/", bearer: access, body: map[string]string{"name": n}})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	}
	items := e.count("SELECT count(*) FROM school1.items")
	require.Equal(t, 2, items)
	// Tokens carry whole seconds: let the sign-in's second pass, so that
	// the deletion's cut-off is after it.
	time.Sleep(1100 * time.Millisecond)

	del := func(query string) reply {
		return e.do(req{method: "DELETE", host: public, path: "/api/admin/tenants/school1/" + query, bearer: admin})
	}
	r := del("?soft=maybe")
	require.Equal(t, http.StatusBadRequest, r.status)
	assert.JSONEq(t, `{"soft": ["Must be a valid boolean."]}`, string(r.body))
	assert.Zero(t, e.count("SELECT count(*) FROM clients WHERE deleted_at IS NOT NULL"))

	r = del("?soft=true")
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	e.waitStatus(t, school1, "/api/profile/", access, http.StatusNotFound)
	// Data, schema and domain stay.
	assert.Equal(t, items, e.count("SELECT count(*) FROM school1.items"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'demo'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM domains WHERE domain = 'school1.localhost'"))
	assert.Zero(t, e.count("SELECT count(*) FROM school1.refresh_tokens WHERE revoked_at IS NULL"))
	// Other tenants are untouched.
	assert.Equal(t, http.StatusOK, e.do(req{method: "GET", host: school2, path: "/api/profile/", bearer: e.demo(school2)}).status)

	t.Run("Shown", func(t *testing.T) {
		m := e.do(req{method: "GET", host: public, path: "/api/admin/tenants/school1/", bearer: admin}).json(t)
		at, err := time.Parse(time.RFC3339Nano, m["deleted_at"].(string))
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), at, time.Minute)
		list := e.do(req{method: "GET", host: public, path: "/api/admin/tenants/", bearer: admin}).json(t)
		found := map[string]any{}
		for _, it := range list["results"].([]any) {
			o := it.(map[string]any)
			found[o["schema_name"].(string)] = o["deleted_at"]
		}
		assert.NotNil(t, found["school1"])
		assert.Contains(t, found, "school2")
		assert.Nil(t, found["school2"])
	})
	t.Run("ErrAgain", func(t *testing.T) {
		r := del("?soft=true")
		require.Equal(t, http.StatusBadRequest, r.status)
		assert.JSONEq(t, `{"detail": "This tenant is already deleted: restore it, or delete it permanently."}`, string(r.body))
	})
	t.Run("DomainReserved", func(t *testing.T) {
		r := e.do(req{method: "POST", host: public, path: "/api/admin/tenants/school2/domains/", bearer: admin,
			body: map[string]any{"domain": "school1.localhost"}})
		require.Equal(t, http.StatusBadRequest, r.status)
		assert.Contains(t, r.json(t), "domain")
		r = e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("school1")})
		require.Equal(t, http.StatusBadRequest, r.status)
		assert.JSONEq(t, `{"subdomain": ["This subdomain is already taken."]}`, string(r.body))
	})
	t.Run("ErrRestoreUnknown", func(t *testing.T) {
		r := e.do(req{method: "POST", host: public, path: "/api/admin/tenants/ghost/restore/", bearer: admin})
		assert.Equal(t, http.StatusNotFound, r.status)
		r = e.do(req{method: "DELETE", host: public, path: "/api/admin/tenants/ghost/?soft=true", bearer: admin})
		assert.Equal(t, http.StatusNotFound, r.status)
	})

	r = e.do(req{method: "POST", host: public, path: "/api/admin/tenants/school1/restore/", bearer: admin})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Nil(t, r.json(t)["deleted_at"])
	assert.Equal(t, "school1", r.json(t)["schema_name"])
	// Routable again (the old token is refused: 401, no longer 404).
	e.waitStatus(t, school1, "/api/profile/", access, http.StatusUnauthorized)

	t.Run("OldTokensRefused", func(t *testing.T) {
		r := e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}})
		assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r.body)
	})
	t.Run("SignInAgain", func(t *testing.T) {
		a2, _ := e.login(school1, "demo", demoPassword(school1))
		assert.Equal(t, http.StatusOK, e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: a2}).status)
		r := e.do(req{method: "GET", host: school1, path: "/api/items/", bearer: a2})
		require.Equal(t, http.StatusOK, r.status)
		assert.EqualValues(t, items, r.json(t)["count"])
	})
	t.Run("ErrRestoreLive", func(t *testing.T) {
		r := e.do(req{method: "POST", host: public, path: "/api/admin/tenants/school1/restore/", bearer: admin})
		require.Equal(t, http.StatusBadRequest, r.status)
		assert.JSONEq(t, `{"detail": "This tenant is not deleted: there is nothing to restore."}`, string(r.body))
	})
	t.Run("HardAfterSoft", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent, del("?soft=true").status)
		require.Equal(t, http.StatusNoContent, del("?soft=false").status)
		assert.Zero(t, e.tenantLeftovers("school1"))
		assert.Zero(t, e.count("SELECT count(*) FROM domains WHERE domain = 'school1.localhost'"))
	})
	t.Run("HardImmediate", func(t *testing.T) {
		tok := e.demo(school2)
		r := e.do(req{method: "DELETE", host: public, path: "/api/admin/tenants/school2/", bearer: admin})
		require.Equal(t, http.StatusNoContent, r.status)
		assert.Zero(t, e.tenantLeftovers("school2"))
		e.waitStatus(t, school2, "/api/profile/", tok, http.StatusNotFound)
	})
}
