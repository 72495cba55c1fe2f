package server_test

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/provision"
)

const (
	teacherEmail = "teacher@school1.com"
	newPassword  = "Blue-Harbour-Lantern-42"
	resetBody    = `{"detail":"If an account uses this address, we sent it a link to reset the password."}`
	linkInvalid  = "This link is invalid or has expired, or it was already used."
)

// addTeacher creates school1's member teacher with teacherEmail and
// userPassword, and returns its id.
func (e *env) addTeacher() int64 {
	e.t.Helper()
	u, err := e.prov.CreateUser(e.t.Context(), "school1", provision.UserParams{
		Username: "teacher", Email: teacherEmail, Password: userPassword, Role: provision.RoleMember,
	})
	require.NoError(e.t, err)
	return u.ID
}

// nextSecond waits until the second after now has begun: access tokens
// carry their issue time in whole seconds, so one issued in the second of a
// password change still passes (auth.issuedAfter), and a test that wants
// it refused must have taken it in an earlier second.
func nextSecond() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
}

func sha(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

func post(host, path string, body any, bearer string) req {
	return req{method: "POST", host: host, path: path, body: body, bearer: bearer}
}

func TestPasswordChange(t *testing.T) {
	e := newEnv(t)
	id := e.addTeacher()
	access, _ := e.login(school1, "teacher", userPassword)
	otherAccess, otherRefresh := e.login(school1, "teacher", userPassword)
	change := func(old, pw string) req {
		return post(school1, "/api/password/change/", map[string]any{"old_password": old, "new_password": pw}, access)
	}
	e.run(t, []scenario{
		{"ErrRequired", post(school1, "/api/password/change/", map[string]any{}, access), 400, map[string]any{
			"old_password": []any{"This field is required."}, "new_password": []any{"This field is required."}}},
		{"ErrBlank", change("", newPassword), 400, map[string]any{"old_password": []any{"This field may not be blank."}}},
		{"ErrOldWrong", change("not-my-password", newPassword), 400, map[string]any{
			"old_password": []any{"Your old password was entered incorrectly. Please enter it again."}}},
		{"ErrRules", change(userPassword, "12345678"), 400, map[string]any{
			"new_password": []any{"This password is too common.", "This password is entirely numeric."}}},
		{"ErrSimilar", change(userPassword, "teacher12"), 400, map[string]any{
			"new_password": []any{"The password is too similar to the username."}}},
		{"ErrBoth", change("nope-nope", "short"), 400, map[string]any{
			"old_password": []any{"Your old password was entered incorrectly. Please enter it again."},
			"new_password": []any{"This password is too short. It must contain at least 8 characters."}}},
		{"ErrNoAuth", post(school1, "/api/password/change/", map[string]any{"old_password": userPassword, "new_password": newPassword}, ""), 401,
			map[string]any{"detail": "Authentication credentials were not provided."}},
		{"ErrOtherTenant", post(school1, "/api/password/change/", map[string]any{"old_password": "demo123", "new_password": newPassword}, e.demo(school2)), 403,
			map[string]any{"error": "Invalid token for this tenant"}},
	})
	e.t = t // e.run leaves the last subtest in e.t
	// Nothing changed so far.
	assert.Zero(t, e.count("SELECT count(*) FROM school1.users WHERE id = $1 AND tokens_valid_after IS NOT NULL", id))

	nextSecond()
	r := e.do(change(userPassword, newPassword))
	require.Equal(t, 200, r.status, "%s", r.body)
	got := r.json(t)
	assert.Equal(t, "New password has been saved.", got["detail"])
	newAccess, newRefresh := got["access"].(string), got["refresh"].(string)

	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE id = $1 AND tokens_valid_after IS NOT NULL", id))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL", id),
		"only the new pair's refresh token is live")
	// The other session is over: its refresh and access tokens are refused.
	r = e.do(post(school1, "/api/token/refresh/", map[string]string{"refresh": otherRefresh}, ""))
	assert.Equal(t, 401, r.status, "%s", r.body)
	r = e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: otherAccess})
	assert.Equal(t, 401, r.status, "%s", r.body)
	r = e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: access})
	assert.Equal(t, 401, r.status, "the caller's old access token too: %s", r.body)
	// The returned pair works.
	r = e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: newAccess})
	assert.Equal(t, 200, r.status, "%s", r.body)
	r = e.do(post(school1, "/api/token/refresh/", map[string]string{"refresh": newRefresh}, ""))
	assert.Equal(t, 200, r.status, "%s", r.body)
	// The new password signs in, the old one no longer does.
	e.login(school1, "teacher", newPassword)
	r = e.do(post(school1, "/api/token/", map[string]string{"username": "teacher", "password": userPassword}, ""))
	assert.Equal(t, 401, r.status)
}

