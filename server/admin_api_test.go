package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/provision"
)

const (
	suName     = "root"
	suPassword = "root-password"
)

// superuser creates a superuser and returns its id.
func (e *env) superuser(username, password string) int64 {
	e.t.Helper()
	su, err := e.prov.CreateSuperuser(e.t.Context(), provision.UserParams{Username: username, Password: password})
	require.NoError(e.t, err)
	return su.ID
}

// adminToken creates the superuser root (once) and returns an admin token.
func (e *env) adminToken() string {
	e.t.Helper()
	if e.count("SELECT count(*) FROM superusers WHERE username = $1", suName) == 0 {
		e.superuser(suName, suPassword)
	}
	r := e.do(req{method: "POST", host: public, path: "/api/admin/token/", body: map[string]string{"username": suName, "password": suPassword}})
	require.Equal(e.t, 200, r.status, "admin token: %s", r.body)
	return r.json(e.t)["access"].(string)
}

// tenantLeftovers counts what a tenant of schema leaves in the database.
func (e *env) tenantLeftovers(schema string) int {
	return e.count("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema) +
		e.count("SELECT count(*) FROM clients WHERE schema_name = $1", schema)
}

func TestAdminToken(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	e.superuser("retired", suPassword)
	e.exec("UPDATE superusers SET is_active = false WHERE username = 'retired'")
	bad := map[string]any{"detail": "No active account found with the given credentials"}
	tok := func(body any) req { return req{method: "POST", host: public, path: "/api/admin/token/", body: body} }
	e.run(t, []scenario{
		{"OK", tok(map[string]string{"username": suName, "password": suPassword}), 200, nil},
		{"OKForm", req{method: "POST", host: public, path: "/api/admin/token", body: "username=root&password=root-password",
			ctype: "application/x-www-form-urlencoded"}, 200, nil},
		{"ErrWrongPassword", tok(map[string]string{"username": suName, "password": "nope"}), 401, bad},
		{"ErrUnknownUser", tok(map[string]string{"username": "nobody", "password": suPassword}), 401, bad},
		{"ErrInactive", tok(map[string]string{"username": "retired", "password": suPassword}), 401, bad},
		{"ErrTenantUser", tok(map[string]string{"username": "demo", "password": "demo123"}), 401, bad},
		{"ErrRequired", tok(map[string]string{}), 400,
			map[string]any{"username": []any{"This field is required."}, "password": []any{"This field is required."}}},
		{"ErrBadJSON", req{method: "POST", host: public, path: "/api/admin/token/", body: `{"username":`, ctype: "application/json"}, 400, nil},
		{"ErrMethod", req{method: "GET", host: public, path: "/api/admin/token/"}, 405, nil},
		{"ErrOnTenantHost", req{method: "POST", host: school1, path: "/api/admin/token/",
			body: map[string]string{"username": suName, "password": suPassword}}, 404, map[string]any{"detail": "Not found."}},
	})
	assert.Equal(t, 1, e.count("SELECT count(*) FROM superusers WHERE username = 'root' AND last_login IS NOT NULL"))
}

func TestAdminTokenThrottle(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	e.superuser("other", suPassword)
	signIn := func(username, password string) reply {
		return e.do(req{method: "POST", host: public, path: "/api/admin/token/", body: map[string]string{"username": username, "password": password}})
	}
	for range 5 {
		require.Equal(t, 401, signIn(suName, "wrong").status)
	}
	r := signIn(suName, suPassword)
	require.Equal(t, 429, r.status, "the right password is refused too while throttled: %s", r.body)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Contains(t, r.json(t)["detail"], "throttled")
	assert.Equal(t, 200, signIn("other", suPassword).status, "other superusers are not locked out")
}

// adminRoutes are one valid request of every authenticated admin route.
var adminRoutes = []req{
	{method: "GET", path: "/api/admin/tenants/"},
	{method: "POST", path: "/api/admin/tenants/", body: map[string]string{"schema_name": "x1", "name": "X", "domain": "x1.localhost"}},
	{method: "GET", path: "/api/admin/tenants/school1/"},
	{method: "PATCH", path: "/api/admin/tenants/school1/", body: map[string]any{"name": "Renamed", "paid_until": nil}},
	{method: "DELETE", path: "/api/admin/tenants/school2/"},
	{method: "GET", path: "/api/admin/tenants/school1/domains/"},
	{method: "POST", path: "/api/admin/tenants/school1/domains/", body: map[string]any{"domain": "a.school1.localhost"}},
	{method: "PATCH", path: "/api/admin/tenants/school1/domains/school1.localhost/", body: map[string]any{"is_primary": true}},
	{method: "DELETE", path: "/api/admin/tenants/school1/domains/school1.localhost/"},
	{method: "GET", path: "/api/admin/tenants/school1/users/"},
	{method: "POST", path: "/api/admin/tenants/school1/users/", body: map[string]any{"username": "new", "password": "longenough"}},
	{method: "GET", path: "/api/admin/tenants/school1/users/1/"},
	{method: "PATCH", path: "/api/admin/tenants/school1/users/1/", body: map[string]any{"is_active": false}},
	{method: "DELETE", path: "/api/admin/tenants/school1/users/1/"},
	{method: "POST", path: "/api/admin/tenants/school1/users/1/set_password/", body: map[string]any{"password": "longenough"}},
	{method: "GET", path: "/api/admin/superusers/"},
	{method: "DELETE", path: "/api/admin/superusers/1/"},
	{method: "POST", path: "/api/admin/superusers/1/set_password/", body: map[string]any{"password": "longenough"}},
}

// TestAdminAuth sends every admin route without a token, with tokens that
// are not a live superuser's admin token, and from a tenant's host: none of
// them changes anything.
func TestAdminAuth(t *testing.T) {
	e := newEnv(t)
	access, refresh := e.login(school1, "demo", "demo123")
	admin := e.adminToken()
	goneID := e.superuser("gone", suPassword)
	goneToken := forge(t, jwt.SigningMethodHS256, []byte(e.cfg.SecretKey), jwt.MapClaims{
		"token_type": "admin", "user_id": goneID, "jti": "x", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()})
	e.exec("DELETE FROM superusers WHERE id = $1", goneID)
	expired := forge(t, jwt.SigningMethodHS256, []byte(e.cfg.SecretKey), jwt.MapClaims{
		"token_type": "admin", "user_id": 1, "jti": "x", "iat": time.Now().Add(-time.Hour).Unix(), "exp": time.Now().Add(-time.Minute).Unix()})
	otherKey := forge(t, jwt.SigningMethodHS256, []byte("another key"), jwt.MapClaims{
		"token_type": "admin", "user_id": 1, "jti": "x", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()})

	notProvided := map[string]any{"detail": "Authentication credentials were not provided."}
	notValid := map[string]any{"code": "token_not_valid"}
	forbidden := map[string]any{"detail": "You do not have permission to perform this action."}
	var cases []scenario
	for _, rt := range adminRoutes {
		name := rt.method + strings.ReplaceAll(strings.TrimPrefix(rt.path, "/api/admin"), "/", "_")
		with := func(bearer string, header http.Header) req {
			r := rt
			r.host, r.bearer, r.header = public, bearer, header
			return r
		}
		onTenant := with(admin, nil)
		onTenant.host = school1
		cases = append(cases,
			scenario{"ErrNoToken" + name, with("", nil), 401, notProvided},
			scenario{"ErrBasicAuth" + name, with("", http.Header{"Authorization": {"Basic cm9vdDpyb290"}}), 401, notProvided},
			scenario{"ErrGarbage" + name, with("garbage", nil), 401, notValid},
			scenario{"ErrTenantAccessToken" + name, with(access, nil), 403, forbidden},
			scenario{"ErrTenantRefreshToken" + name, with(refresh, nil), 401, notValid},
			scenario{"ErrExpired" + name, with(expired, nil), 401, notValid},
			scenario{"ErrOtherKey" + name, with(otherKey, nil), 401, notValid},
			scenario{"ErrDeletedSuperuser" + name, with(goneToken, nil), 401, notValid},
			scenario{"ErrOnTenantHost" + name, onTenant, 404, map[string]any{"detail": "Not found."}},
		)
	}
	e.run(t, cases)
	assert.Equal(t, 2, e.count("SELECT count(*) FROM clients"))
	assert.Equal(t, 2, e.count("SELECT count(*) FROM domains"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE is_active"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM clients WHERE name = 'School 1'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM superusers WHERE username = $1", suName))
	assert.Equal(t, 200, e.do(req{method: "POST", host: public, path: "/api/admin/token/",
		body: map[string]string{"username": suName, "password": suPassword}}).status, "the superuser's password is unchanged")

	t.Run("AdminTokenOnTenantAPI", func(t *testing.T) {
		e.t = t
		r := e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: admin})
		assert.Equal(t, 401, r.status)
	})
	t.Run("ErrDeactivatedSuperuser", func(t *testing.T) {
		e.t = t
		e.exec("UPDATE superusers SET is_active = false WHERE username = $1", suName)
		r := e.do(req{method: "GET", host: public, path: "/api/admin/tenants/", bearer: admin})
		assert.Equal(t, 401, r.status)
		assert.Equal(t, "token_not_valid", r.json(t)["code"])
	})
}

