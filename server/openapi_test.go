package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// loadOpenAPI loads and validates server/openapi.yaml and builds a router.
func loadOpenAPI(t *testing.T) (*openapi3.T, []byte, routers.Router) {
	t.Helper()
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatalf("read openapi.yaml: %v", err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return doc, data, router
}

// sample is one response to check against the document.
type sample struct {
	name        string
	method      string
	url         string
	status      int
	header      map[string]string // response headers; Content-Type defaults to application/json
	body        string
	contentType string
}

func validateSample(t *testing.T, router routers.Router, s sample) error {
	t.Helper()
	req := httptest.NewRequest(s.method, s.url, nil)
	route, pathParams, err := router.FindRoute(req)
	if errors.Is(err, routers.ErrMethodNotAllowed) && s.status == http.StatusMethodNotAllowed {
		// A method the path does not document has no operation to validate
		// against: use the 405 response of one the path does have.
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if route, pathParams, err = router.FindRoute(httptest.NewRequest(m, s.url, nil)); err == nil {
				break
			}
		}
	}
	if err != nil {
		t.Fatalf("%s: no route for %s %s: %v", s.name, s.method, s.url, err)
	}
	h := http.Header{}
	ct := s.contentType
	if ct == "" && s.body != "" {
		ct = "application/json"
	}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	for k, v := range s.header {
		h.Set(k, v)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: pathParams,
			Route:      route,
		},
		Status: s.status,
		Header: h,
		Body:   io.NopCloser(strings.NewReader(s.body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

const sampleItem = `{"id": 1, "name": "First", "description": "", "created_by": 3,
	"created_by_username": "demo", "created_at": "2025-01-02T03:04:05.123456Z",
	"updated_at": "2025-01-02T03:04:05Z"}`

const sampleAdminTenant = `{"id": 1, "schema_name": "acme", "name": "ACME", "state": "ready", "on_trial": true,
	"paid_until": "2030-01-31", "created_at": "2025-01-02T03:04:05Z", "primary_domain": "acme.localhost", "domains": ["acme.localhost"], "deleted_at": null}`

const sampleAdminUser = `{"id": 3, "username": "boss", "email": "", "is_staff": true, "is_active": false,
	"date_joined": "2025-01-02T03:04:05Z", "last_login": null, "role": "admin", "email_verified": false}`

func TestOpenAPIDocumentValidates(t *testing.T) {
	doc, _, _ := loadOpenAPI(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if doc.Info == nil || doc.Info.Title != "tenantctl API" || doc.Info.Version != "1.0.0" {
		t.Errorf("info = %+v", doc.Info)
	}
	if doc.Info != nil && !strings.Contains(doc.Info.Description, "Host") {
		t.Errorf("info.description does not explain Host-header tenant selection")
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/" {
		t.Errorf("servers = %v, want [{url: /}]", doc.Servers)
	}
	if doc.Components == nil || doc.Components.SecuritySchemes["bearerAuth"] == nil {
		t.Fatalf("no bearerAuth security scheme")
	}
	if ss := doc.Components.SecuritySchemes["bearerAuth"].Value; ss.Type != "http" || ss.Scheme != "bearer" || ss.BearerFormat != "JWT" {
		t.Errorf("bearerAuth = %+v", ss)
	}
	if doc.Components.SecuritySchemes["adminAuth"] == nil {
		t.Fatalf("no adminAuth security scheme")
	}
	if ss := doc.Components.SecuritySchemes["adminAuth"].Value; ss.Type != "http" || ss.Scheme != "bearer" || ss.BearerFormat != "JWT" {
		t.Errorf("adminAuth = %+v", ss)
	}

	if ss := doc.Components.SecuritySchemes["ApiKey"]; ss == nil || ss.Value.Type != "apiKey" || ss.Value.In != "header" || ss.Value.Name != "Authorization" {
		t.Errorf("ApiKey security scheme = %+v, want an apiKey in the Authorization header", ss)
	}

	wantPaths := []string{
		"/api/api-keys/", "/api/api-keys/{id}/",
		"/", "/health/", "/ready/", "/api/schema/",
		"/api/docs/", "/api/token/", "/api/token/refresh/", "/api/token/blacklist/", "/api/token/verify/",
		"/api/items/", "/api/items/{id}/", "/api/profile/", "/api/users/", "/api/users/{id}/",
		"/api/admin/token/", "/api/admin/tenants/", "/api/admin/tenants/{schema}/",
		"/api/admin/tenants/{schema}/domains/", "/api/admin/tenants/{schema}/domains/{domain}/",
		"/api/admin/tenants/{schema}/users/", "/api/admin/tenants/{schema}/users/{id}/",
		"/api/admin/tenants/{schema}/users/{id}/set_password/",
	}
	for _, p := range wantPaths {
		if doc.Paths.Find(p) == nil {
			t.Errorf("path %s is not documented", p)
		}
	}
	// authed: the paths that need a user's access token, and whether an
	// API key may stand in for it (the ApiKey scheme as an alternative).
	authed := map[string]bool{"/api/items/": true, "/api/items/{id}/": true, "/api/profile/": true,
		"/api/users/": true, "/api/users/{id}/": true, "/api/invitations/": true, "/api/invitations/{id}/": true,
		"/api/audit/": true, "/api/password/change/": false, "/api/email/verify/resend/": false,
		"/api/api-keys/": false, "/api/api-keys/{id}/": false,
		"/api/webhooks/": true, "/api/webhooks/{id}/": true, "/api/webhooks/{id}/deliveries/": true, "/api/webhooks/{id}/test/": true}
	bearerOrKey := func(path string, sec openapi3.SecurityRequirements) bool {
		keyable, ok := authed[path]
		if !ok || len(sec) == 0 || sec[0]["bearerAuth"] == nil {
			return false
		}
		if keyable {
			return len(sec) == 2 && sec[1]["ApiKey"] != nil
		}
		return len(sec) == 1
	}
	// Every admin path but the token endpoint needs a superuser's admin token.
	adminAuthed := func(p string) bool {
		return strings.HasPrefix(p, "/api/admin/") && p != "/api/admin/token/"
	}
	tenantPath := func(p string) bool {
		return strings.HasPrefix(p, "/api/") && p != "/api/schema/" && p != "/api/docs/"
	}
	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		if !strings.HasSuffix(path, "/") {
			t.Errorf("path %s lacks its trailing slash", path)
		}
		if strings.HasPrefix(path, "/admin") {
			t.Errorf("path %s is the HTML admin, not API", path)
		}
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" || op.Summary == "" || len(op.Tags) == 0 {
				t.Errorf("%s: operationId, summary and tags are required", where)
			}
			if ids[op.OperationID] {
				t.Errorf("%s: duplicate operationId %s", where, op.OperationID)
			}
			ids[op.OperationID] = true
			if op.Security == nil {
				t.Errorf("%s: security must be explicit", where)
			} else if _, ok := authed[path]; ok != bearerOrKey(path, *op.Security) {
				t.Errorf("%s: security = %v", where, *op.Security)
			} else if adminAuthed(path) != (len(*op.Security) == 1 && (*op.Security)[0]["adminAuth"] != nil) {
				t.Errorf("%s: security = %v, want adminAuth", where, *op.Security)
			}
			if strings.HasPrefix(path, "/api/admin/") && !slices.Contains(op.Tags, "admin") {
				t.Errorf("%s: tags = %v, want admin", where, op.Tags)
			}
			for _, code := range []int{400, 405, 500} {
				if op.Responses.Status(code) == nil {
					t.Errorf("%s: no %d response", where, code)
				}
			}
			if tenantPath(path) {
				for _, code := range []int{404, 503} {
					if op.Responses.Status(code) == nil {
						t.Errorf("%s: no %d response", where, code)
					}
				}
			}
			if _, ok := authed[path]; ok || adminAuthed(path) {
				for _, code := range []int{401, 403} {
					if op.Responses.Status(code) == nil {
						t.Errorf("%s: no %d response", where, code)
					}
				}
			}
			if op.RequestBody != nil {
				for _, code := range []int{413, 415} {
					if op.Responses.Status(code) == nil {
						t.Errorf("%s: no %d response", where, code)
					}
				}
			}
		}
	}
}

func TestOpenAPISampleResponses(t *testing.T) {
	doc, raw, router := loadOpenAPI(t)
	docJSON, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	host := "http://school1.localhost:8000"
	unauth := map[string]string{"WWW-Authenticate": "Bearer"}

	good := []sample{
		{name: "item", method: "GET", url: host + "/api/items/7/", status: 200, body: sampleItem},
		{name: "item with deleted creator", method: "GET", url: host + "/api/items/7/", status: 200,
			body: `{"id": 7, "name": "x", "description": "d", "created_by": null, "created_by_username": null,
				"created_at": "2025-01-02T03:04:05+02:00", "updated_at": "2025-01-02T03:04:05Z"}`},
		{name: "created item", method: "POST", url: host + "/api/items/", status: 201, body: sampleItem},
		{name: "put item", method: "PUT", url: host + "/api/items/7/", status: 200, body: sampleItem},
		{name: "patch item", method: "PATCH", url: host + "/api/items/7/", status: 200, body: sampleItem},
		{name: "deleted item", method: "DELETE", url: host + "/api/items/7/", status: 204},
		{name: "page", method: "GET", url: host + "/api/items/?page=2", status: 200,
			body: `{"count": 45, "next": "http://school1.localhost:8000/api/items/?page=3",
				"previous": "http://school1.localhost:8000/api/items/", "results": [` + sampleItem + `]}`},
		{name: "empty page", method: "GET", url: host + "/api/items/", status: 200,
			body: `{"count": 0, "next": null, "previous": null, "results": []}`},
		{name: "invalid page", method: "GET", url: host + "/api/items/?page=x", status: 404, body: `{"detail": "Invalid page."}`},
		{name: "item not found", method: "GET", url: host + "/api/items/99/", status: 404, body: `{"detail": "Not found."}`},
		{name: "field errors", method: "POST", url: host + "/api/items/", status: 400,
			body: `{"name": ["This field is required."]}`},
		{name: "bad JSON", method: "PATCH", url: host + "/api/items/7/", status: 400,
			body: `{"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}`},
		{name: "missing credentials", method: "GET", url: host + "/api/items/", status: 401, header: unauth,
			body: `{"detail": "Authentication credentials were not provided."}`},
		{name: "bad token", method: "GET", url: host + "/api/profile/", status: 401,
			body: `{"detail": "Given token not valid for any token type", "code": "token_not_valid"}`},
		{name: "cross tenant", method: "GET", url: host + "/api/profile/", status: 403,
			body: `{"error": "Invalid token for this tenant", "detail": "This token cannot be used on this domain"}`},
		{name: "profile", method: "GET", url: host + "/api/profile/", status: 200,
			body: `{"id": 1, "username": "demo", "email": "", "tenant_schema": "school1", "is_staff": false,
				"date_joined": "2025-01-02T03:04:05Z", "role": "owner", "email_verified": false}`},
		{name: "method not allowed", method: "GET", url: host + "/api/token/", status: 405,
			body: `{"detail": "Method \"GET\" not allowed."}`, header: map[string]string{"Allow": "POST, OPTIONS"}},
		{name: "token pair", method: "POST", url: host + "/api/token/", status: 200, body: `{"access": "a.b.c", "refresh": "d.e.f"}`},
		{name: "token missing field", method: "POST", url: host + "/api/token/", status: 400,
			body: `{"username": ["This field is required."], "password": ["This field is required."]}`},
		{name: "bad credentials", method: "POST", url: host + "/api/token/", status: 401,
			body: `{"detail": "No active account found with the given credentials"}`},
		{name: "throttled", method: "POST", url: host + "/api/token/", status: 429,
			header: map[string]string{"Retry-After": "60"}, body: `{"detail": "Request was throttled."}`},
		{name: "refreshed", method: "POST", url: host + "/api/token/refresh/", status: 200, body: `{"access": "a", "refresh": "r"}`},
		{name: "refresh invalid", method: "POST", url: host + "/api/token/refresh/", status: 401,
			body: `{"detail": "Token is invalid or expired", "code": "token_not_valid"}`},
		{name: "blacklisted", method: "POST", url: host + "/api/token/blacklist/", status: 200, body: `{}`},
		{name: "verified", method: "POST", url: host + "/api/token/verify/", status: 200, body: `{}`},
		{name: "verify invalid", method: "POST", url: host + "/api/token/verify/", status: 401,
			body: `{"detail": "Token is invalid or expired", "code": "token_not_valid"}`},
		{name: "verify blacklisted", method: "POST", url: host + "/api/token/verify/", status: 400,
			body: `{"non_field_errors": ["Token is blacklisted"]}`},
		{name: "bad token with messages", method: "GET", url: host + "/api/items/", status: 401,
			body: `{"detail": "Given token not valid for any token type", "code": "token_not_valid",
				"messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}`},
		{name: "docs page", method: "GET", url: host + "/api/docs/", status: 200,
			contentType: "text/html; charset=utf-8", body: "<!doctype html><title>x</title>"},
		{name: "tenant path on public host", method: "GET", url: "http://localhost:8000/api/profile/", status: 404,
			body: `{"detail": "Not found."}`},
		{name: "bad host", method: "GET", url: "http://evil.example/api/items/", status: 400,
			body: `{"detail": "Invalid HTTP_HOST header: 'evil.example'. You may need to add 'evil.example' to ALLOWED_HOSTS."}`},
		{name: "body too large", method: "POST", url: host + "/api/items/", status: 413, body: `{"detail": "Request body is too large."}`},
		{name: "unavailable", method: "GET", url: host + "/api/items/", status: 503, body: `{"detail": "Service temporarily unavailable."}`},
		{name: "welcome", method: "GET", url: "http://localhost:8000/", status: 200,
			body: `{"name": "tenantctl", "version": "1.0.0", "message": "Welcome", "links": {"schema": "/api/schema/"}}`},
		{name: "health", method: "GET", url: "http://localhost:8000/health/", status: 200, body: `{"status": "ok"}`},
		{name: "ready", method: "GET", url: "http://localhost:8000/ready/", status: 200, body: `{"status": "ok", "database": "ok"}`},
		{name: "not ready", method: "GET", url: "http://localhost:8000/ready/", status: 503,
			body: `{"status": "unavailable", "database": "connection refused"}`},
		{name: "admin token", method: "POST", url: "http://localhost:8000/api/admin/token/", status: 200, body: `{"access": "a.b.c"}`},
		{name: "admin tenants", method: "GET", url: "http://localhost:8000/api/admin/tenants/?search=acme", status: 200,
			body: `{"count": 1, "next": null, "previous": null, "results": [` + sampleAdminTenant + `]}`},
		{name: "admin tenant created", method: "POST", url: "http://localhost:8000/api/admin/tenants/", status: 201, body: sampleAdminTenant},
		{name: "admin tenant without domains", method: "GET", url: "http://localhost:8000/api/admin/tenants/acme/", status: 200,
			body: `{"id": 1, "schema_name": "acme", "name": "A", "state": "provisioning", "on_trial": false, "paid_until": null,
				"created_at": "2025-01-02T03:04:05Z", "primary_domain": null, "domains": [], "deleted_at": null}`},
		{name: "admin tenant deleted", method: "DELETE", url: "http://localhost:8000/api/admin/tenants/acme/", status: 204},
		{name: "admin tenant deleted softly", method: "DELETE", url: "http://localhost:8000/api/admin/tenants/acme/?soft=true", status: 204},
		{name: "admin tenant restored", method: "POST", url: "http://localhost:8000/api/admin/tenants/acme/restore/", status: 200, body: sampleAdminTenant},
		{name: "admin tenant softly deleted shown", method: "GET", url: "http://localhost:8000/api/admin/tenants/acme/", status: 200,
			body: `{"id": 1, "schema_name": "acme", "name": "A", "state": "ready", "on_trial": false, "paid_until": null,
				"created_at": "2025-01-02T03:04:05Z", "primary_domain": "acme.localhost", "domains": ["acme.localhost"], "deleted_at": "2025-02-03T04:05:06.123456Z"}`},
		{name: "admin domains", method: "GET", url: "http://localhost:8000/api/admin/tenants/acme/domains/", status: 200,
			body: `[{"domain": "acme.localhost", "is_primary": true, "created_at": "2025-01-02T03:04:05Z"}]`},
		{name: "admin domain primary", method: "PATCH", url: "http://localhost:8000/api/admin/tenants/acme/domains/acme.localhost/", status: 200,
			body: `{"domain": "acme.localhost", "is_primary": true, "created_at": "2025-01-02T03:04:05Z"}`},
		{name: "admin users", method: "GET", url: "http://localhost:8000/api/admin/tenants/acme/users/?page=2", status: 200,
			body: `{"count": 21, "next": null, "previous": "http://localhost:8000/api/admin/tenants/acme/users/", "results": [` + sampleAdminUser + `]}`},
		{name: "admin user password", method: "POST", url: "http://localhost:8000/api/admin/tenants/acme/users/3/set_password/", status: 200,
			body: sampleAdminUser},
		{name: "admin forbidden", method: "GET", url: "http://localhost:8000/api/admin/tenants/", status: 403,
			body: `{"detail": "You do not have permission to perform this action."}`},
		{name: "admin field errors", method: "POST", url: "http://localhost:8000/api/admin/tenants/", status: 400,
			body: `{"schema_name": ["This field is required."], "domain": ["This field is required."]}`},
		{name: "schema yaml", method: "GET", url: host + "/api/schema/", status: 200,
			contentType: "application/vnd.oai.openapi; charset=utf-8", body: string(raw)},
		{name: "schema json", method: "GET", url: "http://localhost:8000/api/schema/?format=json", status: 200,
			body: string(docJSON)},
	}
	for _, s := range good {
		if err := validateSample(t, router, s); err != nil {
			t.Errorf("%s: valid response rejected: %v", s.name, err)
		}
	}

	bad := []sample{
		{name: "item missing created_at", method: "GET", url: host + "/api/items/7/", status: 200,
			body: `{"id": 1, "name": "x", "description": "", "created_by": 3, "created_by_username": "demo",
				"updated_at": "2025-01-02T03:04:05Z"}`},
		{name: "item with extra key", method: "GET", url: host + "/api/items/7/", status: 200,
			body: strings.Replace(sampleItem, `"id": 1,`, `"id": 1, "owner": "demo",`, 1)},
		{name: "item with a bad time", method: "GET", url: host + "/api/items/7/", status: 200,
			body: strings.Replace(sampleItem, `"2025-01-02T03:04:05Z"`, `"yesterday"`, 1)},
		{name: "item with string id", method: "GET", url: host + "/api/items/7/", status: 200,
			body: strings.Replace(sampleItem, `"id": 1,`, `"id": "1",`, 1)},
		{name: "page whose next is a number", method: "GET", url: host + "/api/items/", status: 200,
			body: `{"count": 45, "next": 2, "previous": null, "results": []}`},
		{name: "page without previous", method: "GET", url: host + "/api/items/", status: 200,
			body: `{"count": 0, "next": null, "results": []}`},
		{name: "token error without code", method: "POST", url: host + "/api/token/refresh/", status: 401,
			body: `{"detail": "Token is invalid or expired"}`},
		{name: "401 with an extra key", method: "GET", url: host + "/api/items/", status: 401,
			body: `{"detail": "x", "code": "token_not_valid", "extra": 1}`},
		{name: "cross tenant wording", method: "GET", url: host + "/api/items/", status: 403,
			body: `{"error": "Forbidden", "detail": "This token cannot be used on this domain"}`},
		{name: "blacklist non-empty", method: "POST", url: host + "/api/token/blacklist/", status: 200, body: `{"ok": true}`},
		{name: "token pair missing refresh", method: "POST", url: host + "/api/token/", status: 200, body: `{"access": "a"}`},
		{name: "throttled without Retry-After", method: "POST", url: host + "/api/token/", status: 429,
			body: `{"detail": "Request was throttled."}`},
		{name: "field errors not a list", method: "POST", url: host + "/api/items/", status: 400, body: `{"name": "required"}`},
		{name: "undocumented status", method: "GET", url: host + "/api/items/", status: 418, body: `{"detail": "teapot"}`},
		{name: "html error", method: "GET", url: host + "/api/items/7/", status: 404,
			contentType: "text/html", body: "<h1>Not Found</h1>"},
		{name: "health not ok", method: "GET", url: "http://localhost:8000/health/", status: 200, body: `{"status": "degraded"}`},
		{name: "admin tenant without domains list", method: "GET", url: "http://localhost:8000/api/admin/tenants/acme/", status: 200,
			body: strings.Replace(sampleAdminTenant, `"domains": ["acme.localhost"]`, `"domains": null`, 1)},
		{name: "admin tenant with a bad state", method: "GET", url: "http://localhost:8000/api/admin/tenants/acme/", status: 200,
			body: strings.Replace(sampleAdminTenant, `"ready"`, `"deleted"`, 1)},
		{name: "admin user with password hash", method: "GET", url: "http://localhost:8000/api/admin/tenants/acme/users/3/", status: 200,
			body: strings.Replace(sampleAdminUser, `"id": 3,`, `"id": 3, "password_hash": "x",`, 1)},
		{name: "admin token with refresh", method: "POST", url: "http://localhost:8000/api/admin/token/", status: 200,
			body: `{"access": "a", "refresh": "r"}`},
		{name: "profile missing is_staff", method: "GET", url: host + "/api/profile/", status: 200,
			body: `{"id": 1, "username": "demo", "email": "", "tenant_schema": "school1", "date_joined": "2025-01-02T03:04:05Z"}`},
	}
	for _, s := range bad {
		if err := validateSample(t, router, s); err == nil {
			t.Errorf("%s: invalid response accepted", s.name)
		}
	}
}

// TestOpenAPIRouting checks that the router finds every documented
// operation from a plain request (the HTTP tests rely on it).
func TestOpenAPIRouting(t *testing.T) {
	_, _, router := loadOpenAPI(t)
	for _, c := range []struct{ method, url, op string }{
		{"GET", "http://localhost/", "getWelcome"},
		{"GET", "http://localhost/health/", "getHealth"},
		{"GET", "http://localhost/ready/", "getReady"},
		{"GET", "http://x.localhost/api/schema/?format=json", "getSchema"},
		{"POST", "http://x.localhost/api/token/", "obtainToken"},
		{"POST", "http://x.localhost/api/token/refresh/", "refreshToken"},
		{"POST", "http://x.localhost/api/token/blacklist/", "blacklistToken"},
		{"POST", "http://x.localhost/api/token/verify/", "verifyToken"},
		{"GET", "http://x.localhost/api/docs/", "getDocs"},
		{"GET", "http://x.localhost/api/items/?page=3", "listItems"},
		{"POST", "http://x.localhost/api/items/", "createItem"},
		{"GET", "http://x.localhost/api/items/12/", "retrieveItem"},
		{"PUT", "http://x.localhost/api/items/12/", "updateItem"},
		{"PATCH", "http://x.localhost/api/items/12/", "partialUpdateItem"},
		{"DELETE", "http://x.localhost/api/items/12/", "destroyItem"},
		{"GET", "http://x.localhost/api/profile/", "getProfile"},
		{"POST", "http://localhost/api/admin/token/", "obtainAdminToken"},
		{"GET", "http://localhost/api/admin/tenants/?search=a&page=2", "listAdminTenants"},
		{"POST", "http://localhost/api/admin/tenants/", "createAdminTenant"},
		{"GET", "http://localhost/api/admin/tenants/acme/", "retrieveAdminTenant"},
		{"DELETE", "http://localhost/api/admin/tenants/acme/", "destroyAdminTenant"},
		{"GET", "http://localhost/api/admin/tenants/acme/domains/", "listAdminDomains"},
		{"POST", "http://localhost/api/admin/tenants/acme/domains/", "createAdminDomain"},
		{"PATCH", "http://localhost/api/admin/tenants/acme/domains/www.acme.example.com/", "partialUpdateAdminDomain"},
		{"DELETE", "http://localhost/api/admin/tenants/acme/domains/www.acme.example.com/", "destroyAdminDomain"},
		{"GET", "http://localhost/api/admin/tenants/acme/users/", "listAdminUsers"},
		{"POST", "http://localhost/api/admin/tenants/acme/users/", "createAdminUser"},
		{"GET", "http://localhost/api/admin/tenants/acme/users/7/", "retrieveAdminUser"},
		{"PATCH", "http://localhost/api/admin/tenants/acme/users/7/", "partialUpdateAdminUser"},
		{"POST", "http://localhost/api/admin/tenants/acme/users/7/set_password/", "setAdminUserPassword"},
	} {
		req := httptest.NewRequest(c.method, c.url, bytes.NewReader(nil))
		route, _, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s: %v", c.method, c.url, err)
			continue
		}
		if route.Operation.OperationID != c.op {
			t.Errorf("%s %s: operation %s, want %s", c.method, c.url, route.Operation.OperationID, c.op)
		}
	}
}
