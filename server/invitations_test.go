package server_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/provision"
)

// invitedPassword is a password an invited user chooses: far from any
// username, address or common password, so that it passes every rule.
const invitedPassword = "Lantern-Quokka-8195"

const invalidInvitation = "This invitation link is invalid or has expired."

// invite invites email as role on host with bearer and returns the reply.
func (e *env) invite(host, bearer, email, role string) reply {
	e.t.Helper()
	body := map[string]any{"email": email}
	if role != "" {
		body["role"] = role
	}
	return e.do(req{method: "POST", host: host, path: "/api/invitations/", body: body, bearer: bearer})
}

// invited invites email as role to school1 as demo (its owner) and returns
// the invitation's id and the token of its email's link, the nth email to
// the address.
func (e *env) invited(box *mailbox, email, role string, n int) (int64, string) {
	e.t.Helper()
	r := e.invite(school1, e.demo(school1), email, role)
	require.Equal(e.t, 201, r.status, "%s", r.body)
	return int64(r.json(e.t)["id"].(float64)), box.wait(email, n).secret(e.t)
}

// accept posts to the accept endpoint on host.
func (e *env) accept(host, tok, username, pw string) reply {
	e.t.Helper()
	return e.do(req{method: "POST", host: host, path: "/api/invitations/accept/",
		body: map[string]string{"token": tok, "username": username, "password": pw}})
}

// queuedEmails counts the email jobs to address, sent or not.
func (e *env) queuedEmails(address string) int {
	e.t.Helper()
	return e.count("SELECT count(*) FROM river.river_job WHERE kind = 'email.send' AND args->>'to' = $1", address)
}

// hostDo is b.do with the Host header host: a page of a tenant's host.
func (b *browser) hostDo(host, method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequest(method, b.base+path, body)
	require.NoError(b.t, err)
	r.Host = host
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(r)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return page{status: resp.StatusCode, header: resp.Header, body: string(out)}
}

