package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scenario is one request and the response it must get.
type scenario struct {
	name   string
	req    req
	status int
	want   map[string]any // keys that must be in the JSON body, with these values
}

func (e *env) run(t *testing.T, cases []scenario) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.do(c.req)
			require.Equal(t, c.status, r.status, "body: %s", r.body)
			if c.want != nil {
				got := r.json(t)
				for k, v := range c.want {
					assert.Equal(t, v, got[k], "key %q in %s", k, r.body)
				}
			}
		})
	}
}

func TestObtainToken(t *testing.T) {
	e := newEnv(t)
	e.exec(`SET search_path = school1; INSERT INTO users (username, password_hash, is_active) SELECT 'gone', password_hash, false FROM users WHERE username = 'demo'`)
	bad := map[string]any{"detail": "No active account found with the given credentials"}
	e.run(t, []scenario{
		{"OK", req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": "demo", "password": "demo123"}}, 200, nil},
		{"OKForm", req{method: "POST", host: school1, path: "/api/token/", body: "username=demo&password=demo123", ctype: "application/x-www-form-urlencoded"}, 200, nil},
		{"OKNoSlash", req{method: "POST", host: school1, path: "/api/token", body: map[string]string{"username": "demo", "password": "demo123"}}, 200, nil},
		{"ErrWrongPassword", req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": "demo", "password": "nope"}}, 401, bad},
		{"ErrUnknownUser", req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": "nobody", "password": "demo123"}}, 401, bad},
		{"ErrInactiveUser", req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": "gone", "password": "demo123"}}, 401, bad},
		{"ErrUsernameRequired", req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"password": "demo123"}}, 400,
			map[string]any{"username": []any{"This field is required."}}},
		{"ErrBothRequired", req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{}}, 400,
			map[string]any{"username": []any{"This field is required."}, "password": []any{"This field is required."}}},
		{"ErrBlank", req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": " ", "password": "x"}}, 400,
			map[string]any{"username": []any{"This field may not be blank."}}},
		{"ErrBadJSON", req{method: "POST", host: school1, path: "/api/token/", body: `{"username":`, ctype: "application/json"}, 400, nil},
		{"ErrNotObject", req{method: "POST", host: school1, path: "/api/token/", body: `["demo"]`, ctype: "application/json"}, 400,
			map[string]any{"non_field_errors": []any{"Invalid data. Expected a dictionary, but got list."}}},
		{"ErrMediaType", req{method: "POST", host: school1, path: "/api/token/", body: "demo", ctype: "text/plain"}, 415, nil},
		{"ErrInvalidUTF8", req{method: "POST", host: school1, path: "/api/token/", body: "{\"username\": \"\xff\"}", ctype: "application/json"}, 400, nil},
		{"ErrMethod", req{method: "GET", host: school1, path: "/api/token/"}, 405, map[string]any{"detail": `Method "GET" not allowed.`}},
		{"ErrOtherTenantUser", req{method: "POST", host: school2, path: "/api/token/", body: map[string]string{"username": "gone", "password": "demo123"}}, 401, bad},
	})
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'demo' AND last_login IS NOT NULL"))
}

func TestRefreshAndBlacklist(t *testing.T) {
	e := newEnv(t)
	access, refresh := e.login(school1, "demo", "demo123")
	_, otherRefresh := e.login(school2, "demo", "demo123")

	t.Run("OKRotates", func(t *testing.T) {
		e.t = t
		r := e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}})
		require.Equal(t, 200, r.status, "%s", r.body)
		next := r.json(t)["refresh"].(string)
		assert.NotEqual(t, refresh, next)
		newAccess := r.json(t)["access"].(string)
		assert.Equal(t, 200, e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: newAccess}).status)

		// The used token is refused, and presenting it again revokes its
		// whole family, including the token that replaced it.
		r = e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}})
		assert.Equal(t, 401, r.status)
		assert.Equal(t, "token_not_valid", r.json(t)["code"])
		r = e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": next}})
		assert.Equal(t, 401, r.status, "reuse must revoke the family")
		assert.Equal(t, 2, e.count("SELECT count(*) FROM school1.refresh_tokens WHERE revoked_at IS NOT NULL"))
	})

	_, live := e.login(school1, "demo", "demo123")
	notValid := map[string]any{"code": "token_not_valid"}
	e.run(t, []scenario{
		{"ErrGarbage", req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": "not.a.token"}}, 401, notValid},
		{"ErrAccessAsRefresh", req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": access}}, 401, notValid},
		{"ErrOtherTenant", req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": otherRefresh}}, 401, notValid},
		{"ErrRequired", req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{}}, 400,
			map[string]any{"refresh": []any{"This field is required."}}},
		{"ErrBlacklistOtherTenant", req{method: "POST", host: school1, path: "/api/token/blacklist/", body: map[string]string{"refresh": otherRefresh}}, 401, notValid},
		{"OKBlacklist", req{method: "POST", host: school1, path: "/api/token/blacklist/", body: map[string]string{"refresh": live}}, 200, nil},
		{"ErrRefreshAfterLogout", req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": live}}, 401, notValid},
		{"ErrBlacklistTwice", req{method: "POST", host: school1, path: "/api/token/blacklist/", body: map[string]string{"refresh": live}}, 401, notValid},
	})
	// The other tenant's token is untouched by the attempts above.
	assert.Equal(t, 200, e.do(req{method: "POST", host: school2, path: "/api/token/refresh/", body: map[string]string{"refresh": otherRefresh}}).status)
}

// forge signs claims with key and method, as an attacker (or a test) would.
func forge(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return s
}

func TestAccessTokenChecks(t *testing.T) {
	e := newEnv(t)
	access, refresh := e.login(school1, "demo", "demo123")
	other := e.demo(school2)
	key := []byte(e.cfg.SecretKey)
	var tenantID int64
	require.NoError(t, e.db.Pool.QueryRow(t.Context(), "SELECT id FROM clients WHERE schema_name = 'school1'").Scan(&tenantID))
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		now := time.Now()
		c := jwt.MapClaims{"token_type": "access", "user_id": 1, "tenant": "school1", "tenant_id": tenantID,
			"jti": "x", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "username": "demo"}
		mod(c)
		return c
	}
	valid := forge(t, jwt.SigningMethodHS256, key, claims(func(jwt.MapClaims) {}))
	none := forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(func(jwt.MapClaims) {}))
	hs512 := forge(t, jwt.SigningMethodHS512, key, claims(func(jwt.MapClaims) {}))
	expired := forge(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Second).Unix() }))
	wrongKey := forge(t, jwt.SigningMethodHS256, []byte("another key"), claims(func(jwt.MapClaims) {}))
	otherUser := forge(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["user_id"] = 999 }))

	notValid := map[string]any{"code": "token_not_valid"}
	profile := func(tok string) req { return req{method: "GET", host: school1, path: "/api/profile/", bearer: tok} }
	e.run(t, []scenario{
		{"OK", profile(access), 200, map[string]any{"username": "demo", "tenant_schema": "school1", "is_staff": false, "email": "demo@school1.com"}},
		{"OKForgedWithRealKey", profile(valid), 200, nil},
		{"ErrMissing", req{method: "GET", host: school1, path: "/api/profile/"}, 401, map[string]any{"detail": "Authentication credentials were not provided."}},
		{"ErrOtherScheme", req{method: "GET", host: school1, path: "/api/profile/", header: http.Header{"Authorization": {"Basic ZGVtbzpkZW1vMTIz"}}}, 401,
			map[string]any{"detail": "Authentication credentials were not provided."}},
		{"ErrGarbage", profile("garbage"), 401, notValid},
		{"ErrAlgNone", profile(none), 401, notValid},
		{"ErrHS512", profile(hs512), 401, notValid},
		{"ErrExpired", profile(expired), 401, notValid},
		{"ErrBadSignature", profile(wrongKey), 401, notValid},
		{"ErrRefreshAsAccess", profile(refresh), 401, notValid},
		{"ErrDeletedUser", profile(otherUser), 401, notValid},
		{"ErrOtherTenant", profile(other), 403, map[string]any{"error": "Invalid token for this tenant", "detail": "This token cannot be used on this domain"}},
	})
	t.Run("WWWAuthenticate", func(t *testing.T) {
		e.t = t
		r := e.do(req{method: "GET", host: school1, path: "/api/items/"})
		assert.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer")
	})
	t.Run("ErrInactiveUser", func(t *testing.T) {
		e.t = t
		e.exec("UPDATE school1.users SET is_active = false WHERE username = 'demo'")
		r := e.do(profile(access))
		assert.Equal(t, 401, r.status)
		assert.Equal(t, "token_not_valid", r.json(t)["code"])
	})
}

