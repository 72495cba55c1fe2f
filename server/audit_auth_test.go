package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/provision"
)

// auditChanges returns every changes JSON of schema's audit log, as text,
// for the tests that look for a secret anywhere in it.
func (e *env) auditChanges(schema string) string {
	e.t.Helper()
	var out string
	err := e.db.Pool.QueryRow(context.Background(),
		fmt.Sprintf("SELECT coalesce(string_agg(changes::text, ' '), '') FROM %s.audit_log", schema)).Scan(&out)
	require.NoError(e.t, err)
	return out
}

// userIDOf returns the id of username in schema.
func (e *env) userIDOf(schema, username string) string {
	e.t.Helper()
	var id int64
	err := e.db.Pool.QueryRow(context.Background(), fmt.Sprintf("SELECT id FROM %s.users WHERE username = $1", schema), username).Scan(&id)
	require.NoError(e.t, err)
	return fmt.Sprint(id)
}

// byUser asserts that entry a was made by the user username of schema and
// targets them.
func (e *env) byUser(a auditRow, schema, username string) {
	e.t.Helper()
	id := e.userIDOf(schema, username)
	assert.Equal(e.t, "user", a.ActorType)
	assert.Equal(e.t, username, a.ActorName)
	if assert.NotNil(e.t, a.ActorID) {
		assert.Equal(e.t, id, fmt.Sprint(*a.ActorID))
	}
	assert.Equal(e.t, "user", a.TargetType)
	assert.Equal(e.t, id, a.TargetID)
}

// TestAuditSignIn: a sign-in, a refused one (known and unknown username,
// the password never logged), a sign-out and the reuse of a rotated
// refresh token are each recorded with the user; a throttled attempt is
// not.
func TestAuditSignIn(t *testing.T) {
	e := newEnv(t)
	_, refresh := e.login(school1, "demo", demoPassword(school1))
	in := e.audits("school1", audit.SignedIn)
	require.Len(t, in, 1)
	e.byUser(in[0], "school1", "demo")
	assert.Equal(t, "127.0.0.1", in[0].ClientAddr)
	assert.NotEmpty(t, in[0].RequestID)

	const wrong = "Wrong-Guess-4411"
	signIn := func(username, pw string) reply {
		return e.do(req{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": username, "password": pw}})
	}
	require.Equal(t, 401, signIn("demo", wrong).status)
	require.Equal(t, 401, signIn("ghost", wrong).status)
	failed := e.audits("school1", audit.SignInFailed)
	require.Len(t, failed, 2)
	e.byUser(failed[0], "school1", "demo")
	assert.Equal(t, map[string]map[string]any{"after": {"reason": "bad_credentials"}}, failed[0].Changes)
	ghost := failed[1]
	assert.Equal(t, "user", ghost.ActorType)
	assert.Nil(t, ghost.ActorID, "no user has that name")
	assert.Equal(t, "ghost", ghost.ActorName, "the attempted username")
	assert.Equal(t, "user", ghost.TargetType)
	assert.Equal(t, "", ghost.TargetID)
	assert.NotContains(t, e.auditChanges("school1"), wrong, "never the password tried")

	e.exec("UPDATE school1.users SET is_active = false WHERE username = 'demo'")
	require.Equal(t, 401, signIn("demo", demoPassword(school1)).status)
	e.exec("UPDATE school1.users SET is_active = true WHERE username = 'demo'")
	failed = e.audits("school1", audit.SignInFailed)
	require.Len(t, failed, 3)
	assert.Equal(t, "inactive", failed[2].Changes["after"]["reason"])

	// Throttled attempts are refused before any lookup: not recorded, so
	// the throttle bounds what failures can write.
	for range 10 {
		signIn("ghost", wrong)
	}
	r := signIn("ghost", wrong)
	require.Equal(t, 429, r.status)
	assert.Len(t, e.audits("school1", audit.SignInFailed), 2+5, "demo's 2, and ghost's 5 (per account and address), then 429s")

	// Rotation, then the rotated token again: its family is revoked.
	r = e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}})
	require.Equal(t, 200, r.status, "%s", r.body)
	next := r.json(t)["refresh"].(string)
	assert.Empty(t, e.audits("school1", audit.RefreshReused), "a rotation is not recorded")
	r = e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}})
	require.Equal(t, 401, r.status)
	reused := e.audits("school1", audit.RefreshReused)
	require.Len(t, reused, 1)
	e.byUser(reused[0], "school1", "demo")

	// The family is revoked: signing out with its newest token changes
	// nothing, and records nothing.
	r = e.do(req{method: "POST", host: school1, path: "/api/token/blacklist/", body: map[string]string{"refresh": next}})
	require.Equal(t, 401, r.status)
	assert.Empty(t, e.audits("school1", audit.SignedOut))
	_, refresh = e.login(school1, "demo", demoPassword(school1))
	r = e.do(req{method: "POST", host: school1, path: "/api/token/blacklist/", body: map[string]string{"refresh": refresh}})
	require.Equal(t, 200, r.status, "%s", r.body)
	out := e.audits("school1", audit.SignedOut)
	require.Len(t, out, 1)
	e.byUser(out[0], "school1", "demo")
	assert.Empty(t, e.audits("school2", audit.SignedIn), "in the tenant's own schema only")
}

