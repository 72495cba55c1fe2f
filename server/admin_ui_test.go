package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/server"
)

// browser is a stand-in for a browser on the admin UI: it keeps cookies and
// does not follow redirects, so tests see each answer.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is one answer of the admin UI.
type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

func (b *browser) do(method, path string, form url.Values, header http.Header) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequest(method, b.base+path, body)
	require.NoError(b.t, err)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		r.Header[k] = vs
	}
	resp, err := b.c.Do(r)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return page{status: resp.StatusCode, header: resp.Header, body: string(out)}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil, nil) }

func (b *browser) post(path string, form url.Values) page { return b.do("POST", path, form, nil) }

var csrfPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the CSRF token of the forms on path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	require.Equal(b.t, 200, p.status, "GET %s: %s", path, p.body)
	m := csrfPattern.FindStringSubmatch(p.body)
	require.NotNil(b.t, m, "no CSRF token on %s", path)
	return m[1]
}

// signIn signs in through the sign-in form and returns the session's CSRF token.
func (b *browser) signIn(username, password string) string {
	b.t.Helper()
	p := b.post("/admin/login/", url.Values{"csrf_token": {b.csrf("/admin/login/")}, "username": {username}, "password": {password}})
	require.Equal(b.t, http.StatusSeeOther, p.status, "sign in: %s", p.body)
	return b.csrf("/admin/tenants/")
}

// cookie returns the Set-Cookie of name in p.
func cookie(t *testing.T, p page, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie set; headers: %v", name, p.header)
	return nil
}