// TestPasswordChangeThrottled: wrong old passwords count against the
// sign-in throttle of the account and client address, so a stolen access
// token cannot be used to guess the password.
func TestPasswordChangeThrottled(t *testing.T) {
	e := newEnv(t)
	e.addTeacher()
	access := e.signIn(school1, "teacher")
	for i := 0; i < 5; i++ {
		r := e.do(post(school1, "/api/password/change/", map[string]any{"old_password": fmt.Sprintf("guess-%d-xyz", i), "new_password": newPassword}, access))
		require.Equal(t, 400, r.status, "%s", r.body)
	}
	r := e.do(post(school1, "/api/password/change/", map[string]any{"old_password": userPassword, "new_password": newPassword}, access))
	require.Equal(t, 429, r.status, "%s", r.body)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	// The same count as sign-in's: signing in from this address waits too.
	r = e.do(post(school1, "/api/token/", map[string]string{"username": "teacher", "password": userPassword}, ""))
	assert.Equal(t, 429, r.status)
	// From another address the owner still can.
	rq := post(school1, "/api/token/", map[string]string{"username": "teacher", "password": userPassword}, "")
	rq.from = "127.0.0.2"
	assert.Equal(t, 200, e.do(rq).status)
}

// TestPasswordResetEndToEnd: reset -> mail -> confirm with the mail's token
// -> old refresh and access tokens refused -> sign in with the new password.
func TestPasswordResetEndToEnd(t *testing.T) {
	e, box := newMailEnv(t, nil)
	id := e.addTeacher()
	oldAccess, oldRefresh := e.login(school1, "teacher", userPassword)
	nextSecond()

	r := e.do(post(school1, "/api/password/reset/", map[string]string{"email": "Teacher@School1.com"}, ""))
	require.Equal(t, 202, r.status, "%s", r.body)
	assert.JSONEq(t, resetBody, string(r.body))

	m := box.wait(teacherEmail, 1)
	assert.Contains(t, m.Subject, "Reset your password")
	assert.Contains(t, m.Subject, "School 1", "the tenant's name is in the subject")
	link := m.link(t)
	assert.True(t, strings.HasPrefix(link, "http://school1.localhost:8000/accounts/reset/"), link)
	secret := m.secret(t)
	assert.Contains(t, m.HTML, link)

	// Only the hash is stored.
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM school1.account_tokens WHERE token_hash = $1 AND purpose = 'password_reset'
		AND user_id = $2 AND used_at IS NULL AND expires_at BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes'`, sha(secret), id))
	assert.Zero(t, e.count(`SELECT count(*) FROM school1.account_tokens WHERE position($1::bytea IN token_hash) > 0`, []byte(secret)))

	confirm := func(host, tok, pw string) req {
		return post(host, "/api/password/reset/confirm/", map[string]string{"token": tok, "new_password": pw}, "")
	}
	e.run(t, []scenario{
		{"ErrRequired", post(school1, "/api/password/reset/confirm/", map[string]string{}, ""), 400, map[string]any{
			"token": []any{"This field is required."}, "new_password": []any{"This field is required."}}},
		{"ErrTokenUnknown", confirm(school1, "not-a-token", newPassword), 400, map[string]any{"token": []any{linkInvalid}}},
		{"ErrOtherTenant", confirm(school2, secret, newPassword), 400, map[string]any{"token": []any{linkInvalid}}},
		{"ErrRules", confirm(school1, secret, "teacher1"), 400, map[string]any{"new_password": []any{
			"The password is too similar to the username."}}},
		{"ErrRulesAll", confirm(school1, secret, "1234"), 400, map[string]any{"new_password": []any{
			"This password is too short. It must contain at least 8 characters.", "This password is too common.",
			"This password is entirely numeric."}}},
	})
	e.t = t // e.run leaves the last subtest in e.t
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.account_tokens WHERE token_hash = $1 AND used_at IS NULL", sha(secret)),
		"a refused password does not use the link up")

	r = e.do(confirm(school1, secret, newPassword))
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.account_tokens WHERE token_hash = $1 AND used_at IS NOT NULL", sha(secret)))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE id = $1 AND tokens_valid_after IS NOT NULL AND email_verified", id))
	assert.Zero(t, e.count("SELECT count(*) FROM school1.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL", id))

	// The link works once.
	r = e.do(confirm(school1, secret, "Another-Fine-Passphrase"))
	assert.Equal(t, 400, r.status)
	// Every earlier sign-in is over.
	r = e.do(post(school1, "/api/token/refresh/", map[string]string{"refresh": oldRefresh}, ""))
	assert.Equal(t, 401, r.status, "%s", r.body)
	assert.Equal(t, "token_not_valid", r.json(t)["code"])
	r = e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: oldAccess})
	assert.Equal(t, 401, r.status, "%s", r.body)
	// The new password signs in.
	access, _ := e.login(school1, "teacher", newPassword)
	r = e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: access})
	assert.Equal(t, 200, r.status)
	assert.Equal(t, true, r.json(t)["email_verified"], "the reset link reached the address")
}