func TestInvitationsCreate(t *testing.T) {
	e, box := newMailEnv(t, nil)
	owner := e.demo(school1)
	e.addUser("school1", "deputy", provision.RoleAdmin)
	e.addUser("school1", "pupil", provision.RoleMember)
	admin, member := e.signIn(school1, "deputy"), e.signIn(school1, "pupil")
	as := func(bearer string, body any) req {
		return req{method: "POST", host: school1, path: "/api/invitations/", body: body, bearer: bearer}
	}

	r := e.do(as(owner, map[string]any{"email": "new.teacher@example.com"}))
	require.Equal(t, 201, r.status, "%s", r.body)
	got := r.json(t)
	assert.Equal(t, map[string]any{
		"id": got["id"], "email": "new.teacher@example.com", "role": "member", "invited_by": float64(e.demoID()),
		"created_at": got["created_at"], "expires_at": got["expires_at"],
	}, got, "the invitation, never its token")
	created, err := time.Parse(time.RFC3339, got["created_at"].(string))
	require.NoError(t, err)
	expires, err := time.Parse(time.RFC3339, got["expires_at"].(string))
	require.NoError(t, err)
	assert.InDelta(t, (7 * 24 * time.Hour).Seconds(), expires.Sub(created).Seconds(), 2, "valid 7 days by default")

	m := box.wait("new.teacher@example.com", 1)
	assert.Contains(t, m.Subject, "School 1")
	assert.Contains(t, m.Text, "demo invited you to join as a member.")
	assert.Contains(t, m.Text, "valid until "+expires.UTC().Format("2006-01-02 15:04 UTC"))
	assert.Contains(t, m.HTML, "demo invited you to join as a member.")
	link := m.link(t)
	assert.True(t, strings.HasPrefix(link, "http://school1.localhost:8000/accounts/invite/"), link)
	raw := m.secret(t)
	assert.Len(t, raw, 43, "32 random bytes, base64url")
	sum := sha256.Sum256([]byte(raw))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE token_hash = $1", sum[:]), "the hash is stored")
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.invitations i WHERE strpos(i::text, $1) > 0", raw), "the token is not")
	assert.NotContains(t, string(r.body), raw)

	e.exec("UPDATE school1.users SET email = 'Pupil@School1.com' WHERE username = 'pupil'")
	e.run(t, []scenario{
		{"OKAdminInvitesAdmin", as(admin, map[string]any{"email": "co@example.com", "role": "admin"}), 201,
			map[string]any{"role": "admin", "email": "co@example.com"}},
		{"OKOwnerInvitesOwner", as(owner, map[string]any{"email": "boss@example.com", "role": "owner"}), 201, map[string]any{"role": "owner"}},
		{"OKForm", req{method: "POST", host: school1, path: "/api/invitations/", body: "email=formed%40example.com&role=member",
			ctype: "application/x-www-form-urlencoded", bearer: owner}, 201, map[string]any{"email": "formed@example.com"}},
		{"OKNoSlash", req{method: "POST", host: school1, path: "/api/invitations", body: map[string]any{"email": "slash@example.com"}, bearer: owner}, 201, nil},
		{"ErrAdminInvitesOwner", as(admin, map[string]any{"email": "usurper@example.com", "role": "owner"}), 403,
			map[string]any{"detail": "Only an owner can invite an owner, or replace or revoke an owner's invitation."}},
		{"ErrMember", as(member, map[string]any{"email": "friend@example.com"}), 403,
			map[string]any{"detail": "You do not have permission to perform this action."}},
		{"ErrMemberBadBody", as(member, map[string]any{"email": 5}), 403, nil},
		{"ErrEmailRequired", as(owner, map[string]any{"role": "admin"}), 400, map[string]any{"email": []any{"This field is required."}}},
		{"ErrEmailBlank", as(owner, map[string]any{"email": "  "}), 400, map[string]any{"email": []any{"This field may not be blank."}}},
		{"ErrEmailNull", as(owner, map[string]any{"email": nil}), 400, map[string]any{"email": []any{"This field may not be null."}}},
		{"ErrEmailInvalid", as(owner, map[string]any{"email": "nope"}), 400, map[string]any{"email": []any{"Enter a valid email address."}}},
		{"ErrEmailTooLong", as(owner, map[string]any{"email": strings.Repeat("a", 250) + "@x.io"}), 400, nil},
		{"ErrEmailOfAUser", as(owner, map[string]any{"email": "pupil@school1.com"}), 400,
			map[string]any{"email": []any{"A user with this email address already exists in this organization."}}},
		{"ErrRoleInvalid", as(owner, map[string]any{"email": "x@example.com", "role": "boss"}), 400,
			map[string]any{"role": []any{`"boss" is not a valid choice.`}}},
		{"ErrBadJSON", req{method: "POST", host: school1, path: "/api/invitations/", body: `{"email":`, ctype: "application/json", bearer: owner}, 400, nil},
		{"ErrMediaType", req{method: "POST", host: school1, path: "/api/invitations/", body: "x", ctype: "text/plain", bearer: owner}, 415, nil},
		{"ErrNoToken", req{method: "POST", host: school1, path: "/api/invitations/", body: map[string]any{"email": "y@example.com"}}, 401, nil},
		{"ErrPublicHost", req{method: "POST", host: public, path: "/api/invitations/", body: map[string]any{"email": "y@example.com"}, bearer: owner}, 404, nil},
		{"ErrMethod", req{method: "PUT", host: school1, path: "/api/invitations/", body: map[string]any{}, bearer: owner}, 405, nil},
	})
	e.t = t
	box.wait("co@example.com", 1)
	box.wait("boss@example.com", 1)
	box.wait("formed@example.com", 1)
	for _, a := range []string{"usurper@example.com", "friend@example.com", "pupil@school1.com", "x@example.com", "y@example.com"} {
		assert.Equal(t, 0, e.queuedEmails(a), "no email to %s", a)
		assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.invitations WHERE email = $1", a), "no invitation of %s", a)
	}
	assert.Empty(t, box.to("usurper@example.com"))
}

// TestInvitationsReplace: inviting an address again replaces its pending
// invitation in the same transaction; the earlier link stops working.
func TestInvitationsReplace(t *testing.T) {
	e, box := newMailEnv(t, nil)
	firstID, first := e.invited(box, "again@example.com", "member", 1)
	secondID, second := e.invited(box, "Again@Example.com", "admin", 2)
	assert.NotEqual(t, first, second)
	assert.NotEqual(t, firstID, secondID)
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE lower(email) = 'again@example.com' AND accepted_at IS NULL AND revoked_at IS NULL"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE id = $1 AND revoked_at IS NOT NULL", firstID))

	r := e.accept(school1, first, "first", invitedPassword)
	require.Equal(t, 400, r.status, "%s", r.body)
	assert.Equal(t, map[string]any{"token": []any{invalidInvitation}}, r.json(t))
	r = e.accept(school1, second, "second", invitedPassword)
	require.Equal(t, 201, r.status, "%s", r.body)
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'second' AND role = 'admin' AND is_staff AND email = 'Again@Example.com'"))

	// An admin cannot replace an owner's invitation.
	e.addUser("school1", "deputy", provision.RoleAdmin)
	ownerInv, _ := e.invited(box, "heir@example.com", "owner", 1)
	r = e.invite(school1, e.signIn(school1, "deputy"), "heir@example.com", "member")
	require.Equal(t, 403, r.status, "%s", r.body)
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE id = $1 AND revoked_at IS NULL", ownerInv), "still pending")
	assert.Equal(t, 1, e.queuedEmails("heir@example.com"))
}

