package server_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyPattern is what a secret scanner would match.
var keyPattern = regexp.MustCompile(`^tk_live_[0-9a-z]+_[a-z2-7]{52}$`)

// withKey is rq sent with `Authorization: Api-Key <key>`.
func withKey(rq req, key string) req {
	rq.header = http.Header{"Authorization": {"Api-Key " + key}}
	return rq
}

// createKey creates an API key on host with bearer and returns the answer.
func (e *env) createKey(host, bearer, name, scope string) map[string]any {
	e.t.Helper()
	r := e.do(req{method: "POST", host: host, path: "/api/api-keys/", bearer: bearer,
		body: map[string]string{"name": name, "scope": scope}})
	require.Equal(e.t, 201, r.status, "%s", r.body)
	return r.json(e.t)
}

func keyPath(k map[string]any) string {
	return fmt.Sprintf("/api/api-keys/%d/", int64(k["id"].(float64)))
}

// TestAPIKeysManage: owners and admins create, list and revoke keys; the
// key is shown once, stored only as a hash; members and keys get 403.
func TestAPIKeysManage(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	k := e.createKey(school1, tok, "CI", "read")
	key := k["key"].(string)
	assert.Regexp(t, keyPattern, key)
	assert.Equal(t, key[:len(k["prefix"].(string))], k["prefix"], "the prefix is the key's start")
	assert.GreaterOrEqual(t, len(k["prefix"].(string)), 16)
	assert.Less(t, len(k["prefix"].(string)), len(key)-40, "the prefix leaves most of the secret out")
	assert.Equal(t, "CI", k["name"])
	assert.Equal(t, "read", k["scope"])
	assert.Nil(t, k["expires_at"])
	assert.Nil(t, k["last_used_at"])
	assert.Equal(t, float64(e.demoID()), k["created_by"])

	// The database holds the hash only: the key's text is in no column.
	assert.Zero(t, e.count("SELECT count(*) FROM school1.api_keys k WHERE strpos(k::text, $1) > 0", key[len(k["prefix"].(string)):]))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.api_keys WHERE key_hash = sha256(convert_to($1::text, 'UTF8'))", key))

	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	r := e.do(req{method: "POST", host: school1, path: "/api/api-keys/", bearer: tok,
		body: map[string]any{"name": "Sync", "scope": "read_write", "expires_at": expires}})
	require.Equal(t, 201, r.status, "%s", r.body)
	k2 := r.json(t)
	assert.Equal(t, expires, k2["expires_at"])

	r = e.do(req{method: "GET", host: school1, path: "/api/api-keys/", bearer: tok})
	require.Equal(t, 200, r.status, "%s", r.body)
	list := r.json(t)
	assert.Equal(t, float64(2), list["count"])
	results := list["results"].([]any)
	require.Len(t, results, 2)
	first := results[0].(map[string]any)
	assert.Equal(t, "Sync", first["name"], "newest first")
	assert.NotContains(t, first, "key")
	assert.Equal(t, k2["prefix"], first["prefix"])
	assert.NotContains(t, string(r.body), key, "the key is never shown again")

	t.Run("Validation", func(t *testing.T) {
		for _, c := range []struct {
			name string
			body map[string]any
			want string
		}{
			{"ErrNameRequired", map[string]any{"scope": "read"}, `{"name":["This field is required."]}`},
			{"ErrNameTooLong", map[string]any{"name": string(make([]byte, 101)), "scope": "read"}, ``},
			{"ErrScopeRequired", map[string]any{"name": "x"}, `{"scope":["This field is required."]}`},
			{"ErrScopeInvalid", map[string]any{"name": "x", "scope": "admin"}, `{"scope":["\"admin\" is not a valid choice."]}`},
			{"ErrExpiresPast", map[string]any{"name": "x", "scope": "read", "expires_at": "2020-01-01T00:00:00Z"}, `{"expires_at":["Ensure this value is in the future."]}`},
			{"ErrExpiresFormat", map[string]any{"name": "x", "scope": "read", "expires_at": "tomorrow"}, ``},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := *e
				e.t = t
				r := e.do(req{method: "POST", host: school1, path: "/api/api-keys/", bearer: tok, body: c.body})
				require.Equal(t, 400, r.status, "%s", r.body)
				if c.want != "" {
					assert.JSONEq(t, c.want, string(r.body))
				}
			})
		}
	})

	t.Run("Roles", func(t *testing.T) {
		e := *e
		e.t = t
		e.addUser("school1", "alice", "admin")
		e.addUser("school1", "bob", "member")
		admin, member := e.signIn(school1, "alice"), e.signIn(school1, "bob")
		ak := e.createKey(school1, admin, "Admin's", "read")
		assert.Equal(t, 200, e.do(req{method: "GET", host: school1, path: "/api/api-keys/", bearer: admin}).status)
		for _, rq := range []req{
			{method: "GET", path: "/api/api-keys/"},
			{method: "POST", path: "/api/api-keys/", body: map[string]string{"name": "x", "scope": "read"}},
			{method: "DELETE", path: keyPath(ak)},
		} {
			rq.host, rq.bearer = school1, member
			r := e.do(rq)
			assert.Equal(t, 403, r.status, "member: %s %s: %s", rq.method, rq.path, r.body)
			rq.bearer = ""
			rwKey := e.createKey(school1, tok, "rw", "read_write")["key"].(string)
			r = e.do(withKey(rq, rwKey))
			assert.Equal(t, 403, r.status, "a key cannot manage keys: %s %s: %s", rq.method, rq.path, r.body)
		}
		assert.Equal(t, 204, e.do(req{method: "DELETE", host: school1, path: keyPath(ak), bearer: admin}).status)
	})

	t.Run("Revoke", func(t *testing.T) {
		e := *e
		e.t = t
		r := e.do(req{method: "DELETE", host: school1, path: keyPath(k), bearer: tok})
		require.Equal(t, 204, r.status, "%s", r.body)
		r = e.do(req{method: "DELETE", host: school1, path: keyPath(k), bearer: tok})
		assert.Equal(t, 404, r.status, "revoked already")
		assert.Equal(t, 404, e.do(req{method: "DELETE", host: school1, path: "/api/api-keys/999999/", bearer: tok}).status)
		r = e.do(withKey(req{method: "GET", host: school1, path: "/api/items/"}, key))
		assert.Equal(t, 401, r.status)
		assert.JSONEq(t, `{"detail": "API key has been revoked.", "code": "authentication_failed"}`, string(r.body))
		r = e.do(req{method: "GET", host: school1, path: "/api/api-keys/", bearer: tok})
		assert.NotContains(t, string(r.body), `"name":"CI"`, "revoked keys are not listed")
		// Of another tenant: the same id there is another key, or none.
		assert.Equal(t, 404, e.do(req{method: "DELETE", host: school2, path: keyPath(k2), bearer: e.demo(school2)}).status)
	})
}