func TestAdminUISignInOut(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	b := newBrowser(t, e.srv.URL)

	t.Run("RedirectsToSignIn", func(t *testing.T) {
		p := b.get("/admin/")
		assert.Equal(t, http.StatusFound, p.status)
		assert.Equal(t, "/admin/tenants/", p.location())
		p = b.get("/admin/tenants/?q=x")
		assert.Equal(t, http.StatusSeeOther, p.status)
		assert.Equal(t, "/admin/login/?next="+url.QueryEscape("/admin/tenants/?q=x"), p.location())
		p = b.get("/admin/tenants/school1/")
		assert.Equal(t, http.StatusSeeOther, p.status)
	})
	t.Run("SignInPage", func(t *testing.T) {
		p := b.get("/admin/login/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, `<form method="post" action="/admin/login/"`)
		assert.Contains(t, p.header.Get("Content-Security-Policy"), "default-src 'none'")
		assert.Equal(t, "DENY", p.header.Get("X-Frame-Options"))
		assert.Equal(t, "no-store", p.header.Get("Cache-Control"))
		assert.NotContains(t, p.body, "https://", "no external assets")
	})
	login := func(csrf, username, password, next string) page {
		return b.post("/admin/login/", url.Values{"csrf_token": {csrf}, "username": {username}, "password": {password}, "next": {next}})
	}
	t.Run("ErrNoCSRF", func(t *testing.T) {
		p := login("", suName, suPassword, "")
		assert.Equal(t, http.StatusForbidden, p.status)
		assert.Contains(t, p.body, "The form has expired")
		assert.Zero(t, e.count("SELECT count(*) FROM admin_sessions"))
	})
	t.Run("ErrWrongCSRF", func(t *testing.T) {
		b.csrf("/admin/login/") // the cookie is set
		p := login("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", suName, suPassword, "")
		assert.Equal(t, http.StatusForbidden, p.status)
		assert.Zero(t, e.count("SELECT count(*) FROM admin_sessions"))
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		p := login(b.csrf("/admin/login/"), suName, "wrong", "")
		assert.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, "Please enter the correct username and password")
		assert.Contains(t, p.body, `value="root"`, "the username is kept")
		assert.NotContains(t, p.body, "wrong", "the password is not echoed")
		assert.Zero(t, e.count("SELECT count(*) FROM admin_sessions"))
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		p := login(b.csrf("/admin/login/"), "", "", "")
		assert.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, "Enter your username and password.")
	})
	t.Run("ErrTenantUser", func(t *testing.T) {
		p := login(b.csrf("/admin/login/"), "demo", "demo123", "")
		assert.Equal(t, http.StatusBadRequest, p.status)
	})

	var sessionValue string
	t.Run("OK", func(t *testing.T) {
		p := login(b.csrf("/admin/login/"), suName, suPassword, "/admin/tenants/school1/")
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, "/admin/tenants/school1/", p.location())
		c := cookie(t, p, "tenantctl_admin_session")
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
		assert.False(t, c.Secure, "not Secure outside production")
		assert.Equal(t, "/admin/", c.Path)
		assert.Equal(t, 12*3600, c.MaxAge)
		sessionValue = c.Value
		assert.Equal(t, 1, e.count("SELECT count(*) FROM admin_sessions"))
		assert.Zero(t, e.count("SELECT count(*) FROM admin_sessions WHERE convert_to($1, 'UTF8') = token_hash OR csrf_token = $1", c.Value),
			"only a hash of the cookie is stored")

		p = b.get("/admin/tenants/school1/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, "Signed in as root.")
		assert.Contains(t, p.body, "School 1")
		p = b.get("/admin/tenants/school1/")
		assert.NotContains(t, p.body, "Signed in as root.", "a flash shows once")
		p = b.get("/admin/login/")
		assert.Equal(t, http.StatusSeeOther, p.status, "signed in: the sign-in page moves on")
	})
	t.Run("NextIsNeverAnotherSite", func(t *testing.T) {
		for _, next := range []string{"https://evil.example/", "//evil.example/admin/", "/\\evil.example", "/api/items/", "javascript:alert(1)"} {
			other := newBrowser(t, e.srv.URL)
			p := other.post("/admin/login/", url.Values{"csrf_token": {other.csrf("/admin/login/")}, "username": {suName},
				"password": {suPassword}, "next": {next}})
			require.Equal(t, http.StatusSeeOther, p.status)
			assert.Equal(t, "/admin/tenants/", p.location(), "next=%q", next)
		}
	})
	t.Run("SignOut", func(t *testing.T) {
		csrf := b.csrf("/admin/tenants/")
		p := b.post("/admin/logout/", url.Values{})
		assert.Equal(t, http.StatusForbidden, p.status, "sign-out needs the CSRF token too")
		assert.Equal(t, 200, b.get("/admin/tenants/").status, "still signed in")

		p = b.post("/admin/logout/", url.Values{"csrf_token": {csrf}})
		require.Equal(t, http.StatusSeeOther, p.status)
		assert.Equal(t, "/admin/login/?signed_out=1", p.location())
		assert.Equal(t, -1, cookie(t, p, "tenantctl_admin_session").MaxAge)
		assert.Equal(t, http.StatusSeeOther, b.get("/admin/tenants/").status)
		assert.Contains(t, b.get("/admin/login/?signed_out=1").body, "You are signed out.")

		// The old cookie is dead on the server too.
		stolen := newBrowser(t, e.srv.URL)
		u, _ := url.Parse(e.srv.URL + "/admin/")
		stolen.c.Jar.SetCookies(u, []*http.Cookie{{Name: "tenantctl_admin_session", Value: sessionValue, Path: "/admin/"}})
		assert.Equal(t, http.StatusSeeOther, stolen.get("/admin/tenants/").status)
	})
	t.Run("DeactivatedSuperuser", func(t *testing.T) {
		b.signIn(suName, suPassword)
		e.exec("UPDATE superusers SET is_active = false")
		assert.Equal(t, http.StatusSeeOther, b.get("/admin/tenants/").status)
		e.exec("UPDATE superusers SET is_active = true")
	})
	t.Run("Throttle", func(t *testing.T) {
		other := newBrowser(t, e.srv.URL)
		csrf := other.csrf("/admin/login/")
		for range 5 {
			p := other.post("/admin/login/", url.Values{"csrf_token": {csrf}, "username": {"victim"}, "password": {"guess"}})
			require.Equal(t, http.StatusBadRequest, p.status)
		}
		p := other.post("/admin/login/", url.Values{"csrf_token": {csrf}, "username": {"victim"}, "password": {"guess"}})
		assert.Equal(t, http.StatusTooManyRequests, p.status)
		assert.NotEmpty(t, p.header.Get("Retry-After"))
		assert.Contains(t, p.body, "Too many failed sign-ins.")
	})
}

