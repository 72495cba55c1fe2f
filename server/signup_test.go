package server_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
)

// signupBody is a valid signup of subdomain sub.
func signupBody(sub string) map[string]any {
	return map[string]any{
		"organization": "Acme " + sub, "subdomain": sub, "username": "alice",
		"email": "alice@" + sub + ".example", "password": "plum-Orbit-7315-sail",
	}
}

// tenantLeft counts what a signup of schema left in the database: client
// rows, domains and schemas.
func (e *env) tenantLeft(schema string) int {
	e.t.Helper()
	n := 0
	for _, q := range []string{
		"SELECT count(*) FROM clients WHERE schema_name = $1",
		"SELECT count(*) FROM domains WHERE domain LIKE $1 || '.%'",
		"SELECT count(*) FROM pg_namespace WHERE nspname = $1",
	} {
		var c int
		require.NoError(e.t, e.db.Pool.QueryRow(context.Background(), q, schema).Scan(&c))
		n += c
	}
	return n
}

func TestSignup(t *testing.T) {
	e, box := newMailEnv(t, nil)
	ctx := context.Background()
	// Not a tenant yet (and that answer is cached).
	r := e.do(req{method: "GET", host: "acme.localhost:8000", path: "/api/profile/"})
	require.Equal(t, http.StatusNotFound, r.status)
	r = e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("acme")})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	m := r.json(t)
	assert.Equal(t, "acme", m["schema_name"])
	assert.Equal(t, "acme.localhost", m["domain"])
	access, refresh := m["access"].(string), m["refresh"].(string)

	t.Run("Database", func(t *testing.T) {
		var name, state, domain string
		var primary bool
		require.NoError(t, e.db.Pool.QueryRow(ctx,
			`SELECT c.name, c.state, d.domain, d.is_primary FROM clients c JOIN domains d ON d.client_id = c.id WHERE c.schema_name = 'acme'`,
		).Scan(&name, &state, &domain, &primary))
		assert.Equal(t, "Acme acme", name)
		assert.Equal(t, "ready", state)
		assert.Equal(t, "acme.localhost", domain)
		assert.True(t, primary)

		var username, email, role string
		var verified, staff bool
		require.NoError(t, e.db.Pool.QueryRow(ctx,
			`SELECT username, email, role, email_verified, is_staff FROM acme.users`,
		).Scan(&username, &email, &role, &verified, &staff))
		assert.Equal(t, "alice", username)
		assert.Equal(t, "alice@acme.example", email)
		assert.Equal(t, "owner", role)
		assert.True(t, staff, "owners are staff")
		assert.False(t, verified)

		var n int
		require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM acme.users`).Scan(&n))
		assert.Equal(t, 1, n, "one user: the owner")
		require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM acme.refresh_tokens`).Scan(&n))
		assert.Equal(t, 1, n, "the refresh token is recorded")
		var signedIn bool
		require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT last_login IS NOT NULL FROM acme.users`).Scan(&signedIn))
		assert.True(t, signedIn, "the signup is the owner's first sign-in")
	})

	t.Run("VerificationEmail", func(t *testing.T) {
		mail := box.wait("alice@acme.example", 1)
		assert.Equal(t, "alice@acme.example", mail.To)
		assert.Contains(t, mail.Subject, "Verify")
		link := mail.link(t)
		assert.Regexp(t, `^http://acme\.localhost:8000/accounts/verify/[^/]+/$`, link)
		secret := mail.secret(t)
		var hash []byte
		var purpose, email string
		require.NoError(t, e.db.Pool.QueryRow(ctx,
			`SELECT token_hash, purpose, email FROM acme.account_tokens`).Scan(&hash, &purpose, &email))
		sum := sha256.Sum256([]byte(secret))
		assert.Equal(t, sum[:], hash, "the stored hash is the link's secret's SHA-256")
		assert.Equal(t, "email_verification", purpose)
		assert.Equal(t, "alice@acme.example", email)
		var n int
		require.NoError(t, e.db.Pool.QueryRow(ctx,
			`SELECT count(*) FROM acme.account_tokens WHERE token_hash = $1`, []byte(secret)).Scan(&n))
		assert.Zero(t, n, "only the hash is stored")

		// The end of the flow: the link's token verifies the owner's address
		// on the new tenant's host, once.
		verify := req{method: "POST", host: "acme.localhost:8000", path: "/api/email/verify/", body: map[string]string{"token": secret}}
		r := e.do(verify)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var verified bool
		require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT email_verified FROM acme.users WHERE username = 'alice'`).Scan(&verified))
		assert.True(t, verified)
		assert.Equal(t, http.StatusBadRequest, e.do(verify).status, "single-use")
	})

	t.Run("PairWorksOnTheNewDomain", func(t *testing.T) {
		host := "acme.localhost:8000"
		r := e.do(req{method: "GET", host: host, path: "/api/profile/", bearer: access})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		p := r.json(t)
		assert.Equal(t, "owner", p["role"])
		assert.Equal(t, true, p["email_verified"], "verified with the email's link above")
		assert.Equal(t, "alice@acme.example", p["email"])
		assert.Equal(t, "acme", p["tenant_schema"])

		r = e.do(req{method: "POST", host: host, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		assert.NotEmpty(t, r.json(t)["access"])

		// Not on another tenant.
		r = e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: access})
		assert.Equal(t, http.StatusForbidden, r.status)
		// The owner signs in with the password too.
		e.login(host, "alice", "plum-Orbit-7315-sail")
	})

	t.Run("Form", func(t *testing.T) {
		r := e.do(req{method: "POST", host: public, path: "/api/signup/", ctype: "application/x-www-form-urlencoded",
			body: "organization=Beta&subdomain=beta&username=bob&email=bob%40beta.example&password=plum-Orbit-7315-sail"})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		assert.Equal(t, "beta", r.json(t)["schema_name"])
		box.wait("bob@beta.example", 1)
	})

	t.Run("ErrTaken", func(t *testing.T) {
		r := e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("acme")})
		require.Equal(t, http.StatusBadRequest, r.status)
		assert.JSONEq(t, `{"subdomain": ["This subdomain is already taken."]}`, string(r.body))
		// An admin-made tenant's schema is as taken.
		r = e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("school1")})
		require.Equal(t, http.StatusBadRequest, r.status)
		assert.JSONEq(t, `{"subdomain": ["This subdomain is already taken."]}`, string(r.body))
		assert.Len(t, box.to("alice@acme.example"), 1, "no second email")
		assert.Equal(t, 3, e.tenantLeft("acme"), "still one client, one domain, one schema")
	})
}

func TestSignupErrors(t *testing.T) {
	e := newEnv(t)
	with := func(k string, v any) map[string]any {
		b := signupBody("newco")
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	const invalid = "Enter a valid subdomain: 1-63 lower-case letters and digits, starting with a letter (it names both the tenant's host and its database schema, so no hyphens, underscores or dots)."
	for _, tc := range []struct {
		name string
		body any
		want string
	}{
		{"ErrOrganizationRequired", with("organization", nil), `{"organization": ["This field is required."]}`},
		{"ErrOrganizationBlank", with("organization", "  "), `{"organization": ["This field may not be blank."]}`},
		{"ErrOrganizationTooLong", with("organization", strings.Repeat("x", 101)), `{"organization": ["Ensure this field has no more than 100 characters."]}`},
		{"ErrSubdomainRequired", with("subdomain", nil), `{"subdomain": ["This field is required."]}`},
		{"ErrSubdomainHyphen", with("subdomain", "new-co"), `{"subdomain": ["` + invalid + `"]}`},
		{"ErrSubdomainUnderscore", with("subdomain", "new_co"), `{"subdomain": ["` + invalid + `"]}`},
		{"ErrSubdomainDigitFirst", with("subdomain", "1co"), `{"subdomain": ["` + invalid + `"]}`},
		{"ErrSubdomainDot", with("subdomain", "a.b"), `{"subdomain": ["` + invalid + `"]}`},
		{"ErrSubdomainTooLong", with("subdomain", "a"+strings.Repeat("b", 63)), `{"subdomain": ["` + invalid + `"]}`},
		{"ErrSubdomainNotString", with("subdomain", true), `{"subdomain": ["Not a valid string."]}`},
		{"ErrSubdomainReserved", with("subdomain", "www"), `{"subdomain": ["This subdomain is reserved."]}`},
		{"ErrSubdomainReservedAdmin", with("subdomain", "admin"), `{"subdomain": ["This subdomain is reserved."]}`},
		{"ErrSubdomainUpperCase", with("subdomain", "Acme"), `{"subdomain": ["` + invalid + `"]}`},
		{"ErrSubdomainPostgres", with("subdomain", "public"), `{"subdomain": ["This subdomain is reserved."]}`},
		{"ErrSubdomainJobQueue", with("subdomain", "river"), `{"subdomain": ["This subdomain is reserved."]}`},
		{"ErrUsernameRequired", with("username", nil), `{"username": ["This field is required."]}`},
		{"ErrUsernameInvalid", with("username", "al ice"), `{"username": ["Enter a valid username of at most 150 letters, digits and @/./+/-/_ characters."]}`},
		{"ErrEmailRequired", with("email", nil), `{"email": ["This field is required."]}`},
		{"ErrEmailBlank", with("email", ""), `{"email": ["This field may not be blank."]}`},
		{"ErrEmailInvalid", with("email", "not-an-address"), `{"email": ["Enter a valid email address."]}`},
		{"ErrPasswordRequired", with("password", nil), `{"password": ["This field is required."]}`},
		{"ErrAllRequired", map[string]any{}, `{"organization": ["This field is required."], "subdomain": ["This field is required."], "username": ["This field is required."], "email": ["This field is required."], "password": ["This field is required."]}`},
		{"ErrNotObject", []string{"x"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(req{method: "POST", host: public, path: "/api/signup/", body: tc.body})
			require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
			if tc.want != "" {
				assert.JSONEq(t, tc.want, string(r.body))
			}
			assert.Zero(t, e.tenantLeft("newco"), "nothing left behind")
		})
	}
	t.Run("ErrPasswordWeak", func(t *testing.T) {
		r := e.do(req{method: "POST", host: public, path: "/api/signup/", body: with("password", "short")})
		require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
		m := r.json(t)
		assert.Len(t, m, 1, "%s", r.body)
		assert.Contains(t, m, "password", "the signup's own field name, not admin_password")
		assert.Zero(t, e.tenantLeft("newco"))
	})
	t.Run("ErrSeveralFields", func(t *testing.T) {
		b := with("subdomain", "www")
		b["organization"] = ""
		b["email"] = "nope"
		r := e.do(req{method: "POST", host: public, path: "/api/signup/", body: b})
		require.Equal(t, http.StatusBadRequest, r.status)
		assert.JSONEq(t, `{"organization": ["This field may not be blank."], "subdomain": ["This subdomain is reserved."], "email": ["Enter a valid email address."]}`, string(r.body))
	})
	t.Run("ErrSubdomainOfAPublicHost", func(t *testing.T) {
		e := newEnvWith(t, func(c *config.Config) {
			c.PublicHosts = append(c.PublicHosts, "portal.localhost")
		})
		r := e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("portal")})
		require.Equal(t, http.StatusBadRequest, r.status)
		assert.JSONEq(t, `{"subdomain": ["This subdomain is reserved."]}`, string(r.body))
	})
	t.Run("ErrConfiguredReserved", func(t *testing.T) {
		e := newEnvWith(t, func(c *config.Config) { c.ReservedSubdomains = []string{"acme"} })
		r := e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("acme")})
		require.Equal(t, http.StatusBadRequest, r.status)
		assert.JSONEq(t, `{"subdomain": ["This subdomain is reserved."]}`, string(r.body))
		assert.Zero(t, e.tenantLeft("acme"))
		// www is no longer reserved there (RESERVED_SUBDOMAINS replaces the list).
		r = e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("www")})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	})
}

func TestSignupDisabled(t *testing.T) {
	e := newEnvWith(t, func(c *config.Config) { c.SignupEnabled = false })
	r := e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("acme")})
	require.Equal(t, http.StatusForbidden, r.status)
	assert.JSONEq(t, `{"detail": "Signup is disabled on this server."}`, string(r.body))
	assert.Zero(t, e.tenantLeft("acme"))
}

func TestSignupPublicHostOnly(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "POST", host: school1, path: "/api/signup/", body: signupBody("acme")})
	require.Equal(t, http.StatusNotFound, r.status)
	assert.JSONEq(t, `{"detail": "Not found."}`, string(r.body))
	assert.Zero(t, e.tenantLeft("acme"))
	r = e.do(req{method: "GET", host: public, path: "/api/signup/"})
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	assert.Equal(t, "POST, OPTIONS", r.header.Get("Allow"))
	r = e.do(req{method: "OPTIONS", host: public, path: "/api/signup/"})
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "Signup", r.json(t)["name"])
	post := r.json(t)["actions"].(map[string]any)["POST"].(map[string]any)
	for _, f := range []string{"organization", "subdomain", "username", "email", "password"} {
		assert.Equal(t, true, post[f].(map[string]any)["required"], f)
	}
}

func TestSignupThrottled(t *testing.T) {
	e := newEnv(t)
	const from = "127.0.0.9"
	send := func(sub string) reply {
		return e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody(sub), from: from})
	}
	r := send("first")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	// Invalid requests are refused before they are counted.
	for range 10 {
		r := e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("www"), from: from})
		require.Equal(t, http.StatusBadRequest, r.status)
	}
	// Taken subdomains are counted: the attempt is counted before the hash.
	for range 9 {
		r := send("first")
		require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	}
	r = send("eleventh")
	require.Equal(t, http.StatusTooManyRequests, r.status, "%s", r.body)
	wait, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err)
	assert.True(t, wait > 3000 && wait <= 3600, "Retry-After %d: the rest of the hour", wait)
	assert.Regexp(t, regexp.MustCompile(`^Request was throttled\. Expected available in \d+ seconds\.$`), r.json(t)["detail"])
	assert.Zero(t, e.tenantLeft("eleventh"))

	// Another address is not throttled.
	r = e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("other"), from: "127.0.0.10"})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	// Sign-ins from the throttled address are not affected.
	e.login(school1, "demo", "demo123")
}

func TestSignupConcurrentSameSubdomain(t *testing.T) {
	e := newEnv(t)
	const n = 2
	replies := make([]reply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b := signupBody("race")
			b["username"] = fmt.Sprintf("user%d", i)
			replies[i], _, _, errs[i] = e.send(req{method: "POST", host: public, path: "/api/signup/", body: b,
				from: fmt.Sprintf("127.0.0.%d", 20+i)})
		})
	}
	wg.Wait()
	var created, refused int
	for i, r := range replies {
		require.NoError(t, errs[i])
		switch r.status {
		case http.StatusCreated:
			created++
		case http.StatusBadRequest:
			refused++
			assert.JSONEq(t, `{"subdomain": ["This subdomain is already taken."]}`, string(r.body))
		default:
			t.Errorf("status %d: %s", r.status, r.body)
		}
	}
	assert.Equal(t, 1, created)
	assert.Equal(t, 1, refused)
	assert.Equal(t, 3, e.tenantLeft("race"), "one client, one domain, one schema")
}

// TestSignupBurst: of signups sent at once from one address, only the
// limit's worth are provisioned (each is counted before its hash).
func TestSignupBurst(t *testing.T) {
	e := newEnv(t)
	const n = 14
	replies := make([]reply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			replies[i], _, _, errs[i] = e.send(req{method: "POST", host: public, path: "/api/signup/",
				body: signupBody(fmt.Sprintf("burst%d", i)), from: "127.0.0.30"})
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for i, r := range replies {
		require.NoError(t, errs[i])
		counts[r.status]++
	}
	assert.Equal(t, map[int]int{http.StatusCreated: 10, http.StatusTooManyRequests: 4}, counts)
	var clients int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM clients WHERE schema_name LIKE 'burst%'").Scan(&clients))
	assert.Equal(t, 10, clients)
}

// TestSignupEmailFailureRollsBack: when the verification email cannot be
// enqueued, the whole tenant is rolled back (no tenant without its email).
func TestSignupEmailFailureRollsBack(t *testing.T) {
	e := newEnv(t)
	e.exec("ALTER TABLE river.river_job ADD CONSTRAINT test_no_jobs CHECK (false) NOT VALID")
	r := e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("acme")})
	require.Equal(t, http.StatusInternalServerError, r.status, "%s", r.body)
	assert.Zero(t, e.tenantLeft("acme"), "no client row, domain or schema")

	e.exec("ALTER TABLE river.river_job DROP CONSTRAINT test_no_jobs")
	r = e.do(req{method: "POST", host: public, path: "/api/signup/", body: signupBody("acme"), from: "127.0.0.2"})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var jobs int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(),
		"SELECT count(*) FROM river.river_job WHERE args->>'to' = 'alice@acme.example'").Scan(&jobs))
	assert.Equal(t, 1, jobs)
}