func TestAdminTenants(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	get := func(path string) req { return req{method: "GET", host: public, path: path, bearer: tok} }
	create := func(body any) req {
		return req{method: "POST", host: public, path: "/api/admin/tenants/", body: body, bearer: tok}
	}
	required := []any{"This field is required."}
	e.run(t, []scenario{
		{"OKList", get("/api/admin/tenants/"), 200, map[string]any{"count": float64(2), "next": nil, "previous": nil}},
		{"OKSearchName", get("/api/admin/tenants/?search=school%201"), 200, map[string]any{"count": float64(1)}},
		{"OKSearchDomain", get("/api/admin/tenants/?search=SCHOOL2.localhost"), 200, map[string]any{"count": float64(1)}},
		{"OKSearchNone", get("/api/admin/tenants/?search=nothing"), 200, map[string]any{"count": float64(0), "results": []any{}}},
		{"OKSearchWildcardIsLiteral", get("/api/admin/tenants/?search=%25"), 200, map[string]any{"count": float64(0)}},
		{"OKSearchNul", get("/api/admin/tenants/?search=%00school"), 200, map[string]any{"count": float64(2)}},
		{"ErrPageOutOfRange", get("/api/admin/tenants/?page=2"), 404, map[string]any{"detail": "Invalid page."}},
		{"ErrPageNotANumber", get("/api/admin/tenants/?page=x"), 404, map[string]any{"detail": "Invalid page."}},
		{"OKRetrieve", get("/api/admin/tenants/school1/"), 200, map[string]any{
			"schema_name": "school1", "name": "School 1", "state": "ready", "on_trial": true, "paid_until": nil,
			"primary_domain": "school1.localhost", "domains": []any{"school1.localhost"}}},
		{"OKRetrieveNoSlash", get("/api/admin/tenants/school1"), 200, nil},
		{"ErrRetrieveUnknown", get("/api/admin/tenants/nobody/"), 404, map[string]any{"detail": "Not found."}},
		{"ErrRetrieveInvalidSchema", get("/api/admin/tenants/Not-A-Schema/"), 404, nil},

		{"ErrCreateRequired", create(map[string]any{}), 400, map[string]any{"schema_name": required, "name": required, "domain": required}},
		{"ErrCreateTypes", create(map[string]any{"schema_name": "t1", "name": "T", "domain": "t1.localhost", "on_trial": "maybe",
			"paid_until": "next year", "admin_username": 7.5, "admin_email": []any{}}), 400, map[string]any{
			"on_trial":    []any{"Must be a valid boolean."},
			"paid_until":  []any{"Date has wrong format. Use one of these formats instead: YYYY-MM-DD."},
			"admin_email": []any{"Not a valid string."}}},
		{"ErrCreateSchemaInvalid", create(map[string]any{"schema_name": "pg_evil", "name": "T", "domain": "t1.localhost"}), 400, nil},
		{"ErrCreateSchemaTaken", create(map[string]any{"schema_name": "school1", "name": "T", "domain": "t1.localhost"}), 400,
			map[string]any{"schema_name": []any{`A tenant with schema "school1" already exists.`}}},
		{"ErrCreateDomainPublicHost", create(map[string]any{"schema_name": "t1", "name": "T", "domain": "localhost"}), 400,
			map[string]any{"domain": []any{"localhost is the public site's host (PUBLIC_HOSTS); a tenant cannot use it."}}},
		{"ErrCreateDomainTaken", create(map[string]any{"schema_name": "t1", "name": "T", "domain": "school1.localhost"}), 400,
			map[string]any{"domain": []any{`The domain "school1.localhost" is already in use.`}}},
		{"ErrCreateDomainInvalid", create(map[string]any{"schema_name": "t1", "name": "T", "domain": "http://t1.localhost:8000"}), 400, nil},
		{"ErrCreateAdminPasswordShort", create(map[string]any{"schema_name": "t1", "name": "T", "domain": "t1.localhost",
			"admin_username": "boss", "admin_password": "short"}), 400,
			map[string]any{"admin_password": []any{"This password is too short. It must contain at least 8 characters."}}},
		{"ErrCreateAdminWithoutUsername", create(map[string]any{"schema_name": "t1", "name": "T", "domain": "t1.localhost",
			"admin_password": "longenough"}), 400, map[string]any{"admin_username": required}},
		{"ErrCreateAdminEmail", create(map[string]any{"schema_name": "t1", "name": "T", "domain": "t1.localhost",
			"admin_username": "boss", "admin_email": "nope", "admin_password": "longenough"}), 400,
			map[string]any{"admin_email": []any{"Enter a valid email address."}}},
		{"ErrCreateForm", req{method: "POST", host: public, path: "/api/admin/tenants/", body: "schema_name=t1", bearer: tok,
			ctype: "application/x-www-form-urlencoded"}, 415, nil},
	})
	assert.Zero(t, e.tenantLeftovers("t1"), "a failing create leaves nothing")
	assert.Equal(t, 2, e.count("SELECT count(*) FROM clients"))

	t.Run("OKCreate", func(t *testing.T) {
		e.t = t
		r := e.do(create(map[string]any{"schema_name": "acme", "name": "ACME Corp", "domain": "ACME.localhost", "on_trial": false,
			"paid_until": "2030-01-31", "admin_username": "boss", "admin_email": "boss@acme.com", "admin_password": "s3cret-pass"}))
		require.Equal(t, 201, r.status, "%s", r.body)
		m := r.json(t)
		assert.Equal(t, "acme", m["schema_name"])
		assert.Equal(t, "ready", m["state"])
		assert.Equal(t, "2030-01-31", m["paid_until"])
		assert.Equal(t, "acme.localhost", m["primary_domain"])
		assert.Equal(t, []any{"acme.localhost"}, m["domains"])
		assert.Equal(t, 1, e.count("SELECT count(*) FROM pg_namespace WHERE nspname = 'acme'"))
		assert.Equal(t, 1, e.count("SELECT count(*) FROM acme.users WHERE username = 'boss' AND is_staff AND email = 'boss@acme.com'"))
		assert.Equal(t, 1, e.count("SELECT count(*) FROM domains WHERE domain = 'acme.localhost' AND is_primary"))
		// The new admin signs in on the new tenant's host.
		require.Eventually(t, func() bool {
			return e.do(req{method: "POST", host: "acme.localhost:8000", path: "/api/token/",
				body: map[string]string{"username": "boss", "password": "s3cret-pass"}}).status == 200
		}, 5*time.Second, 50*time.Millisecond)
	})
	t.Run("OKCreateWithoutAdmin", func(t *testing.T) {
		e.t = t
		r := e.do(create(map[string]any{"schema_name": "bare", "name": "Bare", "domain": "bare.localhost", "on_trial": "true"}))
		require.Equal(t, 201, r.status, "%s", r.body)
		assert.Equal(t, true, r.json(t)["on_trial"])
		assert.Equal(t, 0, e.count("SELECT count(*) FROM bare.users"))
	})
	t.Run("Pagination", func(t *testing.T) {
		e.t = t
		for i := range 20 {
			_, err := e.prov.CreateTenant(t.Context(), provision.TenantParams{
				Schema: fmt.Sprintf("p%02d", i), Name: fmt.Sprintf("Paged %d", i), Domain: fmt.Sprintf("p%02d.localhost", i)})
			require.NoError(t, err)
		}
		r := e.do(get("/api/admin/tenants/?search=paged"))
		require.Equal(t, 200, r.status)
		m := r.json(t)
		assert.EqualValues(t, 20, m["count"])
		assert.Nil(t, m["next"])
		r = e.do(get("/api/admin/tenants/"))
		m = r.json(t)
		assert.EqualValues(t, 24, m["count"])
		assert.Len(t, m["results"], 20)
		assert.Equal(t, "http://localhost:8000/api/admin/tenants/?page=2", m["next"])
		r = e.do(get("/api/admin/tenants/?page=2"))
		require.Equal(t, 200, r.status)
		m = r.json(t)
		assert.Len(t, m["results"], 4)
		assert.Equal(t, "http://localhost:8000/api/admin/tenants/", m["previous"])
	})
	t.Run("Delete", func(t *testing.T) {
		e.t = t
		e.run(t, []scenario{
			{"OK", req{method: "DELETE", host: public, path: "/api/admin/tenants/acme/", bearer: tok}, 204, nil},
			{"ErrAgain", req{method: "DELETE", host: public, path: "/api/admin/tenants/acme/", bearer: tok}, 404, map[string]any{"detail": "Not found."}},
			{"ErrInvalid", req{method: "DELETE", host: public, path: "/api/admin/tenants/public/", bearer: tok}, 404, nil},
		})
		assert.Zero(t, e.tenantLeftovers("acme"))
		assert.Zero(t, e.count("SELECT count(*) FROM domains WHERE domain = 'acme.localhost'"))
		require.Eventually(t, func() bool {
			return e.do(req{method: "POST", host: "acme.localhost:8000", path: "/api/token/",
				body: map[string]string{"username": "boss", "password": "s3cret-pass"}}).status == 404
		}, 5*time.Second, 50*time.Millisecond, "the deleted tenant's host is no tenant any more")
	})
}