// TestAuditPasswords: a password change, a reset asked for and used, and
// an email verification are recorded; the passwords never are, and a
// reset asked for an address nobody has records nothing.
func TestAuditPasswords(t *testing.T) {
	e, box := newMailEnv(t, nil)
	_, err := e.prov.CreateUser(t.Context(), "school1", provision.UserParams{Username: "teacher", Email: "teacher@example.com", Password: userPassword})
	require.NoError(t, err)
	tok := e.signIn(school1, "teacher")
	const changed = "Harbor-Violet-2290"
	r := e.do(req{method: "POST", host: school1, path: "/api/password/change/", bearer: tok,
		body: map[string]string{"old_password": userPassword, "new_password": changed}})
	require.Equal(t, 200, r.status, "%s", r.body)
	c := e.audits("school1", audit.PasswordChanged)
	require.Len(t, c, 1)
	e.byUser(c[0], "school1", "teacher")
	assert.Nil(t, c[0].Changes)

	reset := func(email string) {
		r := e.do(req{method: "POST", host: school1, path: "/api/password/reset/", body: map[string]string{"email": email}})
		require.Equal(t, 202, r.status, "%s", r.body)
	}
	reset("nobody@example.com")
	assert.Empty(t, e.audits("school1", audit.ResetRequested), "no user: nothing (and the answer is the same)")
	reset("teacher@example.com")
	requested := e.audits("school1", audit.ResetRequested)
	require.Len(t, requested, 1)
	assert.Equal(t, "system", requested[0].ActorType)
	assert.Equal(t, "user", requested[0].TargetType)
	assert.Equal(t, e.userIDOf("school1", "teacher"), requested[0].TargetID)

	const chosen = "Meadow-Copper-5517"
	secret := box.wait("teacher@example.com", 1).secret(t)
	r = e.do(req{method: "POST", host: school1, path: "/api/password/reset/confirm/", body: map[string]string{"token": secret, "new_password": chosen}})
	require.Equal(t, 200, r.status, "%s", r.body)
	done := e.audits("school1", audit.PasswordReset)
	require.Len(t, done, 1)
	e.byUser(done[0], "school1", "teacher")

	// A new address is unverified, and gets a link.
	r = e.do(req{method: "PATCH", host: school1, path: "/api/users/" + e.userIDOf("school1", "teacher") + "/", bearer: e.demo(school1),
		body: map[string]string{"email": "t2@example.com"}})
	require.Equal(t, 200, r.status, "%s", r.body)
	secret = box.wait("t2@example.com", 1).secret(t)
	r = e.do(req{method: "POST", host: school1, path: "/api/email/verify/", body: map[string]string{"token": secret}})
	require.Equal(t, 200, r.status, "%s", r.body)
	verified := e.audits("school1", audit.EmailVerified)
	require.Len(t, verified, 1)
	e.byUser(verified[0], "school1", "teacher")

	all := e.auditChanges("school1")
	for _, pw := range []string{userPassword, changed, chosen} {
		assert.NotContains(t, all, pw)
	}
}

// TestAuditUsers: the tenant API's user creation, change and deletion are
// recorded with the changed fields (never the password) and the user's
// JSON as the webhook data.
func TestAuditUsers(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	const pw = "Quartz-Falcon-6034"
	r := e.do(req{method: "POST", host: school1, path: "/api/users/", bearer: tok,
		body: map[string]string{"username": "newbie", "email": "newbie@example.com", "password": pw}})
	require.Equal(t, 201, r.status, "%s", r.body)
	id := fmt.Sprint(int64(r.json(t)["id"].(float64)))
	created := e.audits("school1", audit.UserCreated)
	require.NotEmpty(t, created)
	c := created[len(created)-1]
	assert.Equal(t, "demo", c.ActorName)
	assert.Equal(t, "user", c.TargetType)
	assert.Equal(t, id, c.TargetID)
	assert.Equal(t, map[string]any{"username": "newbie", "email": "newbie@example.com", "role": "member",
		"is_staff": false, "is_active": true, "email_verified": false}, c.Changes["after"])

	path := "/api/users/" + id + "/"
	r = e.do(req{method: "PATCH", host: school1, path: path, bearer: tok, body: map[string]any{"role": "admin", "is_active": false}})
	require.Equal(t, 200, r.status, "%s", r.body)
	updated := e.audits("school1", audit.UserUpdated)
	require.Len(t, updated, 1)
	assert.Equal(t, map[string]map[string]any{
		"before": {"role": "member", "is_staff": false, "is_active": true},
		"after":  {"role": "admin", "is_staff": true, "is_active": false},
	}, updated[0].Changes)
	r = e.do(req{method: "PATCH", host: school1, path: path, bearer: tok, body: map[string]any{"role": "admin"}})
	require.Equal(t, 200, r.status)
	assert.Len(t, e.audits("school1", audit.UserUpdated), 1, "nothing changed, nothing recorded")

	r = e.do(req{method: "DELETE", host: school1, path: path, bearer: tok})
	require.Equal(t, 204, r.status)
	deleted := e.audits("school1", audit.UserDeleted)
	require.Len(t, deleted, 1)
	assert.Equal(t, id, deleted[0].TargetID)
	assert.Equal(t, "newbie", deleted[0].Changes["before"]["username"])
	assert.NotContains(t, e.auditChanges("school1"), pw)
}