func TestSignInThrottle(t *testing.T) {
	e := newEnv(t)
	e.exec(`INSERT INTO school1.users (username, password_hash) SELECT 'other', password_hash FROM school1.users WHERE username = 'demo'`)
	signIn := func(username, password string) reply {
		return e.do(req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": username, "password": password}})
	}
	for range 5 {
		require.Equal(t, 401, signIn("demo", "wrong").status)
	}
	r := signIn("demo", "demo123")
	require.Equal(t, 429, r.status, "the right password is refused too while throttled: %s", r.body)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Contains(t, r.json(t)["detail"], "throttled")

	// Other users of the tenant, and the same username on another tenant, are not locked out.
	assert.Equal(t, 200, signIn("other", "demo123").status)
	assert.Equal(t, 200, e.do(req{method: "POST", host: school2, path: "/api/token/", body: map[string]string{"username": "demo", "password": "demo123"}}).status)

	// One address spraying many usernames is throttled as a whole.
	for i := range 30 {
		signIn(fmt.Sprintf("guess%d", i), "wrong")
	}
	assert.Equal(t, 429, signIn("other", "demo123").status)
}

// TestTokenErrorBodies checks SimpleJWT's exact 401 bodies: the bearer
// authentication lists why the token failed per token class ("messages");
// the refresh endpoint gives the token error alone.
func TestTokenErrorBodies(t *testing.T) {
	e := newEnv(t)
	access, refresh := e.login(school1, "demo", "demo123")
	body := func(r reply) map[string]any {
		t.Helper()
		var m map[string]any
		require.NoError(t, json.Unmarshal(r.body, &m), "%s", r.body)
		return m
	}
	authErr := func(msg string) map[string]any {
		return map[string]any{
			"detail": "Given token not valid for any token type", "code": "token_not_valid",
			"messages": []any{map[string]any{"token_class": "AccessToken", "token_type": "access", "message": msg}},
		}
	}
	for _, c := range []struct {
		name string
		req  req
		want map[string]any
	}{
		{"BearerGarbage", req{method: "GET", host: school1, path: "/api/profile/", bearer: "garbage"}, authErr("Token is invalid or expired")},
		{"BearerRefresh", req{method: "GET", host: school1, path: "/api/items/", bearer: refresh}, authErr("Token has wrong type")},
		{"RefreshGarbage", req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": "x.y.z"}},
			map[string]any{"detail": "Token is invalid or expired", "code": "token_not_valid"}},
		{"RefreshWithAccess", req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": access}},
			map[string]any{"detail": "Token has wrong type", "code": "token_not_valid"}},
		{"BlacklistWithAccess", req{method: "POST", host: school1, path: "/api/token/blacklist/", body: map[string]string{"refresh": access}},
			map[string]any{"detail": "Token has wrong type", "code": "token_not_valid"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.do(c.req)
			require.Equal(t, 401, r.status, "%s", r.body)
			assert.Equal(t, c.want, body(r))
			assert.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer")
		})
	}
	t.Run("RefreshReused", func(t *testing.T) {
		e.t = t
		require.Equal(t, 200, e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}}).status)
		r := e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}})
		require.Equal(t, 401, r.status)
		assert.Equal(t, map[string]any{"detail": "Token is blacklisted", "code": "token_not_valid"}, body(r))
	})
}