// TestInvitationsConcurrentInvite: concurrent invitations of one address
// replace one another: every one answers 201, one stays pending. They are
// an admin's, whose invitations lock no owner, and the test holds the
// invitations table until all of them wait, so that they race at once.
func TestInvitationsConcurrentInvite(t *testing.T) {
	e, _ := newMailEnv(t, nil)
	e.addUser("school1", "deputy", provision.RoleAdmin)
	admin := e.signIn(school1, "deputy")
	conn, err := pgx.Connect(t.Context(), e.db.URL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	tx, err := conn.Begin(t.Context())
	require.NoError(t, err)
	defer tx.Rollback(context.Background()) //nolint:errcheck // committed below
	_, err = tx.Exec(t.Context(), "LOCK TABLE school1.invitations IN EXCLUSIVE MODE")
	require.NoError(t, err)
	const n = 3 // the server's pool has four connections
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, _, err := e.send(req{method: "POST", host: school1, path: "/api/invitations/", bearer: admin,
				body: map[string]any{"email": "race@example.com"}})
			if err == nil {
				statuses[i] = r.status
			}
		}()
	}
	require.Eventually(t, func() bool {
		return e.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") >= n
	}, 20*time.Second, 10*time.Millisecond, "every invitation waits")
	require.NoError(t, tx.Commit(t.Context()))
	wg.Wait()
	assert.Equal(t, []int{201, 201, 201}, statuses)
	assert.Equal(t, n, e.count("SELECT count(*) FROM school1.invitations WHERE email = 'race@example.com'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE email = 'race@example.com' AND revoked_at IS NULL"))
	assert.Equal(t, n, e.queuedEmails("race@example.com"))
}

