package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/mail"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/server"
)

// The tests in this file run three server instances on one database, as
// three tenantctl serve processes behind one load balancer, and check that
// they behave as one: whatever one instance changes, the others see, within
// a second where a cache stands in between (tenant routing).

// instance is one server instance, named A, B, C... in messages.
type instance struct {
	*env
	name string
}

// newInstances starts n server instances on one test database with the demo
// tenants. The first is newEnv's server; each other one has its own pool
// (db.Open), its own routing listener (server.New) and its own HTTP server.
func newInstances(t *testing.T, n int) []*instance {
	t.Helper()
	e := newEnv(t)
	out := []*instance{{env: e, name: "A"}}
	for i := 1; i < n; i++ {
		pool, err := db.Open(t.Context(), e.cfg.DatabaseURL, e.cfg.DBLimits())
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		srv := httptest.NewServer(server.New(ctx, e.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), pool, password.NewHasher(0), nil))
		t.Cleanup(func() { srv.Close(); cancel(); pool.Close() })
		other := *e
		other.srv, other.token = srv, map[string]string{}
		out = append(out, &instance{env: &other, name: string(rune('A' + i))})
	}
	return out
}

// instancesFor returns the instances with their requests' failures reported to t,
// a subtest of the one that started them.
func instancesFor(t *testing.T, in []*instance) (a, b, c *instance, all []*instance) {
	for _, i := range in {
		e := *i.env
		e.t = t
		all = append(all, &instance{env: &e, name: i.name})
	}
	return all[0], all[1], all[2], all
}

// allAnswer waits up to d for every instance in on to answer rq with want,
// polling; the last answers are reported if they never all do.
func allAnswer(t *testing.T, d time.Duration, on []*instance, rq req, want int, what string) {
	t.Helper()
	start := time.Now()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, in := range on {
			r, _, _, err := in.send(rq)
			if assert.NoError(c, err) {
				assert.Equal(c, want, r.status, "%s on %s: %s", what, in.name, r.body)
			}
		}
	}, d, 10*time.Millisecond)
	t.Logf("%s: seen by every instance after %v", what, time.Since(start).Round(time.Millisecond))
	for _, in := range on { // the answers are the documented ones
		require.Equal(t, want, in.do(rq).status, "%s on %s", what, in.name)
	}
}

