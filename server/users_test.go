package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/provision"
)

const userPassword = "secret123"

// addUser creates a user of role in school1 (schema) and returns its id.
func (e *env) addUser(schema, username, role string) int64 {
	e.t.Helper()
	u, err := e.prov.CreateUser(e.t.Context(), schema, provision.UserParams{Username: username, Password: userPassword, Role: role})
	require.NoError(e.t, err)
	return u.ID
}

// signIn returns the access token of a user made by addUser on host.
func (e *env) signIn(host, username string) string {
	e.t.Helper()
	a, _ := e.login(host, username, userPassword)
	return a
}

func userPath(id int64) string { return fmt.Sprintf("/api/users/%d/", id) }

// demoID is the id of school1's demo user, its owner.
func (e *env) demoID() int64 {
	return int64(e.count("SELECT id FROM school1.users WHERE username = 'demo'"))
}

func TestUsersCRUD(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	as := func(method, path string, body any) req {
		return req{method: method, host: school1, path: path, body: body, bearer: tok}
	}

	r := e.do(as("POST", "/api/users/", map[string]any{"username": "teacher", "email": "t@school1.com", "password": userPassword}))
	require.Equal(t, 201, r.status, "%s", r.body)
	created := r.json(t)
	id := int64(created["id"].(float64))
	assert.Equal(t, map[string]any{
		"id": created["id"], "username": "teacher", "email": "t@school1.com", "is_staff": false, "is_active": true,
		"date_joined": created["date_joined"], "last_login": nil, "role": "member", "email_verified": false,
	}, created)
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'teacher' AND role = 'member' AND NOT is_staff"))
	// The new user signs in with the password the manager chose.
	e.signIn(school1, "teacher")
	path := userPath(id)

	e.run(t, []scenario{
		{"OKCreateAdmin", as("POST", "/api/users", map[string]any{"username": "deputy", "password": userPassword, "role": "admin"}), 201,
			map[string]any{"role": "admin", "is_staff": true, "email": ""}},
		{"OKCreateOwner", as("POST", "/api/users/", map[string]any{"username": "co-owner", "password": userPassword, "role": "owner"}), 201,
			map[string]any{"role": "owner", "is_staff": true}},
		{"OKCreateForm", req{method: "POST", host: school1, path: "/api/users/", body: "username=formed&password=" + userPassword,
			ctype: "application/x-www-form-urlencoded", bearer: tok}, 201, map[string]any{"role": "member"}},
		{"ErrUsernameTaken", as("POST", "/api/users/", map[string]any{"username": "teacher", "password": userPassword}), 400,
			map[string]any{"username": []any{"A user with that username already exists."}}},
		{"ErrUsernameRequired", as("POST", "/api/users/", map[string]any{"password": userPassword}), 400,
			map[string]any{"username": []any{"This field is required."}}},
		{"ErrUsernameInvalid", as("POST", "/api/users/", map[string]any{"username": "no spaces", "password": userPassword}), 400,
			map[string]any{"username": []any{"Enter a valid username of at most 150 letters, digits and @/./+/-/_ characters."}}},
		{"ErrPasswordRequired", as("POST", "/api/users/", map[string]any{"username": "nopw"}), 400,
			map[string]any{"password": []any{"This field is required."}}},
		{"ErrPasswordShort", as("POST", "/api/users/", map[string]any{"username": "shortpw", "password": "abc"}), 400,
			map[string]any{"password": []any{"This password is too short. It must contain at least 8 characters."}}},
		{"ErrEmailInvalid", as("POST", "/api/users/", map[string]any{"username": "bademail", "email": "nope", "password": userPassword}), 400,
			map[string]any{"email": []any{"Enter a valid email address."}}},
		{"ErrRoleInvalid", as("POST", "/api/users/", map[string]any{"username": "boss", "password": userPassword, "role": "boss"}), 400,
			map[string]any{"role": []any{`"boss" is not a valid choice.`}}},
		{"ErrRoleNull", as("POST", "/api/users/", map[string]any{"username": "boss", "password": userPassword, "role": nil}), 400,
			map[string]any{"role": []any{"This field may not be null."}}},
		{"ErrBadJSON", req{method: "POST", host: school1, path: "/api/users/", body: `{"username":`, ctype: "application/json", bearer: tok}, 400, nil},
		{"ErrMediaType", req{method: "POST", host: school1, path: "/api/users/", body: "x", ctype: "text/plain", bearer: tok}, 415, nil},
		{"OKGet", as("GET", path, nil), 200, map[string]any{"username": "teacher", "role": "member"}},
		{"OKGetNoSlash", as("GET", fmt.Sprintf("/api/users/%d", id), nil), 200, nil},
		{"ErrGetUnknown", as("GET", "/api/users/999999/", nil), 404, map[string]any{"detail": "Not found."}},
		{"ErrGetNonNumeric", as("GET", "/api/users/abc/", nil), 404, map[string]any{"detail": "Not found."}},
		{"OKPatchEmail", as("PATCH", path, map[string]any{"email": " new@school1.com "}), 200,
			map[string]any{"email": "new@school1.com", "role": "member", "is_staff": false}},
		{"OKPatchRoleAdmin", as("PATCH", path, map[string]any{"role": "admin"}), 200,
			map[string]any{"email": "new@school1.com", "role": "admin", "is_staff": true}},
		{"OKPatchRoleMember", as("PATCH", path, map[string]any{"role": "member"}), 200, map[string]any{"role": "member", "is_staff": false}},
		{"OKPatchIgnoresOtherFields", as("PATCH", path, map[string]any{"username": "renamed", "is_staff": true, "email_verified": true}), 200,
			map[string]any{"username": "teacher", "is_staff": false, "email_verified": false}},
		{"ErrPatchEmail", as("PATCH", path, map[string]any{"email": "nope"}), 400, map[string]any{"email": []any{"Enter a valid email address."}}},
		{"ErrPatchRole", as("PATCH", path, map[string]any{"role": "root"}), 400, map[string]any{"role": []any{`"root" is not a valid choice.`}}},
		{"ErrPatchActive", as("PATCH", path, map[string]any{"is_active": "maybe"}), 400, map[string]any{"is_active": []any{"Must be a valid boolean."}}},
		{"ErrPatchUnknown", as("PATCH", "/api/users/999999/", map[string]any{"email": ""}), 404, nil},
		{"OKDeactivate", as("PATCH", path, map[string]any{"is_active": false}), 200, map[string]any{"is_active": false}},
		{"OKReactivate", as("PATCH", path, map[string]any{"is_active": "true"}), 200, map[string]any{"is_active": true}},
		{"OKDelete", as("DELETE", path, nil), 204, nil},
		{"ErrDeleteAgain", as("DELETE", path, nil), 404, map[string]any{"detail": "Not found."}},
		{"ErrGetDeleted", as("GET", path, nil), 404, nil},
		{"ErrNoToken", req{method: "GET", host: school1, path: "/api/users/"}, 401, nil},
		{"ErrPublicHost", req{method: "GET", host: public, path: "/api/users/", bearer: tok}, 404, nil},
		{"ErrMethod", as("PUT", path, map[string]any{}), 405, nil},
	})
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE username IN ('boss', 'nopw', 'shortpw', 'bademail')"),
		"failed creates wrote nothing")
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE id = $1", id))
}