// TestAPIKeysAuthenticate: a key acts as its creator within its scope, on
// its own tenant only, until it expires, is revoked, or its creator is
// deactivated.
func TestAPIKeysAuthenticate(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	readKey := e.createKey(school1, tok, "reader", "read")["key"].(string)
	rw := e.createKey(school1, tok, "writer", "read_write")
	rwKey := rw["key"].(string)

	get := func(key string) req { return withKey(req{method: "GET", host: school1, path: "/api/items/"}, key) }
	post := func(key string) req {
		return withKey(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "Chalk"}}, key)
	}

	assert.Equal(t, 200, e.do(get(readKey)).status)
	r := e.do(post(readKey))
	assert.Equal(t, 403, r.status)
	assert.JSONEq(t, `{"detail": "You do not have permission to perform this action."}`, string(r.body))

	r = e.do(post(rwKey))
	require.Equal(t, 201, r.status, "%s", r.body)
	assert.Equal(t, float64(e.demoID()), r.json(t)["created_by"], "a key acts as its creator")
	item := r.json(t)
	created := e.audits("school1", "item.created")
	require.Len(t, created, 1)
	assert.Equal(t, "api_key", created[0].ActorType)
	assert.Equal(t, "writer", created[0].ActorName)
	require.NotNil(t, created[0].ActorID)
	assert.Equal(t, rw["id"], float64(*created[0].ActorID))

	r = e.do(withKey(req{method: "GET", host: school1, path: "/api/profile/"}, readKey))
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, "demo", r.json(t)["username"])
	r = e.do(withKey(req{method: "DELETE", host: school1, path: fmt.Sprintf("/api/items/%d/", int64(item["id"].(float64)))}, readKey))
	assert.Equal(t, 403, r.status)
	r = e.do(withKey(req{method: "POST", host: school1, path: "/api/password/change/",
		body: map[string]string{"old_password": "x", "new_password": "y"}}, rwKey))
	assert.Equal(t, 403, r.status, "a key cannot touch its user's own account: %s", r.body)

	t.Run("SchemeCaseInsensitive", func(t *testing.T) {
		r, _, _, err := e.send(req{method: "GET", host: school1, path: "/api/items/", header: http.Header{"Authorization": {"api-key " + readKey}}})
		require.NoError(t, err)
		assert.Equal(t, 200, r.status)
	})

	t.Run("CrossTenant", func(t *testing.T) {
		e := *e
		e.t = t
		r := e.do(withKey(req{method: "GET", host: school2, path: "/api/items/"}, readKey))
		assert.Equal(t, 403, r.status)
		assert.JSONEq(t, `{"error": "Invalid token for this tenant", "detail": "This token cannot be used on this domain"}`, string(r.body))
		// The tenant is read from the key: another tenant's id is refused
		// as such, whatever the secret.
		r = e.do(withKey(req{method: "GET", host: school1, path: "/api/items/"}, "tk_live_zz_"+readKey[len(readKey)-52:]))
		assert.Equal(t, 403, r.status)
	})

	t.Run("Invalid", func(t *testing.T) {
		e := *e
		e.t = t
		for _, key := range []string{"", "nope", "tk_live_1_short", readKey[:len(readKey)-1] + "a" + "", readKey + "x"} {
			if key == readKey {
				continue
			}
			r := e.do(get(key))
			assert.Equal(t, 401, r.status, "%q: %s", key, r.body)
			if r.status == 401 && key != readKey[:len(readKey)-1]+"a" {
				assert.Equal(t, "Invalid API key.", r.json(t)["detail"], "%q", key)
			}
			assert.Contains(t, r.header.Get("WWW-Authenticate"), "Api-Key")
		}
	})

	t.Run("Expired", func(t *testing.T) {
		e := *e
		e.t = t
		k := e.createKey(school1, tok, "old", "read")
		e.exec("UPDATE school1.api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", int64(k["id"].(float64)))
		r := e.do(get(k["key"].(string)))
		assert.Equal(t, 401, r.status)
		assert.JSONEq(t, `{"detail": "API key has expired.", "code": "authentication_failed"}`, string(r.body))
	})

	t.Run("CreatorDeactivated", func(t *testing.T) {
		e := *e
		e.t = t
		e.addUser("school1", "carol", "admin")
		k := e.createKey(school1, e.signIn(school1, "carol"), "carol's", "read")
		assert.Equal(t, 200, e.do(get(k["key"].(string))).status)
		e.exec("UPDATE school1.users SET is_active = false WHERE username = 'carol'")
		r := e.do(get(k["key"].(string)))
		assert.Equal(t, 401, r.status)
		assert.JSONEq(t, `{"detail": "User not found or inactive.", "code": "authentication_failed"}`, string(r.body))
		e.exec("DELETE FROM school1.users WHERE username = 'carol'")
		assert.Zero(t, e.count("SELECT count(*) FROM school1.api_keys WHERE name = 'carol''s'"), "a key dies with its creator")
	})

	t.Run("RoleFollowsCreator", func(t *testing.T) {
		e := *e
		e.t = t
		e.addUser("school1", "dave", "admin")
		k := e.createKey(school1, e.signIn(school1, "dave"), "dave's", "read")["key"].(string)
		users := withKey(req{method: "GET", host: school1, path: "/api/users/"}, k)
		assert.Equal(t, 200, e.do(users).status)
		e.exec("UPDATE school1.users SET role = 'member' WHERE username = 'dave'")
		assert.Equal(t, 403, e.do(users).status, "the creator's current role")
	})
}