func TestInvitationsListAndRevoke(t *testing.T) {
	e, box := newMailEnv(t, nil)
	owner := e.demo(school1)
	e.addUser("school1", "deputy", provision.RoleAdmin)
	e.addUser("school1", "pupil", provision.RoleMember)
	admin, member := e.signIn(school1, "deputy"), e.signIn(school1, "pupil")
	var ids []int64
	for i := range 4 {
		id, _ := e.invited(box, fmt.Sprintf("p%d@example.com", i), "member", 1)
		ids = append(ids, id)
	}
	ownerInv, _ := e.invited(box, "heir@example.com", "owner", 1)
	expired, _ := e.invited(box, "late@example.com", "member", 1)
	e.exec("UPDATE school1.invitations SET expires_at = now() - interval '1 second' WHERE id = $1", expired)
	accepted, acceptedTok := e.invited(box, "joined@example.com", "member", 1)
	require.Equal(t, 201, e.accept(school1, acceptedTok, "joined", invitedPassword).status)

	list := func(bearer, query string) reply {
		return e.do(req{method: "GET", host: school1, path: "/api/invitations/" + query, bearer: bearer})
	}
	r := list(owner, "")
	require.Equal(t, 200, r.status, "%s", r.body)
	body := r.json(t)
	assert.Equal(t, float64(5), body["count"], "pending only: not expired, not accepted")
	results := body["results"].([]any)
	require.Len(t, results, 5)
	assert.Equal(t, "heir@example.com", results[0].(map[string]any)["email"], "newest first")
	assert.Equal(t, "p0@example.com", results[4].(map[string]any)["email"])
	r = list(admin, "?page_size=2&page=2")
	require.Equal(t, 200, r.status, "%s", r.body)
	body = r.json(t)
	assert.Len(t, body["results"], 2)
	assert.Equal(t, "http://"+school1+"/api/invitations/?page=3&page_size=2", body["next"])
	assert.Equal(t, "http://"+school1+"/api/invitations/?page_size=2", body["previous"])
	r = list(owner, "?search=heir")
	assert.Equal(t, float64(1), r.json(t)["count"])

	del := func(bearer string, id int64) req {
		return req{method: "DELETE", host: school1, path: fmt.Sprintf("/api/invitations/%d/", id), bearer: bearer}
	}
	e.run(t, []scenario{
		{"ErrListMember", req{method: "GET", host: school1, path: "/api/invitations/", bearer: member}, 403, nil},
		{"ErrListNoToken", req{method: "GET", host: school1, path: "/api/invitations/"}, 401, nil},
		{"ErrListPage", req{method: "GET", host: school1, path: "/api/invitations/?page=9", bearer: owner}, 404, map[string]any{"detail": "Invalid page."}},
		{"ErrRevokeMember", del(member, ids[0]), 403, nil},
		{"ErrAdminRevokesOwnerInvitation", del(admin, ownerInv), 403,
			map[string]any{"detail": "Only an owner can invite an owner, or replace or revoke an owner's invitation."}},
		{"OKAdminRevokes", del(admin, ids[0]), 204, nil},
		{"ErrRevokeAgain", del(owner, ids[0]), 404, map[string]any{"detail": "Not found."}},
		{"OKOwnerRevokesOwnerInvitation", del(owner, ownerInv), 204, nil},
		{"ErrRevokeExpired", del(owner, expired), 404, nil},
		{"ErrRevokeAccepted", del(owner, accepted), 404, nil},
		{"ErrRevokeUnknown", del(owner, 999999), 404, nil},
		{"ErrRevokeNonNumeric", req{method: "DELETE", host: school1, path: "/api/invitations/abc/", bearer: owner}, 404, nil},
		{"ErrRevokeNoToken", del("", ids[1]), 401, nil},
		{"ErrMethod", req{method: "GET", host: school1, path: fmt.Sprintf("/api/invitations/%d/", ids[1]), bearer: owner}, 405, nil},
	})
	e.t = t
	assert.Equal(t, float64(3), list(owner, "").json(t)["count"])
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE id = $1 AND revoked_at IS NULL", ids[1]))

	// A revoked invitation's link no longer works.
	r = e.do(req{method: "GET", host: school1, path: "/api/invitations/", bearer: owner})
	require.Equal(t, 200, r.status)
	tok := box.wait("p0@example.com", 1).secret(t)
	r = e.accept(school1, tok, "p0", invitedPassword)
	require.Equal(t, 400, r.status, "%s", r.body)
	assert.Equal(t, map[string]any{"token": []any{invalidInvitation}}, r.json(t))
}