func TestUsersList(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	for i := range 25 {
		e.addUser("school1", fmt.Sprintf("pupil%02d", i), provision.RoleMember)
	}
	e.addUser("school1", "zeta", provision.RoleAdmin)
	list := func(query string) req {
		return req{method: "GET", host: school1, path: "/api/users/" + query, bearer: tok}
	}

	r := e.do(list(""))
	require.Equal(t, 200, r.status, "%s", r.body)
	page := r.json(t)
	assert.EqualValues(t, 27, page["count"])
	assert.Equal(t, "http://school1.localhost:8000/api/users/?page=2", page["next"])
	results := page["results"].([]any)
	require.Len(t, results, 20)
	first := results[0].(map[string]any)
	assert.Equal(t, "demo", first["username"], "by username")
	assert.Equal(t, "owner", first["role"])

	e.run(t, []scenario{
		{"OKSearch", list("?search=zet"), 200, map[string]any{"count": float64(1)}},
		{"OKOrdering", list("?ordering=-username&page_size=1"), 200, map[string]any{"count": float64(27)}},
		{"OKLast", list("?page=last"), 200, map[string]any{"previous": "http://school1.localhost:8000/api/users/"}},
		{"ErrPage", list("?page=9"), 404, map[string]any{"detail": "Invalid page."}},
	})
	r = e.do(list("?ordering=-username&page_size=1"))
	assert.Equal(t, "zeta", r.json(t)["results"].([]any)[0].(map[string]any)["username"])
}