// TestPasswordResetRequest: the answer is the same 202 whether or not an
// account uses the address; only active accounts with it get an email.
func TestPasswordResetRequest(t *testing.T) {
	e, box := newMailEnv(t, nil)
	e.addTeacher()
	// Two accounts share an address (one inactive), and school2 has one too.
	_, err := e.prov.CreateUser(t.Context(), "school1", provision.UserParams{Username: "shared1", Email: "shared@example.com", Password: userPassword})
	require.NoError(t, err)
	_, err = e.prov.CreateUser(t.Context(), "school1", provision.UserParams{Username: "shared2", Email: "SHARED@example.com", Password: userPassword})
	require.NoError(t, err)
	_, err = e.prov.CreateUser(t.Context(), "school1", provision.UserParams{Username: "gone", Email: "gone@example.com", Password: userPassword})
	require.NoError(t, err)
	e.exec("UPDATE school1.users SET is_active = false WHERE username = 'gone'")
	_, err = e.prov.CreateUser(t.Context(), "school2", provision.UserParams{Username: "elsewhere", Email: "elsewhere@example.com", Password: userPassword})
	require.NoError(t, err)

	reset := func(email any) req { return post(school1, "/api/password/reset/", map[string]any{"email": email}, "") }
	unknown := e.do(reset("nobody@example.com"))
	inactive := e.do(reset("gone@example.com"))
	otherTenant := e.do(reset("elsewhere@example.com"))
	shared := e.do(reset("shared@example.com"))
	known := e.do(reset(teacherEmail))
	for _, r := range []reply{unknown, inactive, otherTenant, shared, known} {
		assert.Equal(t, 202, r.status)
		assert.Equal(t, known.body, r.body, "byte-identical answers")
		assert.Equal(t, known.header.Get("Content-Type"), r.header.Get("Content-Type"))
	}
	box.wait(teacherEmail, 1)
	require.Eventually(t, func() bool { return len(box.to("shared@example.com")) == 2 }, 15*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // any stray email would be sent by now
	assert.Len(t, box.messages(), 3, "no email for an unknown, inactive or other tenant's address")
	assert.Equal(t, 3, e.count("SELECT count(*) FROM school1.account_tokens"))
	assert.Equal(t, 3, e.count("SELECT count(*) FROM river.river_job WHERE kind = 'email.send'"), "three emails were ever enqueued")
	assert.Zero(t, e.count("SELECT count(*) FROM school2.account_tokens"))

	e.run(t, []scenario{
		{"ErrRequired", post(school1, "/api/password/reset/", map[string]any{}, ""), 400, map[string]any{"email": []any{"This field is required."}}},
		{"ErrInvalid", reset("not-an-address"), 400, map[string]any{"email": []any{"Enter a valid email address."}}},
		{"ErrNull", reset(nil), 400, map[string]any{"email": []any{"This field may not be null."}}},
		{"ErrPublicHost", req{method: "POST", host: public, path: "/api/password/reset/", body: map[string]any{"email": teacherEmail}}, 404, nil},
	})
	e.t = t // e.run leaves the last subtest in e.t
}

// TestPasswordResetThrottled: per address and client, then per client.
func TestPasswordResetThrottled(t *testing.T) {
	e := newEnv(t)
	from := func(ip, email string) req {
		rq := post(school1, "/api/password/reset/", map[string]string{"email": email}, "")
		rq.from = ip
		return rq
	}
	for i := 0; i < 5; i++ {
		require.Equal(t, 202, e.do(from("127.0.0.3", "a@example.com")).status)
	}
	r := e.do(from("127.0.0.3", "A@example.com"))
	require.Equal(t, 429, r.status, "%s", r.body)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Contains(t, r.json(t)["detail"], "Request was throttled.")
	// Another address from this client, and this address from another client, may go on.
	assert.Equal(t, 202, e.do(from("127.0.0.3", "b@example.com")).status)
	assert.Equal(t, 202, e.do(from("127.0.0.4", "a@example.com")).status)
	// 20 a client, whatever the addresses (6 counted so far from .3).
	for i := 0; i < 14; i++ {
		require.Equal(t, 202, e.do(from("127.0.0.3", fmt.Sprintf("c%d@example.com", i))).status, "request %d", i)
	}
	assert.Equal(t, 429, e.do(from("127.0.0.3", "fresh@example.com")).status)
	// On another tenant too: the client's limit is over every tenant.
	rq := from("127.0.0.3", "fresh@example.com")
	rq.host = school2
	assert.Equal(t, 429, e.do(rq).status)
}

// TestPasswordResetConcurrentConfirm: of two confirms of one link, one wins.
func TestPasswordResetConcurrentConfirm(t *testing.T) {
	e, box := newMailEnv(t, nil)
	e.addTeacher()
	require.Equal(t, 202, e.do(post(school1, "/api/password/reset/", map[string]string{"email": teacherEmail}, "")).status)
	secret := box.wait(teacherEmail, 1).secret(t)
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, _, err := e.send(post(school1, "/api/password/reset/confirm/",
				map[string]string{"token": secret, "new_password": fmt.Sprintf("Concurrent-Pass-%d", i)}, ""))
			if err == nil {
				statuses[i] = r.status
			}
		}()
	}
	wg.Wait()
	assert.ElementsMatch(t, []int{200, 400}, statuses)
}