func TestInvitationAccept(t *testing.T) {
	e, box := newMailEnv(t, nil)
	id, tok := e.invited(box, "Newcomer@Example.com", "admin", 1)
	e.addUser("school1", "taken", provision.RoleMember)
	acceptReq := func(host string, body any) req {
		return req{method: "POST", host: host, path: "/api/invitations/accept/", body: body}
	}
	bad := map[string]any{"token": []any{invalidInvitation}}
	e.run(t, []scenario{
		{"ErrFieldsRequired", acceptReq(school1, map[string]any{}), 400, map[string]any{
			"token": []any{"This field is required."}, "username": []any{"This field is required."}, "password": []any{"This field is required."}}},
		{"ErrUnknownToken", acceptReq(school1, map[string]any{"token": "not-a-token", "username": "nc", "password": invitedPassword}), 400, bad},
		{"ErrOtherTenant", acceptReq(school2, map[string]any{"token": tok, "username": "nc", "password": invitedPassword}), 400, bad},
		{"ErrPasswordShort", acceptReq(school1, map[string]any{"token": tok, "username": "nc", "password": "abc"}), 400, nil},
		{"ErrUsernameInvalid", acceptReq(school1, map[string]any{"token": tok, "username": "no spaces", "password": invitedPassword}), 400,
			map[string]any{"username": []any{"Enter a valid username of at most 150 letters, digits and @/./+/-/_ characters."}}},
		{"ErrUsernameTaken", acceptReq(school1, map[string]any{"token": tok, "username": "taken", "password": invitedPassword}), 400,
			map[string]any{"username": []any{"A user with that username already exists."}}},
		{"ErrBadJSON", req{method: "POST", host: school1, path: "/api/invitations/accept/", body: `{"token":`, ctype: "application/json"}, 400, nil},
		{"ErrPublicHost", acceptReq(public, map[string]any{"token": tok, "username": "nc", "password": invitedPassword}), 404, nil},
		{"ErrMethod", req{method: "GET", host: school1, path: "/api/invitations/accept/"}, 405, nil},
	})
	e.t = t
	assert.Contains(t, e.do(acceptReq(school1, map[string]any{"token": tok, "username": "nc", "password": "abc"})).json(t), "password")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE id = $1 AND accepted_at IS NULL AND user_id IS NULL", id),
		"refused acceptances leave the invitation pending")
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school2.users WHERE username = 'nc'"))

	r := e.accept(school1, tok, "newcomer", invitedPassword)
	require.Equal(t, 201, r.status, "%s", r.body)
	pair := r.json(t)
	assert.Len(t, pair, 2)
	var uid int64
	require.NoError(t, e.db.Pool.QueryRow(t.Context(),
		"SELECT id FROM school1.users WHERE username = 'newcomer' AND email = 'Newcomer@Example.com' AND role = 'admin' AND is_staff AND email_verified AND last_login IS NOT NULL").Scan(&uid))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE id = $1 AND accepted_at IS NOT NULL AND user_id = $2", id, uid))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.refresh_tokens WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL", uid))

	// The pair works on school1 as a sign-in's does.
	r = e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: pair["access"].(string)})
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, "admin", r.json(t)["role"])
	r = e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": pair["refresh"].(string)}})
	require.Equal(t, 200, r.status, "%s", r.body)
	r = e.do(req{method: "GET", host: school2, path: "/api/profile/", bearer: pair["access"].(string)})
	assert.Equal(t, 403, r.status, "not on school2")

	// Used: refused, whatever the username.
	r = e.accept(school1, tok, "newcomer2", invitedPassword)
	require.Equal(t, 400, r.status, "%s", r.body)
	assert.Equal(t, bad, r.json(t))
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE username = 'newcomer2'"))

	// An address that became a user's meanwhile: refused, pending still.
	takenID, takenTok := e.invited(box, "meanwhile@example.com", "member", 1)
	e.exec("UPDATE school1.users SET email = 'MEANWHILE@example.com' WHERE username = 'taken'")
	r = e.accept(school1, takenTok, "meanwhile", invitedPassword)
	require.Equal(t, 400, r.status, "%s", r.body)
	assert.Equal(t, map[string]any{"token": []any{
		"The invited email address already belongs to a user of this organization: sign in with that account instead."}}, r.json(t))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE id = $1 AND accepted_at IS NULL", takenID))

	// Expired: refused.
	_, late := e.invited(box, "late@example.com", "member", 1)
	e.exec("UPDATE school1.invitations SET expires_at = now() - interval '1 second' WHERE email = 'late@example.com'")
	r = e.accept(school1, late, "late", invitedPassword)
	require.Equal(t, 400, r.status, "%s", r.body)
	assert.Equal(t, bad, r.json(t))
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE username = 'late'"))
}

// TestInvitationAcceptConcurrent: of concurrent acceptances of one link,
// exactly one makes a user.
func TestInvitationAcceptConcurrent(t *testing.T) {
	e, box := newMailEnv(t, nil)
	_, tok := e.invited(box, "once@example.com", "member", 1)
	// The test holds the invitation's row lock until every acceptance waits
	// for it in its transaction (after its first check and its hashing), so
	// that they all race for it at once.
	// It holds it on a connection of its own: the server's pool is small
	// (four connections), and n acceptances hold n of them while they wait.
	conn, err := pgx.Connect(t.Context(), e.db.URL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	tx, err := conn.Begin(t.Context())
	require.NoError(t, err)
	defer tx.Rollback(context.Background()) //nolint:errcheck // committed below
	_, err = tx.Exec(t.Context(), "SELECT 1 FROM school1.invitations WHERE email = 'once@example.com' FOR UPDATE")
	require.NoError(t, err)
	const n = 3
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, _, err := e.send(req{method: "POST", host: school1, path: "/api/invitations/accept/",
				body: map[string]string{"token": tok, "username": fmt.Sprintf("once%d", i), "password": invitedPassword}})
			if err == nil {
				statuses[i] = r.status
			}
		}()
	}
	// On Citus they wait on the tenant's worker: citus_stat_activity shows
	// every node's backends.
	activity := "pg_stat_activity"
	if len(dbtest.CitusWorkers()) > 0 {
		activity = "citus_stat_activity"
	}
	require.Eventually(t, func() bool {
		return e.count("SELECT count(*) FROM "+activity+" WHERE datname = current_database() AND wait_event_type = 'Lock'") >= n
	}, 20*time.Second, 10*time.Millisecond, "every acceptance waits for the invitation")
	require.NoError(t, tx.Commit(t.Context()))
	wg.Wait()
	var created, refused int
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 400:
			refused++
		}
	}
	assert.Equal(t, 1, created, "statuses %v", statuses)
	assert.Equal(t, n-1, refused, "statuses %v", statuses)
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE email = 'once@example.com'"))
}