// TestUsersRoleMatrix sends every users endpoint, and the items endpoints,
// as each role, and checks the status the permission table gives it.
func TestUsersRoleMatrix(t *testing.T) {
	e := newEnv(t)
	tokens := map[string]string{provision.RoleOwner: e.demo(school1)}
	e.addUser("school1", "anadmin", provision.RoleAdmin)
	e.addUser("school1", "amember", provision.RoleMember)
	tokens[provision.RoleAdmin] = e.signIn(school1, "anadmin")
	tokens[provision.RoleMember] = e.signIn(school1, "amember")
	item := e.do(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "Chalk"}, bearer: tokens["owner"]})
	require.Equal(t, 201, item.status)
	itemPath := fmt.Sprintf("/api/items/%d/", int64(item.json(t)["id"].(float64)))

	type endpoint struct {
		name   string
		method string
		path   func(target int64) string
		body   func(role string) any
		ok     int
	}
	fixed := func(p string) func(int64) string { return func(int64) string { return p } }
	endpoints := []endpoint{
		{"UsersList", "GET", fixed("/api/users/"), nil, 200},
		{"UsersCreate", "POST", fixed("/api/users/"), func(role string) any {
			return map[string]any{"username": "new-by-" + role, "password": userPassword}
		}, 201},
		{"UsersView", "GET", userPath, nil, 200},
		{"UsersUpdate", "PATCH", userPath, func(string) any { return map[string]any{"email": "x@school1.com"} }, 200},
		{"UsersDelete", "DELETE", userPath, nil, 204},
		{"ItemsList", "GET", fixed("/api/items/"), nil, 200},
		{"ItemsCreate", "POST", fixed("/api/items/"), func(string) any { return map[string]any{"name": "Board"} }, 201},
		{"ItemsView", "GET", fixed(itemPath), nil, 200},
		{"ItemsUpdate", "PATCH", fixed(itemPath), func(string) any { return map[string]any{"description": "x"} }, 200},
		{"ItemsDelete", "DELETE", func(int64) string {
			return fmt.Sprintf("/api/items/%d/", e.count("INSERT INTO school1.items (name) VALUES ('Spare') RETURNING id"))
		}, nil, 204},
		{"Profile", "GET", fixed("/api/profile/"), nil, 200},
	}
	allowed := map[string]map[string]bool{
		provision.RoleOwner:  {"UsersList": true, "UsersCreate": true, "UsersView": true, "UsersUpdate": true, "UsersDelete": true},
		provision.RoleAdmin:  {"UsersList": true, "UsersCreate": true, "UsersView": true, "UsersUpdate": true, "UsersDelete": true},
		provision.RoleMember: {},
	}
	for _, role := range []string{provision.RoleOwner, provision.RoleAdmin, provision.RoleMember} {
		for _, ep := range endpoints {
			t.Run(role+"/"+ep.name, func(t *testing.T) {
				e.t = t
				// Each request acts on a member of its own, so deletes do not
				// run out of users.
				target := e.addUser("school1", "target-"+role+"-"+ep.name, provision.RoleMember)
				var body any
				if ep.body != nil {
					body = ep.body(role)
				}
				r := e.do(req{method: ep.method, host: school1, path: ep.path(target), body: body, bearer: tokens[role]})
				want := ep.ok
				if len(ep.name) > 5 && ep.name[:5] == "Users" && !allowed[role][ep.name] {
					want = http.StatusForbidden
				}
				require.Equal(t, want, r.status, "%s", r.body)
				if want == http.StatusForbidden {
					assert.Equal(t, map[string]any{"detail": "You do not have permission to perform this action."}, r.json(t))
				}
			})
		}
	}
	// The role is checked before the body, as DRF does: a member learns
	// nothing about validation.
	e.t = t
	for name, rq := range map[string]req{
		"CreateBadBody": {method: "POST", host: school1, path: "/api/users/", body: map[string]any{"role": "boss"}, bearer: tokens["member"]},
		"CreateBadJSON": {method: "POST", host: school1, path: "/api/users/", body: `{`, ctype: "application/json", bearer: tokens["member"]},
		"PatchBadBody":  {method: "PATCH", host: school1, path: userPath(e.demoID()), body: map[string]any{"is_active": "maybe"}, bearer: tokens["member"]},
		"PatchBadJSON":  {method: "PATCH", host: school1, path: userPath(e.demoID()), body: `{`, ctype: "application/json", bearer: tokens["member"]},
	} {
		r := e.do(rq)
		assert.Equal(t, 403, r.status, "%s: %s", name, r.body)
	}
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE username = 'new-by-member'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'target-member-UsersDelete'"))
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE username = 'target-admin-UsersDelete'"))
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE email = 'x@school1.com' AND username LIKE 'target-member-%'"))
}