func TestAdminDomains(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	path := "/api/admin/tenants/school1/domains/"
	add := func(body any) req { return req{method: "POST", host: public, path: path, body: body, bearer: tok} }
	patch := func(domain string, body any) req {
		return req{method: "PATCH", host: public, path: path + domain + "/", body: body, bearer: tok}
	}
	del := func(p string) req { return req{method: "DELETE", host: public, path: p, bearer: tok} }
	e.run(t, []scenario{
		{"OKList", req{method: "GET", host: public, path: path, bearer: tok}, 200, nil},
		{"ErrListUnknownTenant", req{method: "GET", host: public, path: "/api/admin/tenants/nobody/domains/", bearer: tok}, 404, nil},
		{"OKAdd", add(map[string]any{"domain": "www.School1.localhost"}), 201, map[string]any{"domain": "www.school1.localhost", "is_primary": false}},
		{"OKAddPrimary", add(map[string]any{"domain": "main.school1.localhost", "is_primary": true}), 201, map[string]any{"is_primary": true}},
		{"ErrAddDuplicate", add(map[string]any{"domain": "www.school1.localhost"}), 400,
			map[string]any{"domain": []any{`The domain "www.school1.localhost" is already in use.`}}},
		{"ErrAddOtherTenants", add(map[string]any{"domain": "school2.localhost"}), 400, nil},
		{"ErrAddInvalid", add(map[string]any{"domain": "bad domain"}), 400, nil},
		{"ErrAddPublicHost", add(map[string]any{"domain": "LOCALHOST"}), 400,
			map[string]any{"domain": []any{"localhost is the public site's host (PUBLIC_HOSTS); a tenant cannot use it."}}},
		{"ErrAddRequired", add(map[string]any{}), 400, map[string]any{"domain": []any{"This field is required."}}},
		{"ErrAddBadBool", add(map[string]any{"domain": "x.school1.localhost", "is_primary": "perhaps"}), 400,
			map[string]any{"is_primary": []any{"Must be a valid boolean."}}},
		{"ErrAddUnknownTenant", req{method: "POST", host: public, path: "/api/admin/tenants/nobody/domains/", body: map[string]any{"domain": "n.localhost"}, bearer: tok}, 404, nil},
		{"OKMakePrimary", patch("www.school1.localhost", map[string]any{"is_primary": true}), 200, map[string]any{"domain": "www.school1.localhost", "is_primary": true}},
		{"ErrUnsetPrimary", patch("www.school1.localhost", map[string]any{"is_primary": false}), 400, nil},
		{"ErrPatchRequired", patch("www.school1.localhost", map[string]any{}), 400, map[string]any{"is_primary": []any{"This field is required."}}},
		{"ErrPatchOtherTenants", patch("school2.localhost", map[string]any{"is_primary": true}), 404, nil},
		{"ErrPatchUnknown", patch("nope.localhost", map[string]any{"is_primary": true}), 404, nil},
		{"ErrRemoveOtherTenants", del(path + "school2.localhost/"), 404, nil},
		{"OKRemove", del(path + "main.school1.localhost/"), 204, nil},
		{"ErrRemoveAgain", del(path + "main.school1.localhost/"), 404, nil},
	})
	assert.Equal(t, 1, e.count("SELECT count(*) FROM domains WHERE domain = 'www.school1.localhost' AND is_primary"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM domains d JOIN clients c ON c.id = d.client_id WHERE c.schema_name = 'school1' AND d.is_primary"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM domains WHERE domain = 'school2.localhost'"))

	r := e.do(req{method: "GET", host: public, path: path, bearer: tok})
	require.Equal(t, 200, r.status)
	assert.Contains(t, string(r.body), `"domain":"www.school1.localhost","is_primary":true`)
	// The new domain routes to the tenant.
	require.Eventually(t, func() bool {
		return e.do(req{method: "POST", host: "www.school1.localhost:8000", path: "/api/token/",
			body: map[string]string{"username": "demo", "password": "demo123"}}).status == 200
	}, 5*time.Second, 50*time.Millisecond)
}