// TestInvitationsIsolation: the invitation endpoints refuse a token of
// another tenant, even an owner's, and change nothing; an invitation token
// of school1 does nothing on school2.
func TestInvitationsIsolation(t *testing.T) {
	e, box := newMailEnv(t, nil)
	id, tok := e.invited(box, "kept@example.com", "member", 1)
	other := e.demo(school2)
	cross := map[string]any{"error": "Invalid token for this tenant", "detail": "This token cannot be used on this domain"}
	e.run(t, []scenario{
		{"List", req{method: "GET", host: school1, path: "/api/invitations/", bearer: other}, 403, cross},
		{"Create", req{method: "POST", host: school1, path: "/api/invitations/", bearer: other, body: map[string]any{"email": "spy@example.com", "role": "owner"}}, 403, cross},
		{"Delete", req{method: "DELETE", host: school1, path: fmt.Sprintf("/api/invitations/%d/", id), bearer: other}, 403, cross},
		{"AcceptOnSchool2", req{method: "POST", host: school2, path: "/api/invitations/accept/",
			body: map[string]string{"token": tok, "username": "spy", "password": invitedPassword}}, 400, map[string]any{"token": []any{invalidInvitation}}},
	})
	e.t = t
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.invitations WHERE email = 'spy@example.com'"))
	assert.Equal(t, 0, e.queuedEmails("spy@example.com"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE id = $1 AND revoked_at IS NULL AND accepted_at IS NULL", id))
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school2.users WHERE username = 'spy'"))
	// The invitation still works where it belongs.
	require.Equal(t, 201, e.accept(school1, tok, "kept", invitedPassword).status)
}

// TestInvitationEndToEnd: invite -> the email arrives over SMTP -> accept
// with its token -> sign in with the new account.
func TestInvitationEndToEnd(t *testing.T) {
	e, box := newMailEnv(t, func(c *config.Config) { c.InvitationTTL = 48 * time.Hour })
	r := e.invite(school1, e.demo(school1), "colleague@example.com", "admin")
	require.Equal(t, 201, r.status, "%s", r.body)
	m := box.wait("colleague@example.com", 1)
	assert.Contains(t, m.Text, "as an admin")
	r = e.accept(school1, m.secret(t), "colleague", invitedPassword)
	require.Equal(t, 201, r.status, "%s", r.body)

	access, _ := e.login(school1, "colleague", invitedPassword)
	r = e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: access})
	require.Equal(t, 200, r.status, "%s", r.body)
	p := r.json(t)
	assert.Equal(t, "admin", p["role"])
	assert.Equal(t, true, p["email_verified"])
	assert.Equal(t, "colleague@example.com", p["email"])
	assert.Equal(t, true, p["is_staff"])
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE email = 'colleague@example.com' AND expires_at - created_at = interval '48 hours'"),
		"INVITATION_TTL")
}