// TestPasswordResetEndsOtherLinks: a reset done with one link uses up the
// user's other reset links.
func TestPasswordResetEndsOtherLinks(t *testing.T) {
	e, box := newMailEnv(t, nil)
	e.addTeacher()
	for i := 0; i < 2; i++ {
		require.Equal(t, 202, e.do(post(school1, "/api/password/reset/", map[string]string{"email": teacherEmail}, "")).status)
	}
	first, second := box.wait(teacherEmail, 1).secret(t), box.wait(teacherEmail, 2).secret(t)
	require.NotEqual(t, first, second)
	require.Equal(t, 200, e.do(post(school1, "/api/password/reset/confirm/", map[string]string{"token": second, "new_password": newPassword}, "")).status)
	r := e.do(post(school1, "/api/password/reset/confirm/", map[string]string{"token": first, "new_password": "Other-Fine-Passphrase"}, ""))
	assert.Equal(t, 400, r.status)
	e.login(school1, "teacher", newPassword)
}

// TestPasswordResetSMTPDown: the email of a reset requested while the SMTP
// server is down is delivered once it is back (the job is retried).
func TestPasswordResetSMTPDown(t *testing.T) {
	// The server is "down": it accepts and hangs up at once. Holding the
	// port (rather than closing it) keeps another test's listener off it; a
	// reused port that accepted and stayed silent held the dial for the
	// mail client's whole 15 s timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	e := newEnvWith(t, nil)
	e.startWorkers("smtp://" + addr)
	e.addTeacher()
	require.Equal(t, 202, e.do(post(school1, "/api/password/reset/", map[string]string{"email": teacherEmail}, "")).status)
	// The job fails while nothing listens.
	require.Eventually(t, func() bool {
		return e.count("SELECT count(*) FROM river.river_job WHERE kind LIKE '%mail%' AND cardinality(errors) > 0") > 0
	}, time.Minute, 50*time.Millisecond, "the job was tried and failed")
	require.NoError(t, l.Close())
	box := startMailbox(t, addr)
	m := box.wait(teacherEmail, 1)
	assert.Contains(t, m.Subject, "Reset your password")
	require.Equal(t, 200, e.do(post(school1, "/api/password/reset/confirm/", map[string]string{"token": m.secret(t), "new_password": newPassword}, "")).status)
}