// signInKey is the throttle key of account's sign-ins from addr, as
// server/throttle.go derives it (throttleKey("account", account, addr)).
func signInKey(account, addr string) []byte {
	h := sha256.New()
	for _, p := range []string{"account", account, addr} {
		h.Write(binary.AppendUvarint(nil, uint64(len(p))))
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// TestInstancesThrottleShared: failed sign-ins spread over three instances
// hit the limit (5 per account and address) as if sent to one, on the tenant
// API and on the admin token endpoint, and the count is one row in
// PostgreSQL.
func TestInstancesThrottleShared(t *testing.T) {
	in := newInstances(t, 3)
	e := in[0].env
	e.superuser(suName, suPassword)
	tenantID := e.count("SELECT id FROM clients WHERE schema_name = 'school1'")

	for _, c := range []struct {
		name, host, path, username, password, account, from string
	}{
		{"Tenant", school1, "/api/token/", "demo", provision.DemoPassword, "tenant " + strconv.Itoa(tenantID) + " demo", "127.0.0.31"},
		{"Admin", public, "/api/admin/token/", suName, suPassword, "superuser " + suName, "127.0.0.32"},
	} {
		signIn := func(on *instance, pw, from string) reply {
			return on.do(req{method: "POST", host: c.host, path: c.path, from: from,
				body: map[string]string{"username": c.username, "password": pw}})
		}
		key := signInKey(c.account, c.from)
		for i := range perAccountAndAddr {
			require.Equal(t, 401, signIn(in[i%3], "wrong", c.from).status, "%s: guess %d on %s", c.name, i+1, in[i%3].name)
		}
		assert.Equal(t, perAccountAndAddr, e.count("SELECT attempts FROM signin_attempts WHERE key = $1", key),
			"%s: one count in PostgreSQL for the three instances", c.name)
		for _, on := range in {
			r := signIn(on, c.password, c.from)
			assert.Equal(t, 429, r.status, "%s: the sixth attempt on %s is refused, the right password too: %s", c.name, on.name, r.body)
			assert.NotEmpty(t, r.header.Get("Retry-After"))
		}
		assert.Equal(t, perAccountAndAddr, e.count("SELECT attempts FROM signin_attempts WHERE key = $1", key),
			"%s: refused attempts are not counted", c.name)
		assert.Equal(t, 200, signIn(in[2], c.password, "127.0.0.33").status, "%s: the owner signs in from elsewhere", c.name)
	}
}

// TestInstancesConcurrentGuesses: guesses sent at once, spread over three
// instances, are counted before any password is checked, as on one: of 30,
// only the limit's worth are evaluated, on the tenant API, the admin API
// and the admin web UI.
func TestInstancesConcurrentGuesses(t *testing.T) {
	in := newInstances(t, 3)
	e := in[0].env
	e.superuser(suName, suPassword)
	tenantID := e.count("SELECT id FROM clients WHERE schema_name = 'school1'")
	const n = 30
	for _, tc := range []struct {
		name, account, from string
		evaluated           int // the status of a wrong password that was checked
		send                func(on *instance, from string) (int, error)
	}{
		{"TenantAPI", "tenant " + strconv.Itoa(tenantID) + " demo", "127.0.0.41", 401, func(on *instance, from string) (int, error) {
			r, _, _, err := on.send(req{method: "POST", host: school1, path: "/api/token/", from: from,
				body: map[string]string{"username": "demo", "password": "wrong"}})
			return r.status, err
		}},
		{"AdminAPI", "superuser " + suName, "127.0.0.42", 401, func(on *instance, from string) (int, error) {
			r, _, _, err := on.send(req{method: "POST", host: public, path: "/api/admin/token/", from: from,
				body: map[string]string{"username": suName, "password": "wrong"}})
			return r.status, err
		}},
		{"AdminUI", "superuser " + suName, "127.0.0.43", 400, func(on *instance, from string) (int, error) {
			resp, err := loginForm(on.srv.URL, from, suName, "wrong")
			if err != nil {
				return 0, err
			}
			return resp.StatusCode, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, _, in := instancesFor(t, in)
			var next atomic.Int32
			got := burst(t, n, func() (int, error) { return tc.send(in[int(next.Add(1))%len(in)], tc.from) })
			assert.Equal(t, map[int]int{tc.evaluated: perAccountAndAddr, 429: n - perAccountAndAddr}, got)
			assert.Equal(t, perAccountAndAddr, a.count("SELECT attempts FROM signin_attempts WHERE key = $1", signInKey(tc.account, tc.from)),
				"the evaluated attempts, counted once for the three instances")
		})
	}
}

// TestInstancesRevocation: a logout, a deactivation and a password change
// made through one instance are refused by the others at once: every
// request checks them in PostgreSQL, no instance caches them.
func TestInstancesRevocation(t *testing.T) {
	started := newInstances(t, 3)
	profile := func(on *instance, access string) int {
		return on.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: access}).status
	}
	refresh := func(on *instance, tok string) reply {
		return on.do(post(school1, "/api/token/refresh/", map[string]string{"refresh": tok}, ""))
	}

	t.Run("Logout", func(t *testing.T) {
		a, b, c, _ := instancesFor(t, started)
		_, rt := a.login(school1, "demo", provision.DemoPassword)
		r := a.do(post(school1, "/api/token/blacklist/", map[string]string{"refresh": rt}, ""))
		require.Equal(t, 200, r.status, "%s", r.body)
		r = refresh(b, rt)
		assert.Equal(t, 401, r.status, "refreshed on B after logging out on A: %s", r.body)
		assert.Equal(t, "token_not_valid", r.json(t)["code"])
		r = c.do(post(school1, "/api/token/verify/", map[string]string{"token": rt}, ""))
		assert.Equal(t, 400, r.status, "C knows it is blacklisted: %s", r.body)
		assert.Equal(t, 1, a.count("SELECT count(*) FROM school1.refresh_tokens WHERE revoked_at IS NOT NULL"))
	})

	t.Run("Deactivation", func(t *testing.T) {
		a, b, c, in := instancesFor(t, started)
		id := a.addTeacher()
		access, rt := b.login(school1, "teacher", userPassword)
		for _, on := range in {
			require.Equal(t, 200, profile(on, access), "before, on %s", on.name)
		}
		r := a.do(req{method: "PATCH", host: public, path: fmt.Sprintf("/api/admin/tenants/school1/users/%d/", id),
			body: map[string]any{"is_active": false}, bearer: a.adminToken()})
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.Equal(t, 401, profile(b, access), "B refuses the access token at once")
		assert.Equal(t, 401, profile(c, access), "C refuses the access token at once")
		assert.Equal(t, 401, refresh(c, rt).status, "and the refresh token")
		assert.Equal(t, 1, a.count("SELECT count(*) FROM school1.users WHERE id = $1 AND NOT is_active", id))
		assert.Zero(t, a.count("SELECT count(*) FROM school1.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL", id))
	})

	t.Run("PasswordChange", func(t *testing.T) {
		a, b, c, _ := instancesFor(t, started)
		access, rt := b.login(school1, "demo", provision.DemoPassword)
		other, _ := c.login(school1, "demo", provision.DemoPassword)
		for _, on := range []*instance{b, c} { // each instance has verified both tokens
			require.Equal(t, 200, profile(on, access), "before, on %s", on.name)
			require.Equal(t, 200, profile(on, other), "before, on %s", on.name)
		}
		nextSecond() // the tokens are from a second before the change (see nextSecond)
		r := a.do(post(school1, "/api/password/change/", map[string]any{"old_password": provision.DemoPassword, "new_password": newPassword}, access))
		require.Equal(t, 200, r.status, "%s", r.body)
		newAccess := r.json(t)["access"].(string)
		for _, on := range []*instance{b, c} {
			assert.Equal(t, 401, profile(on, access), "the old access token on %s", on.name)
			assert.Equal(t, 401, profile(on, other), "the other sign-in's access token on %s", on.name)
			assert.Equal(t, 200, profile(on, newAccess), "the new one on %s", on.name)
		}
		assert.Equal(t, 401, refresh(b, rt).status, "the old refresh token on B")
		assert.Equal(t, 1, a.count("SELECT count(*) FROM school1.users WHERE username = 'demo' AND tokens_valid_after IS NOT NULL"))
		assert.Equal(t, 1, a.count("SELECT count(*) FROM school1.refresh_tokens r JOIN school1.users u ON u.id = r.user_id "+
			"WHERE u.username = 'demo' AND r.revoked_at IS NULL"), "only the new pair's refresh token is live")
	})
}

