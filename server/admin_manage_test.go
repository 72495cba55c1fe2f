package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminBooleans sends every spelling DRF's BooleanField accepts, and
// some it refuses, to a boolean field of the admin API.
func TestAdminBooleans(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	user := fmt.Sprintf("/api/admin/tenants/school1/users/%d/", e.count("SELECT id FROM school1.users WHERE username = 'demo'"))
	patch := func(v any) reply {
		return e.do(req{method: "PATCH", host: public, path: user, body: map[string]any{"is_staff": v}, bearer: tok})
	}
	for _, v := range []any{true, "true", "True", "TRUE", "t", "T", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON", "1", 1, 1.0} {
		t.Run(fmt.Sprintf("OKTrue%#v", v), func(t *testing.T) {
			e.t = t
			e.exec("UPDATE school1.users SET is_staff = false")
			r := patch(v)
			require.Equal(t, 200, r.status, "%s", r.body)
			assert.Equal(t, true, r.json(t)["is_staff"])
			assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE is_staff"))
		})
	}
	for _, v := range []any{false, "false", "False", "FALSE", "f", "F", "no", "No", "NO", "n", "N", "off", "Off", "OFF", "0", 0, 0.0} {
		t.Run(fmt.Sprintf("OKFalse%#v", v), func(t *testing.T) {
			e.t = t
			e.exec("UPDATE school1.users SET is_staff = true")
			r := patch(v)
			require.Equal(t, 200, r.status, "%s", r.body)
			assert.Equal(t, false, r.json(t)["is_staff"])
			assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE is_staff"))
		})
	}
	e.exec("UPDATE school1.users SET is_staff = true")
	for _, v := range []any{"", " ", "maybe", "tRuE", " true", "2", 2, 0.5, -1, []any{}, []any{true}, map[string]any{}} {
		t.Run(fmt.Sprintf("ErrInvalid%#v", v), func(t *testing.T) {
			e.t = t
			r := patch(v)
			require.Equal(t, 400, r.status, "%s", r.body)
			assert.Equal(t, map[string]any{"is_staff": []any{"Must be a valid boolean."}}, r.json(t))
		})
	}
	t.Run("ErrNull", func(t *testing.T) {
		e.t = t
		r := patch(nil)
		require.Equal(t, 400, r.status, "%s", r.body)
		assert.Equal(t, map[string]any{"is_staff": []any{"This field may not be null."}}, r.json(t))
	})
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE is_staff"), "no invalid value changed anything")

	t.Run("ErrBlankElsewhere", func(t *testing.T) {
		e.t = t
		invalid := []any{"Must be a valid boolean."}
		e.run(t, []scenario{
			{"IsActive", req{method: "PATCH", host: public, path: user, body: map[string]any{"is_active": ""}, bearer: tok}, 400,
				map[string]any{"is_active": invalid}},
			{"OnTrialCreate", req{method: "POST", host: public, path: "/api/admin/tenants/", bearer: tok,
				body: map[string]any{"schema_name": "t1", "name": "T", "domain": "t1.localhost", "on_trial": ""}}, 400,
				map[string]any{"on_trial": invalid}},
			{"OnTrialUpdate", req{method: "PATCH", host: public, path: "/api/admin/tenants/school1/", bearer: tok,
				body: map[string]any{"on_trial": ""}}, 400, map[string]any{"on_trial": invalid}},
			{"IsPrimaryAdd", req{method: "POST", host: public, path: "/api/admin/tenants/school1/domains/", bearer: tok,
				body: map[string]any{"domain": "x.school1.localhost", "is_primary": ""}}, 400, map[string]any{"is_primary": invalid}},
			{"IsPrimaryPatch", req{method: "PATCH", host: public, path: "/api/admin/tenants/school1/domains/school1.localhost/", bearer: tok,
				body: map[string]any{"is_primary": ""}}, 400, map[string]any{"is_primary": invalid}},
		})
		assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE is_active"))
		assert.Zero(t, e.tenantLeftovers("t1"))
		assert.Zero(t, e.count("SELECT count(*) FROM domains WHERE domain = 'x.school1.localhost'"))
	})
}