func TestVerifyToken(t *testing.T) {
	e := newEnv(t)
	access, refresh := e.login(school1, "demo", "demo123")
	_, used := e.login(school1, "demo", "demo123")
	_, loggedOut := e.login(school1, "demo", "demo123")
	otherAccess, otherRefresh := e.login(school2, "demo", "demo123")
	require.Equal(t, 200, e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": used}}).status)
	require.Equal(t, 200, e.do(req{method: "POST", host: school1, path: "/api/token/blacklist/", body: map[string]string{"refresh": loggedOut}}).status)
	key := []byte(e.cfg.SecretKey)
	expired := forge(t, jwt.SigningMethodHS256, key, jwt.MapClaims{"token_type": "access", "user_id": 1, "tenant": "school1",
		"jti": "x", "iat": time.Now().Add(-time.Hour).Unix(), "exp": time.Now().Add(-time.Minute).Unix()})

	verify := func(tok string) req {
		return req{method: "POST", host: school1, path: "/api/token/verify/", body: map[string]string{"token": tok}}
	}
	invalid := map[string]any{"detail": "Token is invalid or expired", "code": "token_not_valid"}
	e.run(t, []scenario{
		{"OKAccess", verify(access), 200, map[string]any{}},
		{"OKRefresh", verify(refresh), 200, map[string]any{}},
		{"OKNoSlash", req{method: "POST", host: school1, path: "/api/token/verify", body: map[string]string{"token": access}}, 200, nil},
		{"OKForm", req{method: "POST", host: school1, path: "/api/token/verify/", body: "token=" + access, ctype: "application/x-www-form-urlencoded"}, 200, nil},
		{"ErrGarbage", verify("not.a.token"), 401, invalid},
		{"ErrExpired", verify(expired), 401, invalid},
		{"ErrOtherTenantAccess", verify(otherAccess), 401, invalid},
		{"ErrOtherTenantRefresh", verify(otherRefresh), 401, invalid},
		{"ErrUsedRefresh", verify(used), 400, map[string]any{"non_field_errors": []any{"Token is blacklisted"}}},
		{"ErrLoggedOutRefresh", verify(loggedOut), 400, map[string]any{"non_field_errors": []any{"Token is blacklisted"}}},
		{"ErrRequired", req{method: "POST", host: school1, path: "/api/token/verify/", body: map[string]string{}}, 400,
			map[string]any{"token": []any{"This field is required."}}},
		{"ErrBlank", verify(""), 400, map[string]any{"token": []any{"This field may not be blank."}}},
		{"ErrMediaType", req{method: "POST", host: school1, path: "/api/token/verify/", body: access, ctype: "text/plain"}, 415, nil},
		{"ErrPublicHost", req{method: "POST", host: public, path: "/api/token/verify/", body: map[string]string{"token": access}}, 404, nil},
	})
	// Verifying changes nothing: the refresh token still rotates once.
	assert.Equal(t, 200, e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}}).status)
}