func TestAdminUsers(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	path := "/api/admin/tenants/school1/users/"
	demoID := int64(e.count("SELECT id FROM school1.users WHERE username = 'demo'"))
	user := fmt.Sprintf("%s%d/", path, demoID)
	_, refresh := e.login(school1, "demo", "demo123")
	create := func(body any) req { return req{method: "POST", host: public, path: path, body: body, bearer: tok} }
	patch := func(p string, body any) req {
		return req{method: "PATCH", host: public, path: p, body: body, bearer: tok}
	}
	setPassword := func(p string, body any) req {
		return req{method: "POST", host: public, path: p + "set_password/", body: body, bearer: tok}
	}
	signIn := func(password string) req {
		return req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": "demo", "password": password}}
	}
	required := []any{"This field is required."}
	e.run(t, []scenario{
		{"OKList", req{method: "GET", host: public, path: path, bearer: tok}, 200, map[string]any{"count": float64(1)}},
		{"OKSearch", req{method: "GET", host: public, path: path + "?search=SCHOOL1.com", bearer: tok}, 200, map[string]any{"count": float64(1)}},
		{"OKSearchNone", req{method: "GET", host: public, path: path + "?search=zzz", bearer: tok}, 200, map[string]any{"count": float64(0)}},
		{"ErrListPage", req{method: "GET", host: public, path: path + "?page=3", bearer: tok}, 404, map[string]any{"detail": "Invalid page."}},
		{"ErrListUnknownTenant", req{method: "GET", host: public, path: "/api/admin/tenants/nobody/users/", bearer: tok}, 404, nil},
		{"OKCreate", create(map[string]any{"username": "teacher", "email": "t@school1.com", "password": "longenough", "is_staff": true}), 201,
			map[string]any{"username": "teacher", "email": "t@school1.com", "is_staff": true, "is_active": true, "last_login": nil, "role": "admin"}},
		{"OKCreateOwner", create(map[string]any{"username": "head", "password": "longenough", "role": "owner"}), 201,
			map[string]any{"username": "head", "is_staff": true, "role": "owner", "email_verified": false}},
		{"OKCreateStaffMember", create(map[string]any{"username": "aide", "password": "longenough", "role": "member", "is_staff": true}), 201,
			map[string]any{"username": "aide", "is_staff": true, "role": "member"}},
		{"ErrCreateBadRole", create(map[string]any{"username": "x", "password": "longenough", "role": "boss"}), 400,
			map[string]any{"role": []any{`"boss" is not a valid choice.`}}},
		{"OKPatchRole", patch(user, map[string]any{"role": "admin"}), 200, map[string]any{"role": "admin", "is_staff": true}},
		{"OKPatchRoleMember", patch(user, map[string]any{"role": "member"}), 200, map[string]any{"role": "member", "is_staff": false}},
		{"ErrPatchBadRole", patch(user, map[string]any{"role": ""}), 400, map[string]any{"role": []any{`"" is not a valid choice.`}}},
		{"ErrCreateDuplicate", create(map[string]any{"username": "teacher", "password": "longenough"}), 400,
			map[string]any{"username": []any{"A user with that username already exists."}}},
		{"ErrCreateRequired", create(map[string]any{}), 400, map[string]any{"username": required, "password": required}},
		{"ErrCreateShortPassword", create(map[string]any{"username": "x", "password": "short"}), 400,
			map[string]any{"password": []any{"This password is too short. It must contain at least 8 characters."}}},
		{"ErrCreateBadUsername", create(map[string]any{"username": "bad name", "password": "longenough"}), 400, nil},
		{"ErrCreateUnknownTenant", req{method: "POST", host: public, path: "/api/admin/tenants/nobody/users/", bearer: tok,
			body: map[string]any{"username": "x", "password": "longenough"}}, 404, nil},
		{"OKGet", req{method: "GET", host: public, path: user, bearer: tok}, 200, map[string]any{"username": "demo"}},
		{"ErrGetUnknown", req{method: "GET", host: public, path: path + "9999/", bearer: tok}, 404, nil},
		{"ErrGetNotAnID", req{method: "GET", host: public, path: path + "demo/", bearer: tok}, 404, nil},
		{"ErrGetOtherTenant", req{method: "GET", host: public, path: "/api/admin/tenants/school2/users/9999/", bearer: tok}, 404, nil},
		{"OKDeactivate", patch(user, map[string]any{"is_active": false}), 200, map[string]any{"is_active": false}},
		{"ErrSignInDeactivated", signIn("demo123"), 401, nil},
		{"ErrRefreshDeactivated", req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}}, 401, nil},
		{"OKActivate", patch(user, map[string]any{"is_active": true}), 200, map[string]any{"is_active": true}},
		{"OKSignInActivated", signIn("demo123"), 200, nil},
		{"OKPatchEmailOnly", patch(user, map[string]any{"email": "x@y.z"}), 200, map[string]any{"email": "x@y.z", "is_active": true}},
		{"ErrPatchBlankBool", patch(user, map[string]any{"is_active": ""}), 400, map[string]any{"is_active": []any{"Must be a valid boolean."}}},
		{"ErrPatchBadBool", patch(user, map[string]any{"is_active": "maybe"}), 400, map[string]any{"is_active": []any{"Must be a valid boolean."}}},
		{"ErrPatchUnknown", patch(path+"9999/", map[string]any{"is_active": false}), 404, nil},
		{"OKSetPassword", setPassword(user, map[string]any{"password": "brand-new-pass"}), 200, map[string]any{"username": "demo"}},
		{"ErrOldPassword", signIn("demo123"), 401, nil},
		{"OKNewPassword", signIn("brand-new-pass"), 200, nil},
		{"ErrSetPasswordShort", setPassword(user, map[string]any{"password": "short"}), 400, nil},
		{"ErrSetPasswordRequired", setPassword(user, map[string]any{}), 400, map[string]any{"password": required}},
		{"ErrSetPasswordUnknown", setPassword(path+"9999/", map[string]any{"password": "longenough"}), 404, nil},
	})
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'teacher' AND is_staff AND role = 'admin'"))
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school2.users WHERE username = 'teacher'"))
	assert.Equal(t, 4, e.count("SELECT count(*) FROM school1.users WHERE is_active"))

	// A verified address stays verified when only its case changes, and
	// is no longer once it is another address, whoever changes it.
	e.exec("UPDATE school1.users SET email_verified = true WHERE username = 'demo'")
	r := e.do(patch(user, map[string]any{"email": "X@Y.Z"}))
	require.Equal(t, 200, r.status)
	assert.Equal(t, true, r.json(t)["email_verified"])
	r = e.do(patch(user, map[string]any{"email": "other@school1.com"}))
	require.Equal(t, 200, r.status)
	assert.Equal(t, false, r.json(t)["email_verified"])
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'demo' AND NOT email_verified"))
}