// TestAdminUserPartialUpdate checks that PATCH of a tenant user changes
// only the fields sent.
func TestAdminUserPartialUpdate(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	user := fmt.Sprintf("/api/admin/tenants/school1/users/%d/", e.count("SELECT id FROM school1.users WHERE username = 'demo'"))
	_, refresh := e.login(school1, "demo", "demo123")
	patch := func(body any) req { return req{method: "PATCH", host: public, path: user, body: body, bearer: tok} }
	state := func() string {
		var s string
		require.NoError(t, e.db.Pool.QueryRow(t.Context(),
			"SELECT format('%s/%s/%s', email, is_staff, is_active) FROM school1.users WHERE username = 'demo'").Scan(&s))
		return s
	}
	e.run(t, []scenario{
		{"OKEmailOnly", patch(map[string]any{"email": " new@school1.com "}), 200,
			map[string]any{"email": "new@school1.com", "is_staff": false, "is_active": true}},
		{"OKStaffOnly", patch(map[string]any{"is_staff": true}), 200,
			map[string]any{"email": "new@school1.com", "is_staff": true, "is_active": true}},
		{"OKNothing", patch(map[string]any{}), 200, map[string]any{"email": "new@school1.com", "is_staff": true, "is_active": true}},
		{"OKReadOnlyIgnored", patch(map[string]any{"username": "other", "id": 99, "date_joined": "x"}), 200,
			map[string]any{"username": "demo"}},
		{"OKBlankEmail", patch(map[string]any{"email": ""}), 200, map[string]any{"email": "", "is_staff": true}},
		{"ErrEmailInvalid", patch(map[string]any{"email": "nope", "is_staff": false}), 400,
			map[string]any{"email": []any{"Enter a valid email address."}}},
		{"ErrEmailNull", patch(map[string]any{"email": nil}), 400, map[string]any{"email": []any{"This field may not be null."}}},
		{"ErrEmailType", patch(map[string]any{"email": []any{}}), 400, map[string]any{"email": []any{"Not a valid string."}}},
	})
	assert.Equal(t, "/t/t", state(), "the failed PATCHes changed nothing")

	t.Run("OKSeveral", func(t *testing.T) {
		e.t = t
		r := e.do(patch(map[string]any{"email": "d@school1.com", "is_staff": "false", "is_active": "false"}))
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.Equal(t, "d@school1.com/f/f", state())
		r = e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}})
		assert.Equal(t, 401, r.status, "deactivating ends the sign-ins")
	})
}