// TestAPIKeysLastUsed: the first use sets last_used_at, in the background;
// later uses within the minute leave it.
func TestAPIKeysLastUsed(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(school1, e.demo(school1), "CI", "read")
	id := int64(k["id"].(float64))
	lastUsed := func() *time.Time {
		var at *time.Time
		require.NoError(t, e.db.Pool.QueryRow(context.Background(), "SELECT last_used_at FROM school1.api_keys WHERE id = $1", id).Scan(&at))
		return at
	}
	require.Equal(t, 200, e.do(withKey(req{method: "GET", host: school1, path: "/api/profile/"}, k["key"].(string))).status)
	require.Eventually(t, func() bool { return lastUsed() != nil }, 5*time.Second, 10*time.Millisecond)
	first := *lastUsed()
	for range 3 {
		require.Equal(t, 200, e.do(withKey(req{method: "GET", host: school1, path: "/api/items/"}, k["key"].(string))).status)
	}
	time.Sleep(100 * time.Millisecond)
	assert.True(t, first.Equal(*lastUsed()), "not rewritten within the minute")
	r := e.do(req{method: "GET", host: school1, path: "/api/api-keys/", bearer: e.demo(school1)})
	assert.NotNil(t, r.json(t)["results"].([]any)[0].(map[string]any)["last_used_at"])

	// A minute later, the next use writes it again.
	e.exec("UPDATE school1.api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = $1", id)
	stale := *lastUsed()
	require.Equal(t, 200, e.do(withKey(req{method: "GET", host: school1, path: "/api/items/"}, k["key"].(string))).status)
	require.Eventually(t, func() bool { return lastUsed().After(stale.Add(time.Minute)) }, 5*time.Second, 10*time.Millisecond)
}

