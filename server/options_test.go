package server_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMethodNotAllowedAllow(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	for _, c := range []struct {
		name, method, host, path, allow string
	}{
		{"TokenGet", "GET", school1, "/api/token/", "POST, OPTIONS"},
		{"TokenNoSlash", "PUT", school1, "/api/token", "POST, OPTIONS"},
		{"VerifyGet", "GET", school1, "/api/token/verify/", "POST, OPTIONS"},
		{"ItemsDelete", "DELETE", school1, "/api/items/", "GET, POST, HEAD, OPTIONS"},
		{"ItemPost", "POST", school1, "/api/items/7/", "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"},
		{"ProfilePost", "POST", school1, "/api/profile/", "GET, HEAD, OPTIONS"},
		{"HealthPost", "POST", school1, "/health/", "GET, HEAD, OPTIONS"},
		{"SchemaDelete", "DELETE", public, "/api/schema/", "GET, HEAD, OPTIONS"},
		{"AdminTenantsPut", "PUT", public, "/api/admin/tenants/", "GET, POST, HEAD, OPTIONS"},
		{"WelcomePost", "POST", public, "/", "GET, HEAD, OPTIONS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.do(req{method: c.method, host: c.host, path: c.path, bearer: tok})
			require.Equal(t, 405, r.status, "%s", r.body)
			assert.Equal(t, c.allow, r.header.Get("Allow"))
			assert.Equal(t, fmt.Sprintf("Method %q not allowed.", c.method), r.json(t)["detail"])
		})
	}
}