// TestInvitationPages: the page of an invitation link shows the invitation
// and a form that accepts it, through the same code as the API.
func TestInvitationPages(t *testing.T) {
	e, box := newMailEnv(t, nil)
	_, tok := e.invited(box, "pages@example.com", "admin", 1)
	e.addUser("school1", "taken", provision.RoleMember)
	b := newBrowser(t, e.srv.URL)
	path := "/accounts/invite/" + tok + "/"
	p := b.hostDo(school1, "GET", path, nil)
	require.Equal(t, 200, p.status, p.body)
	assert.Contains(t, p.body, "<strong>demo</strong> invited you (<strong>pages@example.com</strong>) to join <strong>School 1</strong> as an admin.")
	assert.Contains(t, p.body, `name="password2"`)
	assert.Equal(t, "no-referrer", p.header.Get("Referrer-Policy"))
	assert.Equal(t, "DENY", p.header.Get("X-Frame-Options"))
	assert.Contains(t, p.header.Get("Cache-Control"), "no-store")
	assert.Contains(t, p.header.Get("Content-Security-Policy"), "default-src 'none'")

	p = b.hostDo(school1, "GET", "/accounts/invite/nope/", nil)
	assert.Equal(t, 400, p.status)
	assert.Contains(t, p.body, "This invitation link does not work")
	p = b.hostDo(school2, "GET", path, nil)
	assert.Equal(t, 400, p.status, "a link of school1 does nothing on school2")
	p = b.hostDo(public, "GET", path, nil)
	assert.Equal(t, 404, p.status)

	form := func(username, pw, pw2 string) url.Values {
		return url.Values{"username": {username}, "password": {pw}, "password2": {pw2}}
	}
	p = b.hostDo(school1, "POST", path, form("pageuser", invitedPassword, invitedPassword+"x"))
	require.Equal(t, 400, p.status, p.body)
	assert.Contains(t, p.body, `id="password2-error">The two password fields didn’t match.`)
	assert.Contains(t, p.body, `value="pageuser"`, "the username is kept")
	assert.NotContains(t, p.body, invitedPassword, "passwords are not")
	p = b.hostDo(school1, "POST", path, form("", "", ""))
	require.Equal(t, 400, p.status, p.body)
	assert.Contains(t, p.body, `id="username-error">This field is required.`)
	p = b.hostDo(school1, "POST", path, form("pageuser", "abc", "abc"))
	require.Equal(t, 400, p.status, p.body)
	assert.Contains(t, p.body, `id="password-error">`)
	p = b.hostDo(school1, "POST", path, form("taken", invitedPassword, invitedPassword))
	require.Equal(t, 400, p.status, p.body)
	assert.Contains(t, p.body, `id="username-error">A user with that username already exists.`)
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.users WHERE email = 'pages@example.com'"))

	p = b.hostDo(school1, "POST", path, form("pageuser", invitedPassword, invitedPassword))
	require.Equal(t, 200, p.status, p.body)
	assert.Contains(t, p.body, "Your account <strong>pageuser</strong> is ready.")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'pageuser' AND email = 'pages@example.com' AND role = 'admin' AND email_verified"))
	e.login(school1, "pageuser", invitedPassword)

	p = b.hostDo(school1, "GET", path, nil)
	assert.Equal(t, 400, p.status, "used")
	p = b.hostDo(school1, "POST", path, form("pageuser2", invitedPassword, invitedPassword))
	assert.Equal(t, 400, p.status, "used")
	assert.Contains(t, p.body, "This invitation link does not work")
}