// TestAdminTenantUpdate edits a tenant's settings through the API.
func TestAdminTenantUpdate(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	patch := func(body any) req {
		return req{method: "PATCH", host: public, path: "/api/admin/tenants/school1/", body: body, bearer: tok}
	}
	state := func() string {
		var s string
		require.NoError(t, e.db.Pool.QueryRow(t.Context(),
			"SELECT format('%s/%s/%s', name, on_trial, paid_until) FROM clients WHERE schema_name = 'school1'").Scan(&s))
		return s
	}
	e.run(t, []scenario{
		{"OKNameOnly", patch(map[string]any{"name": "  School One  "}), 200,
			map[string]any{"schema_name": "school1", "name": "School One", "on_trial": true, "paid_until": nil,
				"primary_domain": "school1.localhost", "domains": []any{"school1.localhost"}}},
		{"OKPaidUntil", patch(map[string]any{"paid_until": "2031-05-01", "on_trial": false}), 200,
			map[string]any{"name": "School One", "on_trial": false, "paid_until": "2031-05-01"}},
		{"OKAbsentKeeps", patch(map[string]any{"on_trial": "true"}), 200,
			map[string]any{"name": "School One", "on_trial": true, "paid_until": "2031-05-01"}},
		{"ErrNameBlank", patch(map[string]any{"name": " ", "on_trial": false}), 400,
			map[string]any{"name": []any{"This field may not be blank."}}},
		{"ErrNameNull", patch(map[string]any{"name": nil}), 400, map[string]any{"name": []any{"This field may not be null."}}},
		{"ErrNameLong", patch(map[string]any{"name": strings.Repeat("n", 101)}), 400,
			map[string]any{"name": []any{"Ensure this field has no more than 100 characters."}}},
		{"ErrPaidUntil", patch(map[string]any{"paid_until": "31/05/2031"}), 400,
			map[string]any{"paid_until": []any{"Date has wrong format. Use one of these formats instead: YYYY-MM-DD."}}},
		{"ErrUnknown", req{method: "PATCH", host: public, path: "/api/admin/tenants/nobody/", body: map[string]any{"name": "X"}, bearer: tok}, 404,
			map[string]any{"detail": "Not found."}},
		{"ErrForm", req{method: "PATCH", host: public, path: "/api/admin/tenants/school1/", body: "name=X", ctype: "application/x-www-form-urlencoded", bearer: tok}, 415, nil},
	})
	assert.Equal(t, "School One/t/2031-05-01", state(), "the failed PATCHes changed nothing")
	t.Run("OKClearPaidUntil", func(t *testing.T) {
		e.t = t
		r := e.do(patch(map[string]any{"paid_until": nil}))
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.Nil(t, r.json(t)["paid_until"])
		assert.Equal(t, "School One/t/", state())
	})
	assert.Equal(t, "School 2/t/", func() string {
		var s string
		require.NoError(t, e.db.Pool.QueryRow(t.Context(),
			"SELECT format('%s/%s/%s', name, on_trial, paid_until) FROM clients WHERE schema_name = 'school2'").Scan(&s))
		return s
	}(), "the other tenant is untouched")
}

// TestAdminDeleteUser deletes a tenant user who wrote items and is signed in.
func TestAdminDeleteUser(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	id := e.count("SELECT id FROM school1.users WHERE username = 'demo'")
	user := fmt.Sprintf("/api/admin/tenants/school1/users/%d/", id)
	access, refresh := e.login(school1, "demo", "demo123")
	r := e.do(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "kept"}, bearer: access})
	require.Equal(t, 201, r.status, "%s", r.body)
	del := func(path string) req { return req{method: "DELETE", host: public, path: path, bearer: tok} }

	e.run(t, []scenario{
		{"ErrUnknownTenant", del("/api/admin/tenants/nobody/users/1/"), 404, nil},
		{"ErrUnknownUser", del("/api/admin/tenants/school1/users/9999/"), 404, nil},
		{"ErrOtherTenantsID", del(fmt.Sprintf("/api/admin/tenants/school2/users/%d/", 9999)), 404, nil},
		{"OK", del(user), 204, nil},
		{"ErrAgain", del(user), 404, map[string]any{"detail": "Not found."}},
		{"ErrGet", req{method: "GET", host: public, path: user, bearer: tok}, 404, nil},
		{"ErrAccessToken", req{method: "GET", host: school1, path: "/api/profile/", bearer: access}, 401, nil},
		{"ErrRefreshToken", req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}}, 401, nil},
		{"ErrSignIn", req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": "demo", "password": "demo123"}}, 401, nil},
	})
	assert.Zero(t, e.count("SELECT count(*) FROM school1.users"))
	assert.Zero(t, e.count("SELECT count(*) FROM school1.refresh_tokens"), "the refresh tokens went with the user")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.items WHERE name = 'kept' AND created_by IS NULL"), "the items stay")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school2.users WHERE username = 'demo'"))
}

// TestAdminRemoveLastDomain: a tenant keeps at least one domain.
func TestAdminRemoveLastDomain(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	path := "/api/admin/tenants/school2/domains/"
	e.run(t, []scenario{
		{"ErrLast", req{method: "DELETE", host: public, path: path + "school2.localhost/", bearer: tok}, 400,
			map[string]any{"detail": "A tenant keeps at least one domain: add another domain before removing this one, or delete the tenant."}},
		{"OKAdd", req{method: "POST", host: public, path: path, body: map[string]any{"domain": "www.school2.localhost"}, bearer: tok}, 201, nil},
		{"OKRemoveOnceAnotherExists", req{method: "DELETE", host: public, path: path + "school2.localhost/", bearer: tok}, 204, nil},
		{"ErrLastAgain", req{method: "DELETE", host: public, path: path + "www.school2.localhost/", bearer: tok}, 400, nil},
	})
	assert.Equal(t, 1, e.count("SELECT count(*) FROM domains WHERE domain = 'www.school2.localhost' AND is_primary"),
		"the remaining domain became primary and stays")
}