func TestOptionsMetadata(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	r := e.do(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "Chalk"}, bearer: tok})
	require.Equal(t, 201, r.status)
	itemPath := fmt.Sprintf("/api/items/%d/", int64(r.json(t)["id"].(float64)))
	parses := []any{"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
	itemFields := map[string]any{
		"id":                  map[string]any{"type": "integer", "required": false, "read_only": true, "label": "ID"},
		"name":                map[string]any{"type": "string", "required": true, "read_only": false, "label": "Name", "max_length": float64(200)},
		"description":         map[string]any{"type": "string", "required": false, "read_only": false, "label": "Description"},
		"created_by":          map[string]any{"type": "integer", "required": false, "read_only": true, "label": "Created by"},
		"created_by_username": map[string]any{"type": "string", "required": false, "read_only": true, "label": "Created by username"},
		"created_at":          map[string]any{"type": "datetime", "required": false, "read_only": true, "label": "Created at"},
		"updated_at":          map[string]any{"type": "datetime", "required": false, "read_only": true, "label": "Updated at"},
	}
	input := func(label string) map[string]any {
		return map[string]any{"type": "string", "required": true, "read_only": false, "label": label}
	}
	opts := func(host, path, bearer string) req {
		return req{method: "OPTIONS", host: host, path: path, bearer: bearer}
	}
	for _, c := range []struct {
		name    string
		req     req
		status  int
		allow   string
		want    map[string]any // keys that must be in the body, with these values
		actions any            // the whole "actions", nil for none
	}{
		{"OKItems", opts(school1, "/api/items/", tok), 200, "GET, POST, HEAD, OPTIONS",
			map[string]any{"name": "Item List", "renders": []any{"application/json"}, "parses": parses},
			map[string]any{"POST": itemFields}},
		{"OKItemsNoSlash", opts(school1, "/api/items", tok), 200, "GET, POST, HEAD, OPTIONS", map[string]any{"name": "Item List"},
			map[string]any{"POST": itemFields}},
		{"OKItem", opts(school1, itemPath, tok), 200, "GET, PUT, PATCH, DELETE, HEAD, OPTIONS", map[string]any{"name": "Item Instance"},
			map[string]any{"PUT": itemFields}},
		{"OKUnknownItemNoActions", opts(school1, "/api/items/999999/", tok), 200, "GET, PUT, PATCH, DELETE, HEAD, OPTIONS", nil, nil},
		{"OKProfileNoActions", opts(school1, "/api/profile/", tok), 200, "GET, HEAD, OPTIONS", map[string]any{"name": "Profile"}, nil},
		{"OKTokenWithoutAuth", opts(school1, "/api/token/", ""), 200, "POST, OPTIONS", map[string]any{"name": "Token Obtain Pair"},
			map[string]any{"POST": map[string]any{"username": input("Username"), "password": input("Password")}}},
		{"OKVerify", opts(school1, "/api/token/verify/", ""), 200, "POST, OPTIONS", map[string]any{"name": "Token Verify"},
			map[string]any{"POST": map[string]any{"token": input("Token")}}},
		{"OKRefresh", opts(school1, "/api/token/refresh/", ""), 200, "POST, OPTIONS", nil,
			map[string]any{"POST": map[string]any{"refresh": input("Refresh"),
				"access": map[string]any{"type": "string", "required": false, "read_only": true, "label": "Access"}}}},
		{"OKHealth", opts(school1, "/health/", ""), 200, "GET, HEAD, OPTIONS", map[string]any{"name": "Health"}, nil},
		{"ErrItemsWithoutToken", opts(school1, "/api/items/", ""), 401, "GET, POST, HEAD, OPTIONS",
			map[string]any{"detail": "Authentication credentials were not provided."}, nil},
		{"ErrItemsOtherTenantToken", opts(school2, "/api/items/", tok), 403, "GET, POST, HEAD, OPTIONS", map[string]any{"error": "Invalid token for this tenant"}, nil},
		{"ErrAdminWithoutToken", opts(public, "/api/admin/tenants/", ""), 401, "GET, POST, HEAD, OPTIONS", nil, nil},
		{"ErrAdminWithTenantToken", opts(public, "/api/admin/tenants/", tok), 403, "GET, POST, HEAD, OPTIONS", nil, nil},
		{"ErrUnknownPath", opts(school1, "/api/nothing/", tok), 404, "", map[string]any{"detail": "Not found."}, nil},
		{"ErrTenantPathOnPublicHost", opts(public, "/api/items/", tok), 404, "", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.do(c.req)
			require.Equal(t, c.status, r.status, "%s", r.body)
			assert.Equal(t, c.allow, r.header.Get("Allow"))
			body := r.json(t)
			for k, v := range c.want {
				assert.Equal(t, v, body[k], "key %q in %s", k, r.body)
			}
			if r.status == 200 {
				assert.Equal(t, c.actions, body["actions"], "%s", r.body)
				assert.Contains(t, body, "description")
			}
		})
	}

	t.Run("OKFieldOrder", func(t *testing.T) {
		e.t = t
		r := e.do(opts(school1, "/api/token/", ""))
		assert.Contains(t, string(r.body), `"actions":{"POST":{"username":{"type":"string","required":true,"read_only":false,"label":"Username"},"password":`)
	})

	t.Run("OKPreflightStillCORS", func(t *testing.T) {
		e.t = t
		r := e.do(req{method: "OPTIONS", host: school1, path: "/api/items/", header: http.Header{
			"Origin": {"http://localhost:3000"}, "Access-Control-Request-Method": {"POST"},
		}})
		require.Equal(t, 200, r.status)
		assert.Equal(t, "http://localhost:3000", r.header.Get("Access-Control-Allow-Origin"))
		assert.NotEmpty(t, r.header.Get("Access-Control-Allow-Methods"))
		assert.Empty(t, r.body, "a preflight needs no token and gets no metadata")
	})

	t.Run("OKOptionsWithOriginIsMetadata", func(t *testing.T) {
		e.t = t
		r := e.do(req{method: "OPTIONS", host: school1, path: "/api/token/", header: http.Header{"Origin": {"http://localhost:3000"}}})
		require.Equal(t, 200, r.status)
		assert.Equal(t, "http://localhost:3000", r.header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "Token Obtain Pair", r.json(t)["name"])
	})
}