// TestInvitationsAdminUI: the admin's tenant page shows each user's role
// and the pending invitations, which a superuser resends or revokes.
func TestInvitationsAdminUI(t *testing.T) {
	e, box := newMailEnv(t, nil)
	e.superuser(suName, suPassword)
	e.addUser("school1", "deputy", provision.RoleAdmin)
	id, first := e.invited(box, "staff@example.com", "admin", 1)
	b := newBrowser(t, e.srv.URL)
	csrf := b.signIn(suName, suPassword)

	p := b.get("/admin/tenants/school1/")
	require.Equal(t, 200, p.status)
	assert.Regexp(t, `>demo</a></td>\s*<td>demo@school1.com</td>\s*<td class="role"><span class="badge">owner</span></td>`, p.body)
	assert.Regexp(t, `>deputy</a></td>\s*<td>.*</td>\s*<td class="role"><span class="badge">admin</span></td>`, p.body)
	assert.Contains(t, p.body, `<td class="strong">staff@example.com</td>`)
	resend := fmt.Sprintf("/admin/tenants/school1/invitations/%d/resend/", id)
	revoke := fmt.Sprintf("/admin/tenants/school1/invitations/%d/revoke/", id)
	assert.Contains(t, p.body, `action="`+resend+`"`)
	assert.Contains(t, p.body, `action="`+revoke+`"`)

	p = b.post(resend, url.Values{})
	assert.Equal(t, 403, p.status, "no CSRF token")
	p = b.post(revoke, url.Values{"csrf_token": {"forged"}})
	assert.Equal(t, 403, p.status, "a wrong CSRF token")
	p = b.do("POST", revoke, url.Values{"csrf_token": {csrf}}, http.Header{"Origin": {"https://evil.example"}})
	assert.Equal(t, 403, p.status, "another site's form")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE id = $1 AND revoked_at IS NULL", id), "refused posts change nothing")
	assert.Equal(t, 1, e.queuedEmails("staff@example.com"))

	p = b.post(resend, url.Values{"csrf_token": {csrf}})
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	m := box.wait("staff@example.com", 2)
	second := m.secret(t)
	assert.NotEqual(t, first, second)
	assert.Contains(t, m.Text, "An administrator invited you to join as an admin.")
	assert.True(t, strings.HasPrefix(m.link(t), "http://school1.localhost:"), m.link(t))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.invitations WHERE id = $1 AND revoked_at IS NOT NULL", id))
	var newID int64
	require.NoError(t, e.db.Pool.QueryRow(t.Context(),
		"SELECT id FROM school1.invitations WHERE email = 'staff@example.com' AND revoked_at IS NULL AND invited_by IS NULL AND role = 'admin' AND expires_at > now() + interval '6 days'").Scan(&newID))
	r := e.accept(school1, first, "staff1", invitedPassword)
	require.Equal(t, 400, r.status, "the first link no longer works: %s", r.body)
	p = b.post(resend, url.Values{"csrf_token": {csrf}})
	assert.Equal(t, 404, p.status, "the replaced invitation is no longer pending")

	p = b.get("/admin/tenants/school1/")
	assert.Contains(t, p.body, fmt.Sprintf(`action="/admin/tenants/school1/invitations/%d/revoke/"`, newID))
	assert.NotContains(t, p.body, `action="`+revoke+`"`)
	p = b.post(fmt.Sprintf("/admin/tenants/school1/invitations/%d/revoke/", newID), url.Values{"csrf_token": {csrf}})
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	p = b.get("/admin/tenants/school1/")
	assert.Contains(t, p.body, "Revoked the invitation of staff@example.com.")
	assert.NotContains(t, p.body, `<td class="strong">staff@example.com</td>`)
	assert.Contains(t, p.body, "No pending invitations.")
	r = e.accept(school1, second, "staff2", invitedPassword)
	assert.Equal(t, 400, r.status, "revoked: %s", r.body)
	p = b.post(fmt.Sprintf("/admin/tenants/school1/invitations/%d/revoke/", newID), url.Values{"csrf_token": {csrf}})
	assert.Equal(t, 404, p.status)
	p = b.post("/admin/tenants/nosuch/invitations/1/revoke/", url.Values{"csrf_token": {csrf}})
	assert.Equal(t, 404, p.status)
}

// TestInvitationFrontendURL: with FRONTEND_URL the email links to the
// customer's own front end, which accepts through the API.
func TestInvitationFrontendURL(t *testing.T) {
	e, box := newMailEnv(t, func(c *config.Config) { c.FrontendURL = "https://app.example.com/{kind}?token={token}&host={host}" })
	r := e.invite(school1, e.demo(school1), "front@example.com", "")
	require.Equal(t, 201, r.status, "%s", r.body)
	link := box.wait("front@example.com", 1).link(t)
	u, err := url.Parse(link)
	require.NoError(t, err)
	assert.Equal(t, "app.example.com", u.Host)
	assert.Equal(t, "/invite", u.Path)
	assert.Equal(t, school1, u.Query().Get("host"))
	r = e.accept(school1, u.Query().Get("token"), "front", invitedPassword)
	require.Equal(t, 201, r.status, "%s", r.body)
}

// TestInvitationsOptions: OPTIONS on the invitation paths authenticates and
// checks the role as their other methods do.
func TestInvitationsOptions(t *testing.T) {
	e := newEnv(t)
	e.addUser("school1", "pupil", provision.RoleMember)
	opts := func(path, bearer string) req {
		return req{method: "OPTIONS", host: school1, path: path, bearer: bearer}
	}
	r := e.do(opts("/api/invitations/", e.demo(school1)))
	require.Equal(t, 200, r.status, "%s", r.body)
	body := r.json(t)
	assert.Equal(t, "Invitation List", body["name"])
	post := body["actions"].(map[string]any)["POST"].(map[string]any)
	assert.Equal(t, true, post["email"].(map[string]any)["required"])
	assert.Equal(t, "choice", post["role"].(map[string]any)["type"])
	member := e.signIn(school1, "pupil")
	for _, p := range []string{"/api/invitations/", "/api/invitations/1/"} {
		assert.Equal(t, 403, e.do(opts(p, member)).status, p)
		assert.Equal(t, 401, e.do(opts(p, "")).status, p)
		assert.Equal(t, 403, e.do(opts(p, e.demo(school2))).status, p)
	}
	r = e.do(opts("/api/invitations/accept/", ""))
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, "Invitation Accept", r.json(t)["name"])
}
