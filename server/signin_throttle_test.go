package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/server"
)

// The documented limits (SECURITY.md): failed sign-ins per account and
// client address, and per client address over all accounts.
const (
	perAccountAndAddr = 5
	perAddr           = 30
)

// burst sends n requests at once and counts the answers by status.
func burst(t *testing.T, n int, send func() (int, error)) map[int]int {
	t.Helper()
	var (
		mu   sync.Mutex
		got  = map[int]int{}
		errs []error
		wg   sync.WaitGroup
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			status, err := send()
			mu.Lock()
			defer mu.Unlock()
			got[status]++
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Empty(t, errs)
	return got
}

// loginForm posts the admin sign-in form from ip, with a CSRF cookie of its own.
func loginForm(base, ip, username, pw string) (*http.Response, error) {
	form := url.Values{"csrf_token": {"csrf-" + ip}, "username": {username}, "password": {pw}}
	r, err := http.NewRequest("POST", base+"/admin/login/", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	r.Host = public
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Cookie", "tenantctl_admin_csrf=csrf-"+ip)
	c := *clientFrom(ip)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(r)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// TestSignInConcurrentGuesses: guesses sent at once are counted before any
// password is checked, so of 50 wrong passwords at one account only the
// limit's worth are evaluated (401, or 400 on the web form) and the rest
// are refused unevaluated (429), on the tenant API, the admin API and the
// admin web UI alike.
func TestSignInConcurrentGuesses(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	const n = 50
	for _, tc := range []struct {
		name      string
		from      string
		evaluated int // the status of a wrong password that was checked
		send      func(from string) (int, error)
	}{
		{"TenantAPI", "127.0.0.11", 401, func(from string) (int, error) {
			r, _, _, err := e.send(req{method: "POST", host: school1, path: "/api/token/", from: from,
				body: map[string]string{"username": "demo", "password": "wrong"}})
			return r.status, err
		}},
		{"AdminAPI", "127.0.0.12", 401, func(from string) (int, error) {
			r, _, _, err := e.send(req{method: "POST", host: public, path: "/api/admin/token/", from: from,
				body: map[string]string{"username": suName, "password": "wrong"}})
			return r.status, err
		}},
		{"AdminUI", "127.0.0.13", 400, func(from string) (int, error) {
			resp, err := loginForm(e.srv.URL, from, suName, "wrong")
			if err != nil {
				return 0, err
			}
			return resp.StatusCode, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.exec("DELETE FROM signin_attempts")
			got := burst(t, n, func() (int, error) { return tc.send(tc.from) })
			assert.Equal(t, map[int]int{tc.evaluated: perAccountAndAddr, 429: n - perAccountAndAddr}, got)
			// The account+address key and the address key each hold the
			// evaluated attempts; refused ones are not counted.
			assert.Equal(t, 2, e.count("SELECT count(*) FROM signin_attempts WHERE attempts = $1", perAccountAndAddr))
		})
	}
}

// TestSignInNoLockout: an attacker who exhausts an account's attempts from
// one address does not lock its owner out, who signs in from another; an
// address that sprays many accounts is throttled as a whole, alone.
func TestSignInNoLockout(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	const attacker, owner, sprayer = "127.0.0.2", "127.0.0.3", "127.0.0.4"
	tenant := func(from, username, pw string) reply {
		return e.do(req{method: "POST", host: school1, path: "/api/token/", from: from,
			body: map[string]string{"username": username, "password": pw}})
	}
	admin := func(from, username, pw string) reply {
		return e.do(req{method: "POST", host: public, path: "/api/admin/token/", from: from,
			body: map[string]string{"username": username, "password": pw}})
	}
	t.Run("TenantAPI", func(t *testing.T) {
		e.t = t
		for range perAccountAndAddr {
			require.Equal(t, 401, tenant(attacker, "demo", "wrong").status)
		}
		r := tenant(attacker, "demo", "demo123")
		require.Equal(t, 429, r.status, "the attacker's address is throttled for this account, right password or not: %s", r.body)
		assert.NotEmpty(t, r.header.Get("Retry-After"))
		assert.Regexp(t, `^Request was throttled\. Expected available in \d+ seconds\.$`, r.json(t)["detail"])
		assert.Equal(t, 200, tenant(owner, "demo", "demo123").status, "the owner signs in from elsewhere")
		assert.Equal(t, 401, tenant(owner, "demo", "typo").status, "and has an allowance of their own")
		assert.Equal(t, 200, tenant(owner, "demo", "demo123").status)
	})
	t.Run("AdminAPI", func(t *testing.T) {
		e.t = t
		for range perAccountAndAddr {
			require.Equal(t, 401, admin(attacker, suName, "wrong").status)
		}
		assert.Equal(t, 429, admin(attacker, suName, suPassword).status)
		assert.Equal(t, 200, admin(owner, suName, suPassword).status, "a superuser is not locked out either")
	})
	t.Run("AdminUI", func(t *testing.T) {
		e.t = t
		for range perAccountAndAddr {
			resp, err := loginForm(e.srv.URL, attacker, "victim", "guess")
			require.NoError(t, err)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		}
		resp, err := loginForm(e.srv.URL, attacker, "victim", "guess")
		require.NoError(t, err)
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		e.superuser("victim", suPassword)
		resp, err = loginForm(e.srv.URL, owner, "victim", suPassword)
		require.NoError(t, err)
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the owner signs in to the web UI from elsewhere")
	})
	t.Run("AddressSpray", func(t *testing.T) {
		e.t = t
		for i := range perAddr {
			require.Equal(t, 401, tenant(sprayer, fmt.Sprintf("guess%d", i), "wrong").status)
		}
		assert.Equal(t, 429, tenant(sprayer, "demo", "demo123").status, "the spraying address is throttled on every account")
		assert.Equal(t, 429, admin(sprayer, suName, suPassword).status, "admin sign-ins share the address's count")
		assert.Equal(t, 200, tenant(owner, "demo", "demo123").status, "other addresses are not")
	})
	t.Run("SuccessesDoNotCount", func(t *testing.T) {
		e.t = t
		const office = "127.0.0.5"
		for range perAddr + 5 {
			require.Equal(t, 200, tenant(office, "demo", "demo123").status)
		}
		assert.Equal(t, 401, tenant(office, "demo", "typo").status, "correct sign-ins gave their attempts back")
	})
}

// TestSignInThrottleShared: two server processes over one database count
// against the same limits.
func TestSignInThrottleShared(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	srv2 := httptest.NewServer(server.New(ctx, e.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), e.db.Pool, password.NewHasher(0), nil))
	t.Cleanup(func() { srv2.Close(); cancel() })
	e2 := *e
	e2.srv = srv2
	signIn := func(on *env, pw string) int {
		return on.do(req{method: "POST", host: school1, path: "/api/token/",
			body: map[string]string{"username": "demo", "password": pw}}).status
	}
	for i := range perAccountAndAddr {
		on := e
		if i%2 == 1 {
			on = &e2
		}
		require.Equal(t, 401, signIn(on, "wrong"))
	}
	assert.Equal(t, 429, signIn(e, "demo123"))
	assert.Equal(t, 429, signIn(&e2, "demo123"), "the other server sees the same count")
}