// TestInstancesRouting: a domain or tenant added or removed through one
// instance routes, or stops routing, on the others within a second, though
// each had the host's previous answer cached.
func TestInstancesRouting(t *testing.T) {
	in := newInstances(t, 3)
	a, b, c := in[0], in[1], in[2]
	tok := a.adminToken()
	admin := func(on *instance, method, path string, body any) reply {
		return on.do(req{method: method, host: public, path: path, body: body, bearer: tok})
	}
	demo := a.demo(school1)
	profileOn := func(host string) req {
		return req{method: "GET", host: host, path: "/api/profile/", bearer: demo}
	}
	const extra = "extra.school1.localhost:8000"
	// Each instance's routing listener is connected, so each caches answers.
	listeners := "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN tenant_routing'"
	require.Eventually(t, func() bool { return a.count(listeners) == 3 }, 10*time.Second, 10*time.Millisecond)

	// Every instance caches "not a tenant" for the new host first.
	allAnswer(t, time.Second, in, profileOn(extra), 404, "unknown host")
	r := admin(a, "POST", "/api/admin/tenants/school1/domains/", map[string]any{"domain": "extra.school1.localhost"})
	require.Equal(t, 201, r.status, "%s", r.body)
	assert.Equal(t, 1, a.count("SELECT count(*) FROM domains WHERE domain = 'extra.school1.localhost'"))
	allAnswer(t, time.Second, []*instance{b, c}, profileOn(extra), 200, "domain added on A")

	allAnswer(t, time.Second, in, profileOn(extra), 200, "cached") // A caches it too
	r = admin(b, "DELETE", "/api/admin/tenants/school1/domains/extra.school1.localhost/", nil)
	require.Equal(t, 204, r.status, "%s", r.body)
	assert.Zero(t, a.count("SELECT count(*) FROM domains WHERE domain = 'extra.school1.localhost'"))
	allAnswer(t, time.Second, []*instance{a, c}, profileOn(extra), 404, "domain removed on B")

	school2Items := req{method: "GET", host: school2, path: "/api/items/"}
	allAnswer(t, time.Second, in, school2Items, 401, "school2 routes") // cached as school2's
	r = admin(c, "DELETE", "/api/admin/tenants/school2/", nil)
	require.Equal(t, 204, r.status, "%s", r.body)
	assert.Zero(t, a.tenantLeftovers("school2"))
	allAnswer(t, time.Second, []*instance{a, b}, school2Items, 404, "tenant deleted on C")

	const acme = "acme.localhost:8000"
	acmeItems := req{method: "GET", host: acme, path: "/api/items/"}
	allAnswer(t, time.Second, in, acmeItems, 404, "no acme yet")
	r = admin(a, "POST", "/api/admin/tenants/", map[string]any{"schema_name": "acme", "name": "ACME", "domain": "acme.localhost",
		"admin_username": "boss", "admin_password": tenantPassword})
	require.Equal(t, 201, r.status, "%s", r.body)
	allAnswer(t, time.Second, []*instance{b, c}, acmeItems, 401, "tenant created on A")
	access, _ := b.login(acme, "boss", tenantPassword)
	assert.Equal(t, 200, c.do(req{method: "GET", host: acme, path: "/api/profile/", bearer: access}).status)

	// A tenant deleted on one instance and re-created under its schema name
	// and domain on another: every instance serves the new one, from pools
	// whose connections ran the old one's statements, and refuses the old
	// one's tokens.
	old, _ := b.login(school1, "demo", provision.DemoPassword)
	items := func(on *instance, bearer string) reply {
		return on.do(req{method: "GET", host: school1, path: "/api/items/", bearer: bearer})
	}
	for _, on := range in {
		require.Equal(t, 200, items(on, old).status, "school1's items on %s", on.name)
	}
	require.Equal(t, 204, admin(c, "DELETE", "/api/admin/tenants/school1/", nil).status)
	r = admin(a, "POST", "/api/admin/tenants/", map[string]any{"schema_name": "school1", "name": "School 1 again",
		"domain": "school1.localhost", "admin_username": "demo", "admin_password": tenantPassword})
	require.Equal(t, 201, r.status, "%s", r.body)
	oldItems := req{method: "GET", host: school1, path: "/api/items/", bearer: old}
	allAnswer(t, time.Second, in, oldItems, 403, "school1 re-created: the old one's token is another tenant's")
	fresh, _ := c.login(school1, "demo", tenantPassword)
	for _, on := range in {
		r := items(on, fresh)
		require.Equal(t, 200, r.status, "the new school1 on %s: %s", on.name, r.body)
		assert.Zero(t, r.json(t)["count"], "the new school1 has no items")
	}
}