// TestEmailVerification: resend -> mail -> verify; an email change through
// /api/users/ unverifies the address and sends a link to the new one.
func TestEmailVerification(t *testing.T) {
	e, box := newMailEnv(t, nil)
	id := e.addTeacher()
	access := e.signIn(school1, "teacher")
	resend := post(school1, "/api/email/verify/resend/", nil, access)

	r := e.do(resend)
	require.Equal(t, 202, r.status, "%s", r.body)
	assert.Equal(t, "We sent a verification link to "+teacherEmail+".", r.json(t)["detail"])
	m := box.wait(teacherEmail, 1)
	assert.Contains(t, m.Subject, "Verify your email address")
	assert.True(t, strings.HasPrefix(m.link(t), "http://school1.localhost:8000/accounts/verify/"), m.link(t))
	secret := m.secret(t)
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.account_tokens WHERE token_hash = $1 AND purpose = 'email_verification'", sha(secret)))

	verify := func(host, tok string) req {
		return post(host, "/api/email/verify/", map[string]string{"token": tok}, "")
	}
	e.run(t, []scenario{
		{"ErrRequired", post(school1, "/api/email/verify/", map[string]string{}, ""), 400, map[string]any{"token": []any{"This field is required."}}},
		{"ErrUnknown", verify(school1, "nope"), 400, map[string]any{"token": []any{linkInvalid}}},
		{"ErrOtherTenant", verify(school2, secret), 400, map[string]any{"token": []any{linkInvalid}}},
		{"ErrResendNoAuth", post(school1, "/api/email/verify/resend/", nil, ""), 401, nil},
		{"ErrResendOtherTenant", post(school1, "/api/email/verify/resend/", nil, e.demo(school2)), 403,
			map[string]any{"error": "Invalid token for this tenant"}},
		{"OK", verify(school1, secret), 200, map[string]any{"detail": "Your email address is verified."}},
		{"ErrUsed", verify(school1, secret), 400, map[string]any{"token": []any{linkInvalid}}},
		{"ErrAlreadyVerified", resend, 400, map[string]any{"detail": "Your email address is already verified."}},
	})
	e.t = t // e.run leaves the last subtest in e.t
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE id = $1 AND email_verified", id))
	r = e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: access})
	assert.Equal(t, true, r.json(t)["email_verified"])

	// The owner changes the address: unverified, and a link to the new one.
	r = e.do(req{method: "PATCH", host: school1, path: userPath(id), body: map[string]any{"email": "new@school1.com"}, bearer: e.demo(school1)})
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, false, r.json(t)["email_verified"])
	m = box.wait("new@school1.com", 1)
	// The same address in other letters is no change.
	r = e.do(req{method: "PATCH", host: school1, path: userPath(id), body: map[string]any{"email": "NEW@school1.com"}, bearer: e.demo(school1)})
	require.Equal(t, 200, r.status, "%s", r.body)
	// A link of the old address no longer verifies anything.
	require.Equal(t, 202, e.do(post(school1, "/api/email/verify/resend/", nil, access)).status)
	fresh := box.wait("new@school1.com", 2).secret(t)
	e.exec("UPDATE school1.users SET email = 'third@school1.com' WHERE id = $1", id)
	assert.Equal(t, 400, e.do(verify(school1, fresh)).status, "sent to an address the user no longer has")
	e.exec("UPDATE school1.users SET email = 'new@school1.com' WHERE id = $1", id)
	require.Equal(t, 200, e.do(verify(school1, m.secret(t))).status)
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE id = $1 AND email_verified", id))
	assert.Len(t, box.to(teacherEmail), 1, "nothing more to the old address")

	// A user without an address has nothing to verify.
	nomail := e.addUser("school1", "nomail", provision.RoleMember)
	_ = nomail
	r = e.do(post(school1, "/api/email/verify/resend/", nil, e.signIn(school1, "nomail")))
	assert.Equal(t, 400, r.status)
	assert.Equal(t, map[string]any{"email": []any{"Your account has no email address to verify; add one first."}}, r.json(t))
}