// TestAPIKeysRevokedOnEveryInstance: a key revoked through one instance is
// refused by another at once: every request reads the key's row.
func TestAPIKeysRevokedOnEveryInstance(t *testing.T) {
	in := newInstances(t, 3)
	a, b, _, _ := instancesFor(t, in)
	tok := a.demo(school1)
	k := a.createKey(school1, tok, "CI", "read")
	get := withKey(req{method: "GET", host: school1, path: "/api/items/"}, k["key"].(string))
	require.Equal(t, 200, b.do(get).status)
	require.Equal(t, 204, a.do(req{method: "DELETE", host: school1, path: keyPath(k), bearer: tok}).status)
	assert.Equal(t, 401, b.do(get).status, "refused by the other instance from the next request on")
}

// TestAuditAPIKeys: creating and revoking a key are recorded, without the
// key or its hash.
func TestAuditAPIKeys(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	k := e.createKey(school1, tok, "CI", "read_write")
	created := e.audits("school1", "api_key.created")
	require.Len(t, created, 1)
	c := created[0]
	assert.Equal(t, "user", c.ActorType)
	assert.Equal(t, "demo", c.ActorName)
	assert.Equal(t, "api_key", c.TargetType)
	assert.Equal(t, fmt.Sprint(int64(k["id"].(float64))), c.TargetID)
	assert.Equal(t, map[string]map[string]any{"after": {"name": "CI", "scope": "read_write", "expires_at": nil, "prefix": k["prefix"]}}, c.Changes)
	assert.Zero(t, e.count("SELECT count(*) FROM school1.audit_log WHERE strpos(changes::text, $1) > 0", k["key"].(string)[len(k["prefix"].(string)):]))

	require.Equal(t, 204, e.do(req{method: "DELETE", host: school1, path: keyPath(k), bearer: tok}).status)
	revoked := e.audits("school1", "api_key.revoked")
	require.Len(t, revoked, 1)
	assert.Equal(t, "demo", revoked[0].ActorName)
	assert.Equal(t, map[string]map[string]any{"before": {"name": "CI", "scope": "read_write", "prefix": k["prefix"]}}, revoked[0].Changes)
}

// TestAuditReadWithAPIKey: an owner's key of any scope reads the audit log,
// where changes made with a key name the key as their actor.
func TestAuditReadWithAPIKey(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	k := e.createKey(school1, tok, "reader", "read")
	rw := e.createKey(school1, tok, "writer", "read_write")
	r := e.do(withKey(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "Chalk"}}, rw["key"].(string)))
	require.Equal(t, 201, r.status, "%s", r.body)
	r = e.do(withKey(req{method: "GET", host: school1, path: "/api/audit/?actor_type=api_key"}, k["key"].(string)))
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), `"writer"`)
	assert.Contains(t, string(r.body), "item.created")
}