// TestAdminRemoveDomainsConcurrently removes both domains of a tenant at
// once, many times: one removal always loses, so the tenant keeps one.
func TestAdminRemoveDomainsConcurrently(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	for i := range 10 {
		extra := fmt.Sprintf("w%d.school2.localhost", i)
		r := e.do(req{method: "POST", host: public, path: "/api/admin/tenants/school2/domains/", body: map[string]any{"domain": extra}, bearer: tok})
		require.Equal(t, 201, r.status, "%s", r.body)
		var current string
		require.NoError(t, e.db.Pool.QueryRow(t.Context(),
			"SELECT d.domain FROM domains d JOIN clients c ON c.id = d.client_id WHERE c.schema_name = 'school2' AND d.domain <> $1", extra).Scan(&current))
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for j, d := range []string{current, extra} {
			wg.Go(func() {
				r, _, _, err := e.send(req{method: "DELETE", host: public, path: "/api/admin/tenants/school2/domains/" + d + "/", bearer: tok})
				if err == nil {
					statuses[j] = r.status
				}
			})
		}
		wg.Wait()
		assert.ElementsMatch(t, []int{204, 400}, statuses)
		require.Equal(t, 1, e.count("SELECT count(*) FROM domains d JOIN clients c ON c.id = d.client_id WHERE c.schema_name = 'school2' AND d.is_primary"))
	}
}