// TestEmailVerificationResendThrottled: at most 5 an hour per user.
func TestEmailVerificationResendThrottled(t *testing.T) {
	e := newEnv(t)
	e.addTeacher()
	access := e.signIn(school1, "teacher")
	for i := 0; i < 5; i++ {
		require.Equal(t, 202, e.do(post(school1, "/api/email/verify/resend/", nil, access)).status)
	}
	r := e.do(post(school1, "/api/email/verify/resend/", nil, access))
	assert.Equal(t, 429, r.status, "%s", r.body)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Equal(t, 5, e.count("SELECT count(*) FROM school1.account_tokens WHERE purpose = 'email_verification'"))
}

// TestRequireVerifiedEmail: with REQUIRE_VERIFIED_EMAIL on, an unverified
// user who knows the password gets a clear 403 at sign-in and refresh;
// after verifying, signing in works.
func TestRequireVerifiedEmail(t *testing.T) {
	e, box := newMailEnv(t, func(c *config.Config) { c.RequireVerifiedEmail = true })
	id := e.addTeacher()
	signIn := func(pw string) req {
		return post(school1, "/api/token/", map[string]string{"username": "teacher", "password": pw}, "")
	}
	unverified := map[string]any{"detail": "Verify your email address before signing in.", "code": "email_not_verified"}
	e.run(t, []scenario{
		{"ErrUnverified", signIn(userPassword), 403, unverified},
		{"ErrWrongPasswordTellsNothing", signIn("not-the-password"), 401, map[string]any{"detail": "No active account found with the given credentials"}},
	})
	e.t = t // e.run leaves the last subtest in e.t
	// A sign-in from before (verified then) cannot be refreshed while unverified.
	e.exec("UPDATE school1.users SET email_verified = true WHERE id = $1", id)
	access, refresh := e.login(school1, "teacher", userPassword)
	e.exec("UPDATE school1.users SET email_verified = false WHERE id = $1", id)
	r := e.do(post(school1, "/api/token/refresh/", map[string]string{"refresh": refresh}, ""))
	require.Equal(t, 403, r.status, "%s", r.body)
	assert.Equal(t, unverified, r.json(t))

	// Verify, then all is well (the refused refresh was not used up).
	require.Equal(t, 202, e.do(post(school1, "/api/email/verify/resend/", nil, access)).status)
	require.Equal(t, 200, e.do(post(school1, "/api/email/verify/", map[string]string{"token": box.wait(teacherEmail, 1).secret(t)}, "")).status)
	assert.Equal(t, 200, e.do(signIn(userPassword)).status)
	assert.Equal(t, 200, e.do(post(school1, "/api/token/refresh/", map[string]string{"refresh": refresh}, "")).status)
}

// TestPasswordRulesEverywhere: the rules, with the user's own attributes,
// apply to /api/users/ and to the admin's set_password.
func TestPasswordRulesEverywhere(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	e.run(t, []scenario{
		{"ErrUsersCreateAll", post(school1, "/api/users/", map[string]any{"username": "12345", "password": "12345"}, tok), 400,
			map[string]any{"password": []any{"The password is too similar to the username.",
				"This password is too short. It must contain at least 8 characters.", "This password is too common.",
				"This password is entirely numeric."}}},
		{"ErrUsersCreateEmail", post(school1, "/api/users/", map[string]any{"username": "ann", "email": "marguerite@school1.com", "password": "marguerite!"}, tok), 400,
			map[string]any{"password": []any{"The password is too similar to the email address."}}},
		{"OKUsersCreate", post(school1, "/api/users/", map[string]any{"username": "ann", "email": "marguerite@school1.com", "password": newPassword}, tok), 201, nil},
	})
	e.t = t // e.run leaves the last subtest in e.t
	_, err := e.prov.SetUserPassword(t.Context(), "school1", int64(e.count("SELECT id FROM school1.users WHERE username = 'ann'")), "Marguerite")
	var fe *provision.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, []string{"The password is too similar to the email address."}, fe.All())
}