// TestAdminTenantsForeignSchema: the admin API neither adopts nor drops a
// schema that is no tenant's (400 on schema_name), and refuses to delete a
// tenant something outside its schema depends on (400), changing nothing.
func TestAdminTenantsForeignSchema(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	e.exec(`CREATE SCHEMA reporting;
		CREATE TABLE reporting.figures (id int PRIMARY KEY, total int);
		INSERT INTO reporting.figures VALUES (1, 42);
		CREATE VIEW public.report AS SELECT total FROM reporting.figures`)

	r := e.do(req{method: "POST", host: public, path: "/api/admin/tenants/", bearer: tok,
		body: map[string]any{"schema_name": "reporting", "name": "Reporting", "domain": "reporting.localhost",
			"admin_username": "boss", "admin_password": "longenough"}})
	assert.Equal(t, 400, r.status)
	assert.Equal(t, map[string]any{"schema_name": []any{`A schema named "reporting" already exists in the database; choose another name.`}}, r.json(t))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM reporting.figures WHERE total = 42"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM public.report"))
	assert.Zero(t, e.count("SELECT count(*) FROM clients WHERE schema_name = 'reporting'"))

	e.exec("CREATE VIEW public.school1_users AS SELECT username FROM school1.users")
	r = e.do(req{method: "DELETE", host: public, path: "/api/admin/tenants/school1/", bearer: tok})
	assert.Equal(t, 400, r.status)
	assert.Contains(t, r.json(t)["detail"], "schema school1 cannot be dropped: objects outside it depend on it: view public.school1_users")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM clients WHERE schema_name = 'school1'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM public.school1_users"))
}