// TestAdminSuperusers lists superusers, sets a password and deletes one.
func TestAdminSuperusers(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	rootID := e.count("SELECT id FROM superusers WHERE username = $1", suName)
	otherID := e.superuser("other", suPassword)
	e.superuser("retired", suPassword)
	e.exec("UPDATE superusers SET is_active = false WHERE username = 'retired'")
	r := e.do(req{method: "POST", host: public, path: "/api/admin/token/", body: map[string]string{"username": "other", "password": suPassword}})
	require.Equal(t, 200, r.status)
	otherTok := r.json(t)["access"].(string)
	newBrowser(t, e.srv.URL).signIn("other", suPassword)
	newBrowser(t, e.srv.URL).signIn("other", suPassword)
	require.Equal(t, 2, e.count("SELECT count(*) FROM admin_sessions WHERE superuser_id = $1", otherID))

	list := req{method: "GET", host: public, path: "/api/admin/superusers/", bearer: tok}
	su := func(id int64) string { return fmt.Sprintf("/api/admin/superusers/%d/", id) }
	setPassword := func(id int64, body any) req {
		return req{method: "POST", host: public, path: su(id) + "set_password/", body: body, bearer: tok}
	}
	e.run(t, []scenario{
		{"OKList", list, 200, map[string]any{"count": float64(3), "next": nil, "previous": nil}},
		{"ErrListPage", req{method: "GET", host: public, path: "/api/admin/superusers/?page=2", bearer: tok}, 404, map[string]any{"detail": "Invalid page."}},
		{"ErrSetPasswordShort", setPassword(otherID, map[string]any{"password": "Qz9!"}), 400,
			map[string]any{"password": []any{"This password is too short. It must contain at least 8 characters."}}},
		{"ErrSetPasswordRequired", setPassword(otherID, map[string]any{}), 400, map[string]any{"password": []any{"This field is required."}}},
		{"ErrSetPasswordUnknown", setPassword(9999, map[string]any{"password": "longenough"}), 404, nil},
	})
	assert.Equal(t, 2, e.count("SELECT count(*) FROM admin_sessions WHERE superuser_id = $1", otherID), "failures sign nobody out")

	t.Run("ListFields", func(t *testing.T) {
		e.t = t
		r := e.do(list)
		require.Equal(t, 200, r.status)
		results := r.json(t)["results"].([]any)
		require.Len(t, results, 3)
		first := results[0].(map[string]any)
		assert.Equal(t, "other", first["username"], "by username")
		assert.Equal(t, true, first["is_active"])
		assert.Equal(t, false, results[1].(map[string]any)["is_active"])
		assert.NotContains(t, string(r.body), "password")
	})
	t.Run("SetPassword", func(t *testing.T) {
		e.t = t
		r := e.do(setPassword(otherID, map[string]any{"password": "other-new-pass"}))
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.Equal(t, "other", r.json(t)["username"])
		assert.Zero(t, e.count("SELECT count(*) FROM admin_sessions WHERE superuser_id = $1", otherID), "their admin sessions ended")
		signIn := func(pw string) int {
			return e.do(req{method: "POST", host: public, path: "/api/admin/token/", body: map[string]string{"username": "other", "password": pw}}).status
		}
		assert.Equal(t, 401, signIn(suPassword))
		assert.Equal(t, 200, signIn("other-new-pass"))
	})
	t.Run("Delete", func(t *testing.T) {
		e.t = t
		newBrowser(t, e.srv.URL).signIn("other", "other-new-pass")
		e.run(t, []scenario{
			{"ErrSelf", req{method: "DELETE", host: public, path: su(int64(rootID)), bearer: tok}, 400,
				map[string]any{"detail": "You cannot delete your own account: another superuser can."}},
			{"ErrUnknown", req{method: "DELETE", host: public, path: su(9999), bearer: tok}, 404, nil},
			{"ErrNotAnID", req{method: "DELETE", host: public, path: "/api/admin/superusers/other/", bearer: tok}, 404, nil},
			{"OK", req{method: "DELETE", host: public, path: su(otherID), bearer: tok}, 204, nil},
			{"ErrAgain", req{method: "DELETE", host: public, path: su(otherID), bearer: tok}, 404, nil},
			{"ErrDeletedsToken", req{method: "GET", host: public, path: "/api/admin/tenants/", bearer: otherTok}, 401,
				map[string]any{"code": "token_not_valid"}},
		})
		assert.Zero(t, e.count("SELECT count(*) FROM superusers WHERE id = $1", otherID))
		assert.Zero(t, e.count("SELECT count(*) FROM admin_sessions WHERE superuser_id = $1", otherID), "their sessions went with them")
		assert.Equal(t, 1, e.count("SELECT count(*) FROM superusers WHERE username = $1", suName))
	})
}

// TestAdminSuperusersDeleteEachOther: two superusers delete each other at
// once, many times; one active superuser always remains.
func TestAdminSuperusersDeleteEachOther(t *testing.T) {
	e := newEnv(t)
	for i := range 8 {
		names := []string{fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)}
		ids := []int64{e.superuser(names[0], suPassword), e.superuser(names[1], suPassword)}
		e.exec("UPDATE superusers SET is_active = false WHERE id <> ALL($1)", ids)
		toks := make([]string, 2)
		for j, n := range names {
			r := e.do(req{method: "POST", host: public, path: "/api/admin/token/", body: map[string]string{"username": n, "password": suPassword}})
			require.Equal(t, 200, r.status, "%s", r.body)
			toks[j] = r.json(t)["access"].(string)
		}
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for j := range 2 {
			wg.Go(func() {
				r, _, _, err := e.send(req{method: "DELETE", host: public, path: fmt.Sprintf("/api/admin/superusers/%d/", ids[1-j]), bearer: toks[j]})
				if err == nil {
					statuses[j] = r.status
				}
			})
		}
		wg.Wait()
		assert.Contains(t, statuses, http.StatusNoContent, "one deletion succeeds")
		assert.NotEqual(t, []int{204, 204}, statuses)
		require.Equal(t, 1, e.count("SELECT count(*) FROM superusers WHERE is_active"), "statuses %v", statuses)
		e.exec("DELETE FROM superusers")
	}
}