// TestUsersOwnerRules: only an owner acts on owners, and the last active
// owner stays an active owner.
func TestUsersOwnerRules(t *testing.T) {
	e := newEnv(t)
	ownerTok := e.demo(school1)
	demo := e.demoID()
	e.addUser("school1", "anadmin", provision.RoleAdmin)
	memberID := e.addUser("school1", "amember", provision.RoleMember)
	otherAdmin := e.addUser("school1", "otheradmin", provision.RoleAdmin)
	adminTok := e.signIn(school1, "anadmin")
	asOwner := func(method, path string, body any) req {
		return req{method: method, host: school1, path: path, body: body, bearer: ownerTok}
	}
	asAdmin := func(method, path string, body any) req {
		return req{method: method, host: school1, path: path, body: body, bearer: adminTok}
	}
	ownerOnly := map[string]any{"detail": "Only an owner can add, change or delete an owner."}
	lastOwner := map[string]any{"detail": "The last active owner cannot be demoted, deactivated or deleted; make another user owner first."}

	e.run(t, []scenario{
		{"ErrAdminCreatesOwner", asAdmin("POST", "/api/users/", map[string]any{"username": "usurper", "password": userPassword, "role": "owner"}), 403, ownerOnly},
		{"ErrAdminPromotesToOwner", asAdmin("PATCH", userPath(memberID), map[string]any{"role": "owner"}), 403, ownerOnly},
		{"ErrAdminChangesOwner", asAdmin("PATCH", userPath(demo), map[string]any{"email": "x@school1.com"}), 403, ownerOnly},
		{"ErrAdminDeactivatesOwner", asAdmin("PATCH", userPath(demo), map[string]any{"is_active": false}), 403, ownerOnly},
		{"ErrAdminDeletesOwner", asAdmin("DELETE", userPath(demo), nil), 403, ownerOnly},
		{"OKAdminViewsOwner", asAdmin("GET", userPath(demo), nil), 200, map[string]any{"role": "owner"}},
		{"OKAdminChangesAdmin", asAdmin("PATCH", userPath(otherAdmin), map[string]any{"role": "member"}), 200, map[string]any{"role": "member"}},
		{"ErrLastOwnerDemoted", asOwner("PATCH", userPath(demo), map[string]any{"role": "admin"}), 400, lastOwner},
		{"ErrLastOwnerDeactivated", asOwner("PATCH", userPath(demo), map[string]any{"is_active": false}), 400, lastOwner},
		{"ErrLastOwnerDeleted", asOwner("DELETE", userPath(demo), nil), 400, lastOwner},
		{"OKLastOwnerKeepsRole", asOwner("PATCH", userPath(demo), map[string]any{"role": "owner", "email": "boss@school1.com"}), 200,
			map[string]any{"role": "owner", "email": "boss@school1.com"}},
		{"OKOwnerPromotes", asOwner("PATCH", userPath(memberID), map[string]any{"role": "owner"}), 200, map[string]any{"role": "owner", "is_staff": true}},
		{"OKOwnerStepsDown", asOwner("PATCH", userPath(demo), map[string]any{"role": "admin"}), 200, map[string]any{"role": "admin"}},
	})
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE role = 'owner'"))
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE username = 'usurper'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'demo' AND email = 'boss@school1.com'"),
		"refused changes wrote nothing")

	// An inactive owner does not count: the only active owner is still the last.
	newOwnerTok := e.signIn(school1, "amember")
	e.exec("UPDATE school1.users SET role = 'owner', is_active = false WHERE username = 'otheradmin'")
	r := e.do(req{method: "DELETE", host: school1, path: userPath(memberID), bearer: newOwnerTok})
	assert.Equal(t, 400, r.status, "%s", r.body)
	// An inactive owner can be deleted by an owner; an admin still cannot.
	r = e.do(asAdmin("DELETE", userPath(otherAdmin), nil))
	assert.Equal(t, 403, r.status, "%s", r.body)
	r = e.do(req{method: "DELETE", host: school1, path: userPath(otherAdmin), bearer: newOwnerTok})
	assert.Equal(t, 204, r.status, "%s", r.body)
}