func TestAdminUISecureCookieInProduction(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	cfg := e.cfg
	cfg.Env = "production"
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), e.db.Pool, password.NewHasher(0), nil))
	t.Cleanup(func() { srv.Close(); cancel() })

	b := newBrowser(t, srv.URL)
	p := b.get("/admin/login/")
	assert.True(t, cookie(t, p, "tenantctl_admin_csrf").Secure)
	csrf := csrfPattern.FindStringSubmatch(p.body)[1]
	// The client jar would not send a Secure cookie over http; send it by hand.
	p = b.do("POST", "/admin/login/", url.Values{"csrf_token": {csrf}, "username": {suName}, "password": {suPassword}},
		http.Header{"Cookie": {"tenantctl_admin_csrf=" + csrf}})
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	c := cookie(t, p, "tenantctl_admin_session")
	assert.True(t, c.Secure)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
}

func TestAdminUICSRF(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	otherID := e.superuser("other", suPassword)
	b := newBrowser(t, e.srv.URL)
	csrf := b.signIn(suName, suPassword)
	otherCSRF := newBrowser(t, e.srv.URL).signIn("other", suPassword)
	loginCSRF := csrfPattern.FindStringSubmatch(newBrowser(t, e.srv.URL).get("/admin/login/").body)[1]
	require.NotEqual(t, csrf, otherCSRF, "each session has its own token")

	newTenant := url.Values{"schema_name": {"acme"}, "name": {"ACME"}, "domain": {"acme.localhost"}}
	with := func(v url.Values, token string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = vs
		}
		if token != "" {
			out.Set("csrf_token", token)
		}
		return out
	}
	demoID := e.count("SELECT id FROM school1.users WHERE username = 'demo'")
	posts := []struct {
		path string
		form url.Values
	}{
		{"/admin/new-tenant/", newTenant},
		{"/admin/tenants/school1/delete/", url.Values{"confirm": {"school1"}}},
		{"/admin/tenants/school1/delete/", url.Values{"mode": {"soft"}}},
		{"/admin/tenants/school1/restore/", url.Values{}},
		{"/admin/tenants/school1/domains/", url.Values{"domain": {"x.school1.localhost"}}},
		{"/admin/tenants/school1/domains/school1.localhost/remove/", url.Values{}},
		{"/admin/tenants/school1/users/", url.Values{"username": {"eve"}, "password": {"longenough"}}},
		{"/admin/tenants/school1/users/" + strconv.Itoa(demoID) + "/active/", url.Values{"active": {"false"}}},
		{"/admin/tenants/school1/users/" + strconv.Itoa(demoID) + "/password/", url.Values{"password": {"hijacked"}}},
		{"/admin/tenants/school1/settings/", url.Values{"name": {"Hijacked"}}},
		{"/admin/tenants/school1/users/" + strconv.Itoa(demoID) + "/", url.Values{"email": {"eve@evil.example"}, "role": {"member"}}},
		{"/admin/tenants/school1/users/" + strconv.Itoa(demoID) + "/delete/", url.Values{}},
		{"/admin/superusers/" + strconv.FormatInt(otherID, 10) + "/password/", url.Values{"password": {"hijacked"}}},
		{"/admin/superusers/" + strconv.FormatInt(otherID, 10) + "/delete/", url.Values{}},
		{"/admin/logout/", url.Values{}},
	}
	// A token that differs from the session's in its first character (a
	// fixed "x" was the session's own token whenever that began with x).
	wrong := "x" + csrf[1:]
	if csrf[0] == 'x' {
		wrong = "y" + csrf[1:]
	}
	for _, c := range posts {
		t.Run("ErrNoToken"+c.path, func(t *testing.T) {
			assert.Equal(t, http.StatusForbidden, b.post(c.path, with(c.form, "")).status)
		})
		t.Run("ErrWrongToken"+c.path, func(t *testing.T) {
			assert.Equal(t, http.StatusForbidden, b.post(c.path, with(c.form, wrong)).status)
		})
		t.Run("ErrOtherSessionsToken"+c.path, func(t *testing.T) {
			assert.Equal(t, http.StatusForbidden, b.post(c.path, with(c.form, otherCSRF)).status)
		})
		t.Run("ErrSignInFormsToken"+c.path, func(t *testing.T) {
			assert.Equal(t, http.StatusForbidden, b.post(c.path, with(c.form, loginCSRF)).status)
		})
		t.Run("ErrForeignOrigin"+c.path, func(t *testing.T) {
			p := b.do("POST", c.path, with(c.form, csrf), http.Header{"Origin": {"http://evil.example"}})
			assert.Equal(t, http.StatusForbidden, p.status)
		})
		t.Run("ErrSignedOut"+c.path, func(t *testing.T) {
			p := newBrowser(t, e.srv.URL).post(c.path, with(c.form, csrf))
			assert.Equal(t, http.StatusSeeOther, p.status)
			assert.Equal(t, "/admin/login/", p.location())
		})
	}
	// Nothing changed.
	assert.Zero(t, e.tenantLeftovers("acme"))
	assert.Equal(t, 2, e.count("SELECT count(*) FROM clients"))
	assert.Equal(t, 2, e.count("SELECT count(*) FROM domains"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE is_active AND NOT is_staff AND email = 'demo@school1.com'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM clients WHERE name = 'School 1'"))
	assert.Zero(t, e.count("SELECT count(*) FROM clients WHERE deleted_at IS NOT NULL"))
	assert.Equal(t, 2, e.count("SELECT count(*) FROM superusers"))
	assert.Equal(t, 2, e.count("SELECT count(*) FROM admin_sessions"), "nobody was signed out")
	assert.Equal(t, 200, e.do(req{method: "POST", host: school1, path: "/api/token/",
		body: map[string]string{"username": "demo", "password": "demo123"}}).status, "the password is unchanged")

	t.Run("OKSameOrigin", func(t *testing.T) {
		p := b.do("POST", "/admin/tenants/school1/domains/", with(url.Values{"domain": {"x.school1.localhost"}}, csrf),
			http.Header{"Origin": {e.srv.URL}})
		assert.Equal(t, http.StatusSeeOther, p.status, p.body)
	})
}

func TestAdminUITenants(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	b := newBrowser(t, e.srv.URL)
	csrf := b.signIn(suName, suPassword)
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf_token": {csrf}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	t.Run("List", func(t *testing.T) {
		p := b.get("/admin/tenants/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, "school1.localhost")
		assert.Contains(t, p.body, "school2.localhost")
		p = b.get("/admin/tenants/?q=SCHOOL2.local")
		assert.NotContains(t, p.body, "school1.localhost")
		assert.Contains(t, p.body, "school2.localhost")
		p = b.get("/admin/tenants/?q=%3Cscript%3E")
		assert.Contains(t, p.body, "No tenant’s name, schema or domain contains “&lt;script&gt;”")
		assert.NotContains(t, p.body, "<script>")
		assert.Equal(t, http.StatusSeeOther, b.get("/admin/tenants/?page=9").status)
	})
	t.Run("CreateInlineErrors", func(t *testing.T) {
		p := b.post("/admin/new-tenant/", form())
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Equal(t, 3, strings.Count(p.body, "This field is required."), p.body)
		assert.Contains(t, p.body, `id="schema_name-error"`)
		assert.Contains(t, p.body, `id="name-error"`)
		assert.Contains(t, p.body, `id="domain-error"`)
		assert.Contains(t, p.body, "nothing was created")

		for _, c := range []struct {
			name, field, message string
			form                 url.Values
		}{
			{"BadSchema", "schema_name", "schema name", form("schema_name", "Bad-Name", "name", "X", "domain", "x.localhost")},
			{"SchemaTaken", "schema_name", `already exists`, form("schema_name", "school1", "name", "X", "domain", "x.localhost")},
			{"DomainTaken", "domain", "already in use", form("schema_name", "acme", "name", "X", "domain", "school2.localhost")},
			{"BadDomain", "domain", "Enter a valid domain name", form("schema_name", "acme", "name", "X", "domain", "http://x")},
			{"BadDate", "paid_until", "Enter a date as YYYY-MM-DD.", form("schema_name", "acme", "name", "X", "domain", "x.localhost", "paid_until", "soon")},
			{"AdminPasswordShort", "admin_password", "too short", form("schema_name", "acme", "name", "X", "domain", "x.localhost",
				"admin_username", "boss", "admin_password", "short")},
			{"AdminUsernameMissing", "admin_username", "This field is required.", form("schema_name", "acme", "name", "X", "domain", "x.localhost",
				"admin_password", "longenough")},
			{"AdminEmail", "admin_email", "Enter a valid email address.", form("schema_name", "acme", "name", "X", "domain", "x.localhost",
				"admin_username", "boss", "admin_email", "nope", "admin_password", "longenough")},
		} {
			t.Run(c.name, func(t *testing.T) {
				p := b.post("/admin/new-tenant/", c.form)
				require.Equal(t, http.StatusBadRequest, p.status)
				m := regexp.MustCompile(`id="` + c.field + `-error">([^<]*)<`).FindStringSubmatch(p.body)
				require.NotNil(t, m, "no inline error for %s in %s", c.field, p.body)
				assert.Contains(t, strings.ReplaceAll(m[1], "&#34;", `"`), c.message)
				assert.Contains(t, p.body, `value="`+c.form.Get("name")+`"`, "values are kept")
				if pw := c.form.Get("admin_password"); pw != "" {
					assert.NotContains(t, p.body, `value="`+pw+`"`, "the password is not echoed")
				}
			})
		}
		assert.Zero(t, e.tenantLeftovers("acme"), "a failing create leaves nothing")
	})
	t.Run("Create", func(t *testing.T) {
		p := b.post("/admin/new-tenant/", form("schema_name", "acme", "name", "ACME <Corp>", "domain", "ACME.localhost", "on_trial", "on",
			"paid_until", "2030-01-31", "admin_username", "boss", "admin_email", "boss@acme.com", "admin_password", "s3cret-pass"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, "/admin/tenants/acme/", p.location())
		assert.Equal(t, 1, e.count("SELECT count(*) FROM clients WHERE schema_name = 'acme' AND on_trial AND paid_until = '2030-01-31' AND name = 'ACME <Corp>'"))
		assert.Equal(t, 1, e.count("SELECT count(*) FROM acme.users WHERE username = 'boss' AND is_staff"))
		p = b.get("/admin/tenants/acme/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, "Created tenant acme (ACME &lt;Corp&gt;) at acme.localhost with admin user boss.")
		assert.Contains(t, p.body, "boss@acme.com")
	})
	t.Run("Domains", func(t *testing.T) {
		p := b.post("/admin/tenants/acme/domains/", form("domain", "www.acme.localhost"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Contains(t, b.get("/admin/tenants/acme/").body, "Added domain www.acme.localhost.")
		assert.Equal(t, 1, e.count("SELECT count(*) FROM domains WHERE domain = 'www.acme.localhost' AND NOT is_primary"))

		p = b.post("/admin/tenants/acme/domains/", form("domain", "school1.localhost"))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, `id="new-domain-error"`)
		assert.Contains(t, p.body, "already in use")
		p = b.post("/admin/tenants/acme/domains/", form("domain", ""))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, "This field is required.")

		p = b.post("/admin/tenants/acme/domains/www.acme.localhost/primary/", form())
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM domains WHERE domain = 'www.acme.localhost' AND is_primary"))
		p = b.post("/admin/tenants/acme/domains/acme.localhost/remove/", form())
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Zero(t, e.count("SELECT count(*) FROM domains WHERE domain = 'acme.localhost'"))
		assert.Equal(t, http.StatusNotFound, b.post("/admin/tenants/acme/domains/school1.localhost/remove/", form()).status,
			"another tenant's domain")
		assert.Equal(t, 1, e.count("SELECT count(*) FROM domains WHERE domain = 'school1.localhost'"))
	})
	t.Run("Users", func(t *testing.T) {
		p := b.post("/admin/tenants/acme/users/", form("username", "teacher", "email", "t@acme.com", "password", "longenough", "role", "admin"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM acme.users WHERE username = 'teacher' AND is_staff AND role = 'admin'"))
		p = b.post("/admin/tenants/acme/users/", form("username", "teacher", "password", "longenough", "role", "member"))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, `id="user-username-error">A user with that username already exists.`)
		assert.NotContains(t, p.body, `value="longenough"`)

		id := strconv.Itoa(e.count("SELECT id FROM acme.users WHERE username = 'teacher'"))
		p = b.post("/admin/tenants/acme/users/"+id+"/active/", form())
		assert.Equal(t, http.StatusBadRequest, p.status, "no silent default")
		assert.Equal(t, 1, e.count("SELECT count(*) FROM acme.users WHERE username = 'teacher' AND is_active"))
		p = b.post("/admin/tenants/acme/users/"+id+"/active/", form("active", "false"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM acme.users WHERE username = 'teacher' AND NOT is_active"))
		assert.Contains(t, b.get("/admin/tenants/acme/").body, "Deactivated teacher")
		p = b.post("/admin/tenants/acme/users/"+id+"/active/", form("active", "true"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM acme.users WHERE username = 'teacher' AND is_active"))

		p = b.get("/admin/tenants/acme/users/" + id + "/password/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, "Reset the password of teacher")
		p = b.post("/admin/tenants/acme/users/"+id+"/password/", form("password", "short"))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, `id="password-error"`)
		p = b.post("/admin/tenants/acme/users/"+id+"/password/", form("password", "another-pass"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, "/admin/tenants/acme/", p.location())
		require.Eventually(t, func() bool {
			return e.do(req{method: "POST", host: "www.acme.localhost:8000", path: "/api/token/",
				body: map[string]string{"username": "teacher", "password": "another-pass"}}).status == 200
		}, 5*time.Second, 50*time.Millisecond)
		assert.Equal(t, http.StatusNotFound, b.get("/admin/tenants/acme/users/9999/password/").status)
		assert.Equal(t, http.StatusNotFound, b.get("/admin/tenants/school2/users/"+id+"0/password/").status)
	})
	t.Run("Delete", func(t *testing.T) {
		p := b.get("/admin/tenants/acme/delete/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, "This cannot be undone.")
		assert.Contains(t, p.body, "2 users")
		p = b.post("/admin/tenants/acme/delete/", form("confirm", "ACME"))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, "Type acme exactly to confirm; nothing was deleted.")
		assert.Equal(t, 1, e.count("SELECT count(*) FROM clients WHERE schema_name = 'acme'"))
		p = b.post("/admin/tenants/acme/delete/", form("confirm", "acme"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, "/admin/tenants/", p.location())
		assert.Zero(t, e.tenantLeftovers("acme"))
		p = b.get("/admin/tenants/")
		assert.Contains(t, p.body, "Deleted tenant acme (ACME &lt;Corp&gt;) with all its data.")
		assert.NotContains(t, p.body, "/admin/tenants/acme/")
		assert.Equal(t, http.StatusNotFound, b.get("/admin/tenants/acme/").status)
	})
	t.Run("NotFound", func(t *testing.T) {
		for _, path := range []string{"/admin/tenants/nobody/", "/admin/tenants/Bad-Schema/", "/admin/nothing-here/", "/admin/tenants/school1/users/x/password/"} {
			p := b.get(path)
			assert.Equal(t, http.StatusNotFound, p.status, path)
			assert.Contains(t, p.header.Get("Content-Type"), "text/html", path)
			assert.Contains(t, p.body, "Not found", path)
		}
	})
	t.Run("Static", func(t *testing.T) {
		p := b.get("/admin/static/admin.css")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.header.Get("Content-Type"), "text/css")
		assert.NotContains(t, p.body, "@import")
		assert.NotContains(t, p.body, "url(http")
		assert.Equal(t, http.StatusNotFound, b.get("/admin/static/").status, "no listing")
		assert.Equal(t, http.StatusNotFound, b.get("/admin/static/nope.css").status)
	})
	t.Run("NotOnTenantHost", func(t *testing.T) {
		e.t = t
		for _, path := range []string{"/admin/", "/admin/login/", "/admin/tenants/"} {
			r := e.do(req{method: "GET", host: school1, path: path})
			assert.Equal(t, http.StatusNotFound, r.status, path)
			assert.Contains(t, string(r.body), "Not found.")
		}
	})
}