func TestResetPage(t *testing.T) {
	e, box := newMailEnv(t, nil)
	e.addTeacher()
	require.Equal(t, 202, e.do(post(school1, "/api/password/reset/", map[string]string{"email": teacherEmail}, "")).status)
	path := "/accounts/reset/" + box.wait(teacherEmail, 1).secret(t) + "/"
	page := func(method, p, form string) reply {
		rq := req{method: method, host: school1, path: p}
		if form != "" {
			rq.body, rq.ctype = form, "application/x-www-form-urlencoded"
		}
		return e.do(rq)
	}
	r := page("GET", "/accounts/reset/nope/", "")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Contains(t, string(r.body), "invalid or has expired")
	r = page("GET", path, "")
	require.Equal(t, 200, r.status)
	assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	assert.Equal(t, "no-referrer", r.header.Get("Referrer-Policy"))
	assert.Contains(t, string(r.body), `name="new_password1"`)
	assert.Contains(t, string(r.body), "teacher")

	r = page("POST", path, "new_password1="+newPassword+"&new_password2=other")
	assert.Equal(t, 400, r.status)
	assert.Contains(t, string(r.body), "The two password fields didn’t match.")
	assert.NotContains(t, string(r.body), newPassword, "a password is never sent back")
	r = page("POST", path, "new_password1=12345678&new_password2=12345678")
	assert.Equal(t, 400, r.status)
	assert.Contains(t, string(r.body), "This password is too common. This password is entirely numeric.")
	r = page("POST", path, "new_password1="+newPassword+"&new_password2="+newPassword)
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), "Password changed")
	e.login(school1, "teacher", newPassword)
	r = page("GET", path, "")
	assert.Equal(t, http.StatusNotFound, r.status, "used up")
	// On another tenant's host the link is nobody's.
	r = e.do(req{method: "GET", host: school2, path: path})
	assert.Equal(t, http.StatusNotFound, r.status)
}

func TestVerifyPage(t *testing.T) {
	e, box := newMailEnv(t, nil)
	id := e.addTeacher()
	require.Equal(t, 202, e.do(post(school1, "/api/email/verify/resend/", nil, e.signIn(school1, "teacher"))).status)
	secret := box.wait(teacherEmail, 1).secret(t)
	path := "/accounts/verify/" + secret + "/"
	// Fetching the page (as a mail scanner would) verifies nothing.
	for i := 0; i < 2; i++ {
		r := e.do(req{method: "GET", host: school1, path: path})
		require.Equal(t, 200, r.status)
		assert.Contains(t, string(r.body), `<button type="submit" class="primary wide">Verify</button>`)
		assert.Contains(t, string(r.body), teacherEmail)
	}
	assert.Zero(t, e.count("SELECT count(*) FROM school1.users WHERE id = $1 AND email_verified", id))
	assert.Equal(t, 404, e.do(req{method: "POST", host: school2, path: path}).status, "another tenant's host")
	r := e.do(req{method: "POST", host: school1, path: path})
	require.Equal(t, 200, r.status)
	assert.Contains(t, string(r.body), "your email address is verified")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE id = $1 AND email_verified", id))
	r = e.do(req{method: "POST", host: school1, path: path})
	assert.Equal(t, 404, r.status)
	assert.Contains(t, string(r.body), "invalid or has expired")
}

// TestAdminSendPasswordReset: a superuser emails a tenant's user a reset
// link to the tenant's primary domain, through the admin API and the UI.
func TestAdminSendPasswordReset(t *testing.T) {
	e, box := newMailEnv(t, nil)
	id := e.addTeacher()
	nomail := e.addUser("school1", "nomail", provision.RoleMember)
	admin := e.adminToken()
	send := func(schema string, uid int64, bearer string) req {
		return req{method: "POST", host: public, path: fmt.Sprintf("/api/admin/tenants/%s/users/%d/send_password_reset/", schema, uid), bearer: bearer}
	}
	e.run(t, []scenario{
		{"OK", send("school1", id, admin), 202, map[string]any{"detail": "Password reset email sent to " + teacherEmail + "."}},
		{"ErrNoEmail", send("school1", nomail, admin), 400, map[string]any{"email": []any{"This user has no email address to send a reset link to."}}},
		{"ErrUnknownUser", send("school1", 999999, admin), 404, nil},
		{"ErrUnknownTenant", send("nope", id, admin), 404, nil},
		{"ErrOtherTenantsUser", send("school2", id+1000, admin), 404, nil},
		{"ErrNoAuth", send("school1", id, ""), 401, nil},
		{"ErrTenantToken", send("school1", id, e.demo(school1)), 403, nil},
	})
	e.t = t
	m := box.wait(teacherEmail, 1)
	assert.True(t, strings.HasPrefix(m.link(t), "http://school1.localhost:8000/accounts/reset/"), m.link(t))
	require.Equal(t, 200, e.do(post(school1, "/api/password/reset/confirm/", map[string]string{"token": m.secret(t), "new_password": newPassword}, "")).status)
	e.login(school1, "teacher", newPassword)

	// The button on the user's page.
	b := newBrowser(t, e.srv.URL)
	csrf := b.signIn(suName, suPassword)
	userPage := fmt.Sprintf("/admin/tenants/school1/users/%d/", id)
	p := b.get(userPage)
	require.Equal(t, 200, p.status)
	assert.Contains(t, p.body, `action="`+userPage+`send_password_reset/"`)
	p = b.post(userPage+"send_password_reset/", url.Values{"csrf_token": {"wrong"}})
	assert.Equal(t, http.StatusForbidden, p.status, "CSRF")
	p = b.post(userPage+"send_password_reset/", url.Values{"csrf_token": {csrf}})
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	assert.Equal(t, userPage, p.location())
	assert.Contains(t, b.get(userPage).body, "Password reset email sent to "+teacherEmail+".")
	box.wait(teacherEmail, 2)
	nomailPage := fmt.Sprintf("/admin/tenants/school1/users/%d/", nomail)
	p = b.post(nomailPage+"send_password_reset/", url.Values{"csrf_token": {csrf}})
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	assert.Contains(t, b.get(nomailPage).body, "This user has no email address to send a reset link to.")
}