// TestInstancesAdminSession: an admin web UI session begun on one instance
// works on the others, CSRF-checked posts included, and ends on all of them
// when it is signed out on any.
func TestInstancesAdminSession(t *testing.T) {
	in := newInstances(t, 3)
	a, b, c := in[0], in[1], in[2]
	a.superuser(suName, suPassword)
	onA := newBrowser(t, a.srv.URL)
	csrf := onA.signIn(suName, suPassword)
	session := sessionCookieOf(t, onA)
	assert.Equal(t, 1, a.count("SELECT count(*) FROM admin_sessions"))

	// Each instance gets the cookie alone, in a browser of its own.
	withSession := func(on *instance) *browser {
		br := newBrowser(t, on.srv.URL)
		u, err := url.Parse(on.srv.URL + "/admin/")
		require.NoError(t, err)
		br.c.Jar.SetCookies(u, []*http.Cookie{session})
		return br
	}
	onB, onC := withSession(b), withSession(c)
	for name, br := range map[string]*browser{"B": onB, "C": onC} {
		p := br.get("/admin/tenants/")
		require.Equal(t, 200, p.status, "the session on %s: %s", name, p.body)
		assert.Contains(t, p.body, "school1.localhost")
		assert.Equal(t, csrf, br.csrf("/admin/tenants/school1/"), "one session, one CSRF token, on %s", name)
	}
	p := onC.post("/admin/tenants/school1/domains/", url.Values{"csrf_token": {csrf}, "domain": {"ui.school1.localhost"}})
	require.Equal(t, http.StatusSeeOther, p.status, "a form posted on C: %s", p.body)
	assert.Equal(t, 1, a.count("SELECT count(*) FROM domains WHERE domain = 'ui.school1.localhost'"))
	assert.Contains(t, onA.get("/admin/tenants/school1/").body, "Added domain ui.school1.localhost.",
		"the flash set on C shows on A")
	p = onB.post("/admin/tenants/school1/domains/", url.Values{"csrf_token": {"wrong"}, "domain": {"ui2.school1.localhost"}})
	assert.Equal(t, http.StatusForbidden, p.status, "B checks the CSRF token")

	p = onB.post("/admin/logout/", url.Values{"csrf_token": {csrf}})
	require.Equal(t, http.StatusSeeOther, p.status, "%s", p.body)
	assert.Zero(t, a.count("SELECT count(*) FROM admin_sessions"))
	for name, br := range map[string]*browser{"A": onA, "C": onC} {
		p := br.get("/admin/tenants/")
		assert.Equal(t, http.StatusSeeOther, p.status, "signed out on B, refused on %s", name)
		assert.Contains(t, p.location(), "/admin/login/")
	}
	p = onA.post("/admin/tenants/school1/domains/", url.Values{"csrf_token": {csrf}, "domain": {"late.school1.localhost"}})
	assert.Equal(t, http.StatusSeeOther, p.status)
	assert.Contains(t, p.location(), "/admin/login/", "a post with the ended session's token is sent to sign in")
	assert.Zero(t, a.count("SELECT count(*) FROM domains WHERE domain = 'late.school1.localhost'"))

	// The sign-in form (its double-submit token) may be loaded from one
	// instance and posted to another.
	br := newBrowser(t, b.srv.URL)
	form := url.Values{"csrf_token": {br.csrf("/admin/login/")}, "username": {suName}, "password": {suPassword}}
	br.base = c.srv.URL // the same browser; cookies do not depend on the port
	p = br.post("/admin/login/", form)
	require.Equal(t, http.StatusSeeOther, p.status, "a sign-in form from B posted to C: %s", p.body)
	br.base = a.srv.URL
	assert.Equal(t, 200, br.get("/admin/tenants/").status)
	assert.Equal(t, 1, a.count("SELECT count(*) FROM admin_sessions"))
}