// TestAuditInvitations: an invitation, its replacement (revoked + invited),
// its revocation and an acceptance are recorded; an acceptance whose
// transaction fails after recording leaves neither the user nor an entry.
func TestAuditInvitations(t *testing.T) {
	e, box := newMailEnv(t, nil)
	first, _ := e.invited(box, "pupil@example.com", "member", 1)
	invited := e.audits("school1", audit.UserInvited)
	require.Len(t, invited, 1)
	assert.Equal(t, "demo", invited[0].ActorName)
	assert.Equal(t, "invitation", invited[0].TargetType)
	assert.Equal(t, fmt.Sprint(first), invited[0].TargetID)
	assert.Equal(t, map[string]any{"email": "pupil@example.com", "role": "member"}, invited[0].Changes["after"])

	second, tok := e.invited(box, "pupil@example.com", "admin", 2)
	revoked := e.audits("school1", audit.InvitationRevoked)
	require.Len(t, revoked, 1, "the replaced invitation")
	assert.Equal(t, fmt.Sprint(first), revoked[0].TargetID)
	require.Len(t, e.audits("school1", audit.UserInvited), 2)

	// The acceptance's last statement (its sign-in's refresh token) fails:
	// the user and its entries, written before, roll back with it.
	e.exec("ALTER TABLE school1.refresh_tokens ADD CONSTRAINT test_refuse CHECK (false) NOT VALID")
	r, _, _, err := e.send(req{method: "POST", host: school1, path: "/api/invitations/accept/",
		body: map[string]string{"token": tok, "username": "pupil", "password": invitedPassword}})
	require.NoError(t, err)
	require.Equal(t, 500, r.status, "%s", r.body)
	assert.Zero(t, e.count("SELECT count(*) FROM school1.users WHERE username = 'pupil'"))
	assert.Empty(t, e.audits("school1", audit.InvitationAccepted), "rolled back: nothing recorded")
	assert.Zero(t, e.count("SELECT count(*) FROM school1.audit_log WHERE action = 'user.created' AND actor_name = 'pupil'"))
	e.exec("ALTER TABLE school1.refresh_tokens DROP CONSTRAINT test_refuse")

	r = e.accept(school1, tok, "pupil", invitedPassword)
	require.Equal(t, 201, r.status, "%s", r.body)
	accepted := e.audits("school1", audit.InvitationAccepted)
	require.Len(t, accepted, 1)
	e.byUser(accepted[0], "school1", "pupil")
	assert.Equal(t, float64(second), accepted[0].Changes["after"]["invitation"])
	n := e.count("SELECT count(*) FROM school1.audit_log WHERE action = 'user.created' AND actor_name = 'pupil'")
	assert.Equal(t, 1, n)
	assert.NotContains(t, e.auditChanges("school1"), invitedPassword)

	third, _ := e.invited(box, "other@example.com", "member", 1)
	r = e.do(req{method: "DELETE", host: school1, path: fmt.Sprintf("/api/invitations/%d/", third), bearer: e.demo(school1)})
	require.Equal(t, 204, r.status, "%s", r.body)
	revoked = e.audits("school1", audit.InvitationRevoked)
	require.Len(t, revoked, 2)
	assert.Equal(t, fmt.Sprint(third), revoked[1].TargetID)
	assert.Equal(t, "demo", revoked[1].ActorName)
	assert.False(t, strings.Contains(e.auditChanges("school1"), "token"), "no token in the log")
}

// TestAuditSignup: a signup records its owner's creation in the new
// tenant, by the system.
func TestAuditSignup(t *testing.T) {
	e, _ := newMailEnv(t, nil)
	r := e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("acme")})
	require.Equal(t, 201, r.status, "%s", r.body)
	created := e.audits("acme", audit.UserCreated)
	require.Len(t, created, 1)
	assert.Equal(t, "system", created[0].ActorType)
	assert.Equal(t, "signup", created[0].ActorName)
	assert.Equal(t, e.userIDOf("acme", "alice"), created[0].TargetID)
	assert.Equal(t, "owner", created[0].Changes["after"]["role"])
	assert.NotContains(t, e.auditChanges("acme"), signupBody("acme")["password"])
}