// TestUsersLastOwnerConcurrent: two owners demote each other at once; the
// owners are locked in the transaction, so one of the changes is refused.
func TestUsersLastOwnerConcurrent(t *testing.T) {
	e := newEnv(t)
	demo := e.demoID()
	for i := range 10 {
		other := e.addUser("school1", fmt.Sprintf("owner%d", i), provision.RoleOwner)
		toks := []string{e.demo(school1), e.signIn(school1, fmt.Sprintf("owner%d", i))}
		targets := []int64{other, demo}
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for j := range 2 {
			wg.Go(func() {
				r, _, _, err := e.send(req{method: "PATCH", host: school1, path: userPath(targets[j]),
					body: map[string]any{"role": "member"}, bearer: toks[j]})
				if err == nil {
					statuses[j] = r.status
				}
			})
		}
		wg.Wait()
		// The loser finds itself no owner any more (403) or the other the
		// last owner (400); never do both changes go through.
		require.Contains(t, statuses, 200, "round %d", i)
		assert.True(t, statuses[0] != statuses[1] && (statuses[0] >= 400 || statuses[1] >= 400), "round %d: %v", i, statuses)
		require.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE role = 'owner' AND is_active"), "round %d", i)
		// Make demo the owner again for the next round.
		e.exec("UPDATE school1.users SET role = CASE WHEN id = $1 THEN 'owner' ELSE 'member' END", demo)
	}
}

// TestUsersEndSignIns: deactivating or deleting a user refuses their access
// tokens already issued and their refresh tokens at once.
func TestUsersEndSignIns(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	for _, c := range []struct {
		name string
		req  func(id int64) req
		want int
	}{
		{"Deactivate", func(id int64) req {
			return req{method: "PATCH", host: school1, path: userPath(id), body: map[string]any{"is_active": false}, bearer: tok}
		}, 200},
		{"Delete", func(id int64) req { return req{method: "DELETE", host: school1, path: userPath(id), bearer: tok} }, 204},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			id := e.addUser("school1", "leaver-"+c.name, provision.RoleAdmin)
			access, refresh := e.login(school1, "leaver-"+c.name, userPassword)
			_, refresh2 := e.login(school1, "leaver-"+c.name, userPassword)
			require.Equal(t, 200, e.do(req{method: "GET", host: school1, path: "/api/users/", bearer: access}).status)

			require.Equal(t, c.want, e.do(c.req(id)).status)

			r := e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: access})
			assert.Equal(t, 401, r.status, "%s", r.body)
			assert.Equal(t, "token_not_valid", r.json(t)["code"])
			assert.Equal(t, 401, e.do(req{method: "GET", host: school1, path: "/api/users/", bearer: access}).status)
			for _, rt := range []string{refresh, refresh2} {
				r = e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": rt}})
				assert.Equal(t, 401, r.status, "%s", r.body)
			}
			assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL", id),
				"no live refresh token is left")
			r = e.do(req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": "leaver-" + c.name, "password": userPassword}})
			assert.Equal(t, 401, r.status)
		})
	}
	e.t = t
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE username = 'leaver-Delete'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'leaver-Deactivate' AND NOT is_active"))
}