// TestPasswordOptions: OPTIONS describes the new endpoints as DRF would,
// after the same authentication.
func TestPasswordOptions(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "OPTIONS", host: school1, path: "/api/password/reset/confirm/"})
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, "Password Reset Confirm", r.json(t)["name"])
	assert.Contains(t, r.json(t)["actions"].(map[string]any)["POST"], "new_password")
	assert.Equal(t, 401, e.do(req{method: "OPTIONS", host: school1, path: "/api/password/change/"}).status)
	r = e.do(req{method: "OPTIONS", host: school1, path: "/api/password/change/", bearer: e.demo(school1)})
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Contains(t, r.json(t)["actions"].(map[string]any)["POST"], "old_password")
}

// TestPasswordResetLinkStates: an expired link, a verification link, the
// link of a user deactivated since, or sent to an address the user no
// longer has, resets nothing.
func TestPasswordResetLinkStates(t *testing.T) {
	e, box := newMailEnv(t, nil)
	id := e.addTeacher()
	access := e.signIn(school1, "teacher")
	confirm := func(tok string) reply {
		return e.do(post(school1, "/api/password/reset/confirm/", map[string]string{"token": tok, "new_password": newPassword}, ""))
	}
	requestLink := func(n int) string {
		require.Equal(t, 202, e.do(post(school1, "/api/password/reset/", map[string]string{"email": teacherEmail}, "")).status)
		return box.wait(teacherEmail, n).secret(t)
	}

	expired := requestLink(1)
	e.exec("UPDATE school1.account_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1", sha(expired))
	r := confirm(expired)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, map[string]any{"token": []any{linkInvalid}}, r.json(t))

	require.Equal(t, 202, e.do(post(school1, "/api/email/verify/resend/", nil, access)).status)
	verification := box.wait(teacherEmail, 2).secret(t)
	assert.Equal(t, 400, confirm(verification).status, "a verification link is no reset link")
	assert.Equal(t, 400, e.do(post(school1, "/api/email/verify/", map[string]string{"token": expired}, "")).status,
		"nor a reset link a verification link")

	deactivated := requestLink(3)
	e.exec("UPDATE school1.users SET is_active = false WHERE id = $1", id)
	assert.Equal(t, 400, confirm(deactivated).status)
	e.exec("UPDATE school1.users SET is_active = true WHERE id = $1", id)

	moved := requestLink(4)
	e.exec("UPDATE school1.users SET email = 'elsewhere@school1.com' WHERE id = $1", id)
	assert.Equal(t, 400, confirm(moved).status)
	e.exec("UPDATE school1.users SET email = $1 WHERE id = $2", teacherEmail, id)

	// Back as it was, the deactivated user's link works again (it was not used up).
	assert.Equal(t, 200, confirm(deactivated).status)
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.account_tokens WHERE token_hash = $1 AND used_at IS NULL", sha(verification)),
		"the verification link was not used by the reset confirm")
}