// sessionCookieOf is the admin session cookie br holds.
func sessionCookieOf(t *testing.T, br *browser) *http.Cookie {
	t.Helper()
	u, err := url.Parse(br.base + "/admin/")
	require.NoError(t, err)
	for _, c := range br.c.Jar.Cookies(u) {
		if c.Name == "tenantctl_admin_session" {
			return &http.Cookie{Name: c.Name, Value: c.Value, Path: "/admin/"}
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// TestInstancesJobsRunOnce: with job workers on each of three instances,
// every email enqueued through any of them is sent exactly once, and the
// daily maintenance is enqueued once, by the one elected leader.
func TestInstancesJobsRunOnce(t *testing.T) {
	box := startMailbox(t, "127.0.0.1:0")
	in := newInstances(t, 3)
	e := in[0].env
	set, err := mail.ParseURL("smtp://" + box.addr)
	require.NoError(t, err)
	// As serve does, each instance runs its workers on a pool of its own,
	// on the direct URL.
	running := map[string]*jobs.Queue{} // by River client id
	var pools []*db.Pool
	t.Cleanup(func() {
		for _, q := range running {
			_ = q.Stop(5 * time.Second)
		}
		for _, p := range pools {
			p.Close()
		}
	})
	for range in {
		pool, err := db.Open(t.Context(), e.cfg.DatabaseDirectURL, e.cfg.DBLimits())
		require.NoError(t, err)
		pools = append(pools, pool)
		q, err := jobs.Open(pool, jobs.Options{
			Workers: 2, FetchPollInterval: 50 * time.Millisecond, RetryPolicy: quickRetry{},
			Mail: mail.NewSMTP(set, "tenantctl <noreply@localhost>"),
		})
		require.NoError(t, err)
		require.NoError(t, q.Start(context.Background()))
		running[q.ID()] = q
	}

	const n = 12
	demo := e.demo(school1)
	for i := range n {
		on := in[i%3]
		r := on.do(req{method: "POST", host: school1, path: "/api/invitations/", bearer: demo,
			body: map[string]any{"email": fmt.Sprintf("guest%d@example.com", i)}})
		require.Equal(t, 201, r.status, "invite on %s: %s", on.name, r.body)
	}
	require.Eventually(t, func() bool { return len(box.messages()) >= n }, 30*time.Second, 20*time.Millisecond,
		"%d emails expected", n)
	completed := "SELECT count(*) FROM river.river_job WHERE kind = 'email.send' AND state = 'completed'"
	require.Eventually(t, func() bool { return e.count(completed) == n }, 10*time.Second, 20*time.Millisecond)
	// Nothing more arrives: no worker sends a job another one sent.
	require.Never(t, func() bool { return len(box.messages()) > n }, time.Second, 20*time.Millisecond)
	got := map[string]int{}
	for _, m := range box.messages() {
		got[m.To]++
	}
	for i := range n {
		assert.Equal(t, 1, got[fmt.Sprintf("guest%d@example.com", i)], "guest%d", i)
	}
	assert.Equal(t, n, e.count("SELECT count(*) FROM river.river_job WHERE kind = 'email.send'"))
	assert.Equal(t, n, e.count("SELECT count(*) FROM river.river_job WHERE kind = 'email.send' AND state = 'completed' "+
		"AND attempt = 1 AND cardinality(attempted_by) = 1"), "each job was run once, by one worker, and never retried")
	t.Logf("emails sent by %d distinct workers", e.count("SELECT count(DISTINCT attempted_by[1]) FROM river.river_job WHERE kind = 'email.send'"))

	maintenance := "SELECT count(*) FROM river.river_job WHERE kind = '" + jobs.MaintenanceArgs{}.Kind() + "'"
	require.Eventually(t, func() bool { return e.count(maintenance) >= 1 }, 30*time.Second, 50*time.Millisecond,
		"the leader enqueues the daily maintenance when it starts")
	require.Never(t, func() bool { return e.count(maintenance) > 1 }, 2*time.Second, 50*time.Millisecond,
		"enqueued once, not once per instance")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM river.river_leader"), "one leader among the three")
	purge := "SELECT count(*) FROM river.river_job WHERE kind = 'tenant.purge_expired' AND state = 'completed' AND attempt = 1"
	require.Eventually(t, func() bool { return e.count(purge) == 2 }, 15*time.Second, 50*time.Millisecond,
		"one purge per tenant, each run once")
	assert.Equal(t, 2, e.count("SELECT count(*) FROM river.river_job WHERE kind = 'tenant.purge_expired'"))

	// The leader stops (a deploy, a crash): another instance is elected and
	// runs the periodic jobs from then on, but today's maintenance, already
	// enqueued, is not enqueued again (unique by period).
	kind := jobs.MaintenanceArgs{}.Kind()
	require.Eventually(t, func() bool {
		return e.count("SELECT count(*) FROM river.river_job WHERE kind = $1 AND state = 'completed'", kind) == 1
	}, 10*time.Second, 20*time.Millisecond)
	// River answers an insert that its uniqueness refuses with an update of
	// the existing row (ON CONFLICT DO UPDATE), a new row version: its xmin
	// changing shows that the new leader tried and was refused.
	var enqueued time.Time
	var version string
	require.NoError(t, e.db.Pool.QueryRow(t.Context(), "SELECT created_at, xmin::text FROM river.river_job WHERE kind = $1",
		kind).Scan(&enqueued, &version))
	leader := func() string {
		var id string
		_ = e.db.Pool.QueryRow(t.Context(), "SELECT leader_id FROM river.river_leader").Scan(&id)
		return id
	}
	first := leader()
	require.Contains(t, running, first)
	require.NoError(t, running[first].Stop(5*time.Second))
	delete(running, first)
	require.Eventually(t, func() bool { _, ok := running[leader()]; return ok }, 20*time.Second, 50*time.Millisecond,
		"another instance takes the lead")
	require.Eventually(t, func() bool {
		return e.count(maintenance) > 1 ||
			e.count("SELECT count(*) FROM river.river_job WHERE kind = $1 AND xmin::text <> $2", kind, version) == 1
	}, 20*time.Second, 50*time.Millisecond, "the new leader enqueues the maintenance when it starts")
	if time.Now().Truncate(jobs.MaintenanceInterval).Equal(enqueued.Truncate(jobs.MaintenanceInterval)) {
		assert.Equal(t, 1, e.count(maintenance), "the new leader does not enqueue today's maintenance again")
	} // else a new day (UTC) began during the test, and a new leader rightly enqueues its maintenance
}