// TestUsersIsolation: every users endpoint refuses a token of another
// tenant, even an owner's, and changes nothing.
func TestUsersIsolation(t *testing.T) {
	e := newEnv(t)
	other := e.demo(school2)
	id := e.addUser("school1", "teacher", provision.RoleMember)
	cross := map[string]any{"error": "Invalid token for this tenant", "detail": "This token cannot be used on this domain"}
	as := func(method, path string, body any) req {
		return req{method: method, host: school1, path: path, body: body, bearer: other}
	}
	e.run(t, []scenario{
		{"List", as("GET", "/api/users/", nil), 403, cross},
		{"Create", as("POST", "/api/users/", map[string]any{"username": "spy", "password": userPassword, "role": "owner"}), 403, cross},
		{"Get", as("GET", userPath(id), nil), 403, cross},
		{"Patch", as("PATCH", userPath(id), map[string]any{"role": "owner", "is_active": false}), 403, cross},
		{"Delete", as("DELETE", userPath(id), nil), 403, cross},
	})
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE username = 'spy'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE id = $1 AND role = 'member' AND is_active", id))
}

func TestProfileRole(t *testing.T) {
	e := newEnv(t)
	e.addUser("school1", "amember", provision.RoleMember)
	e.exec("UPDATE school1.users SET email_verified = true WHERE username = 'demo'")
	e.run(t, []scenario{
		{"OKOwner", req{method: "GET", host: school1, path: "/api/profile/", bearer: e.demo(school1)}, 200,
			map[string]any{"role": "owner", "email_verified": true, "username": "demo"}},
		{"OKMember", req{method: "GET", host: school1, path: "/api/profile/", bearer: e.signIn(school1, "amember")}, 200,
			map[string]any{"role": "member", "email_verified": false, "is_staff": false}},
	})
}

// TestUsersOptions: OPTIONS on the users paths authenticates and checks the
// role as their other methods do, and describes the create fields.
func TestUsersOptions(t *testing.T) {
	e := newEnv(t)
	e.addUser("school1", "amember", provision.RoleMember)
	opts := func(path, bearer string) req {
		return req{method: "OPTIONS", host: school1, path: path, bearer: bearer}
	}
	r := e.do(opts("/api/users/", e.demo(school1)))
	require.Equal(t, 200, r.status, "%s", r.body)
	body := r.json(t)
	assert.Equal(t, "User List", body["name"])
	post := body["actions"].(map[string]any)["POST"].(map[string]any)
	assert.Equal(t, map[string]any{"type": "choice", "required": false, "read_only": false, "label": "Role", "choices": []any{
		map[string]any{"value": "owner", "display_name": "Owner"},
		map[string]any{"value": "admin", "display_name": "Admin"},
		map[string]any{"value": "member", "display_name": "Member"},
	}}, post["role"])
	assert.Equal(t, true, post["password"].(map[string]any)["required"])

	r = e.do(opts(userPath(e.demoID()), e.demo(school1)))
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, "User Instance", r.json(t)["name"])
	assert.Nil(t, r.json(t)["actions"])

	member := e.signIn(school1, "amember")
	for _, p := range []string{"/api/users/", userPath(e.demoID())} {
		assert.Equal(t, 403, e.do(opts(p, member)).status, p)
		assert.Equal(t, 401, e.do(opts(p, "")).status, p)
		assert.Equal(t, 403, e.do(opts(p, e.demo(school2))).status, p)
	}
}
