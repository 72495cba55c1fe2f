package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/provision"
)

// bySuperuser asserts that entry a was made by the superuser root.
func (e *env) bySuperuser(a auditRow) {
	e.t.Helper()
	assert.Equal(e.t, "superuser", a.ActorType)
	assert.Equal(e.t, suName, a.ActorName)
	if assert.NotNil(e.t, a.ActorID) {
		assert.Equal(e.t, e.count("SELECT id FROM superusers WHERE username = $1", suName), int(*a.ActorID))
	}
}

// last is the newest of entries, which must not be empty.
func last(t *testing.T, entries []auditRow) auditRow {
	t.Helper()
	require.NotEmpty(t, entries)
	return entries[len(entries)-1]
}

// TestAuditAdminAPI: what a superuser changes in a tenant through the
// admin API is recorded in the tenant's log, by that superuser: users
// (created, updated, password set, reset link sent, deleted), the tenant's
// settings, its domains, its deletion and restoration.
func TestAuditAdminAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	admin := func(method, path string, body any) reply {
		t.Helper()
		return e.do(req{method: method, host: public, path: "/api/admin/tenants/school1/" + path, body: body, bearer: tok})
	}
	const pw = "Glacier-Tulip-7781"
	r := admin("POST", "users/", map[string]any{"username": "clerk", "email": "clerk@example.com", "password": pw})
	require.Equal(t, 201, r.status, "%s", r.body)
	id := fmt.Sprint(int64(r.json(t)["id"].(float64)))
	c := last(t, e.audits("school1", audit.UserCreated))
	e.bySuperuser(c)
	assert.Equal(t, "user", c.TargetType)
	assert.Equal(t, id, c.TargetID)
	assert.Equal(t, "clerk", c.Changes["after"]["username"])

	r = admin("PATCH", "users/"+id+"/", map[string]any{"role": "admin", "email": "clerk2@example.com"})
	require.Equal(t, 200, r.status, "%s", r.body)
	u := last(t, e.audits("school1", audit.UserUpdated))
	e.bySuperuser(u)
	assert.Equal(t, id, u.TargetID)
	assert.Equal(t, map[string]any{"role": "member", "is_staff": false, "email": "clerk@example.com"}, u.Changes["before"])
	assert.Equal(t, map[string]any{"role": "admin", "is_staff": true, "email": "clerk2@example.com"}, u.Changes["after"])

	const pw2 = "Saddle-Marble-3309"
	r = admin("POST", "users/"+id+"/set_password/", map[string]any{"password": pw2})
	require.Equal(t, 200, r.status, "%s", r.body)
	set := last(t, e.audits("school1", audit.PasswordSet))
	e.bySuperuser(set)
	assert.Equal(t, id, set.TargetID)
	assert.Nil(t, set.Changes)

	r = admin("POST", "users/"+id+"/send_password_reset/", nil)
	require.Equal(t, 202, r.status, "%s", r.body)
	sent := last(t, e.audits("school1", audit.ResetRequested))
	e.bySuperuser(sent)
	assert.Equal(t, id, sent.TargetID)

	r = admin("DELETE", "users/"+id+"/", nil)
	require.Equal(t, 204, r.status, "%s", r.body)
	d := last(t, e.audits("school1", audit.UserDeleted))
	e.bySuperuser(d)
	assert.Equal(t, id, d.TargetID)

	r = admin("PATCH", "", map[string]any{"name": "School One", "paid_until": "2027-01-31"})
	require.Equal(t, 200, r.status, "%s", r.body)
	tu := last(t, e.audits("school1", audit.TenantUpdated))
	e.bySuperuser(tu)
	assert.Equal(t, "tenant", tu.TargetType)
	assert.Equal(t, "School One", tu.Changes["after"]["name"])
	assert.Equal(t, "2027-01-31", tu.Changes["after"]["paid_until"])
	assert.NotContains(t, tu.Changes["after"], "on_trial", "only the changed fields")

	r = admin("POST", "domains/", map[string]any{"domain": "school1.example.org"})
	require.Equal(t, 201, r.status, "%s", r.body)
	added := last(t, e.audits("school1", audit.DomainAdded))
	e.bySuperuser(added)
	assert.Equal(t, audit.Target{Type: "domain", ID: "school1.example.org"}, audit.Target{Type: added.TargetType, ID: added.TargetID})
	r = admin("PATCH", "domains/school1.example.org/", map[string]any{"is_primary": true})
	require.Equal(t, 200, r.status, "%s", r.body)
	primary := last(t, e.audits("school1", audit.DomainUpdated))
	e.bySuperuser(primary)
	assert.Equal(t, map[string]map[string]any{"before": {"is_primary": false}, "after": {"is_primary": true}}, primary.Changes)
	r = admin("DELETE", "domains/school1.example.org/", nil)
	require.Equal(t, 204, r.status, "%s", r.body)
	removed := last(t, e.audits("school1", audit.DomainRemoved))
	e.bySuperuser(removed)
	assert.Equal(t, "school1.example.org", removed.TargetID)
	assert.Empty(t, e.audits("school2", audit.DomainAdded), "the tenant's own log only")

	// A refused change records nothing: the last domain cannot go.
	n := len(e.audits("school1", audit.DomainRemoved))
	r = admin("DELETE", "domains/school1.localhost/", nil)
	require.Equal(t, 400, r.status, "%s", r.body)
	assert.Len(t, e.audits("school1", audit.DomainRemoved), n)

	r = admin("DELETE", "?soft=true", nil)
	require.Equal(t, 204, r.status, "%s", r.body)
	e.bySuperuser(last(t, e.audits("school1", audit.TenantDeleted)))
	r = admin("POST", "restore/", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	e.bySuperuser(last(t, e.audits("school1", audit.TenantRestored)))

	all := e.auditChanges("school1")
	assert.NotContains(t, all, pw)
	assert.NotContains(t, all, pw2)
}

// TestAuditAdminUI: the admin UI records what it changes with the signed-in
// superuser, as the admin API does.
func TestAuditAdminUI(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	b := newBrowser(t, e.srv.URL)
	csrf := b.signIn(suName, suPassword)
	id := e.addUser("school1", "janitor", provision.RoleMember)
	p := b.post(fmt.Sprintf("/admin/tenants/school1/users/%d/active/", id), url.Values{"csrf_token": {csrf}, "active": {"false"}})
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	u := last(t, e.audits("school1", audit.UserUpdated))
	e.bySuperuser(u)
	assert.Equal(t, fmt.Sprint(id), u.TargetID)
	assert.Equal(t, map[string]map[string]any{"before": {"is_active": true}, "after": {"is_active": false}}, u.Changes)

	r := e.invite(school1, e.demo(school1), "visitor@example.com", "member")
	require.Equal(t, 201, r.status, "%s", r.body)
	inv := int64(r.json(t)["id"].(float64))
	p = b.post(fmt.Sprintf("/admin/tenants/school1/invitations/%d/revoke/", inv), url.Values{"csrf_token": {csrf}})
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	rv := last(t, e.audits("school1", audit.InvitationRevoked))
	e.bySuperuser(rv)
	assert.Equal(t, "invitation", rv.TargetType)
	assert.Equal(t, fmt.Sprint(inv), rv.TargetID)
}
