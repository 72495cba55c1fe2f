package server_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// screenshotDir is where the browser test saves a PNG of every page it
// visits, for people to look at (CI keeps artifacts/ as test artifacts).
var screenshotDir = filepath.Join("..", "artifacts", "screenshots")

// chromium returns the path of the Chromium to drive. Without one the test
// fails in CI (CI is set), where .ci/run installs Debian's chromium, and is
// skipped elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}
	for _, p := range candidates {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	msg := "no Chromium found (looked for $CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser, /usr/bin/google-chrome); " +
		"install it with: apt-get install -y chromium"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startBrowser starts headless Chromium (the chrome binary) with a window
// of width x height and returns the context of its tab, ended after timeout
// or with the test. Steps run on shorter contexts derived from it: a step's
// context must not own the browser or the tab.
func startBrowser(t *testing.T, chrome string, width, height int, timeout time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelBrowser)
	ctx, cancel := context.WithTimeout(bctx, timeout)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx), "start Chromium (%s)", chrome)
	return ctx
}

// chromeTab is one test's Chromium tab (startBrowser), with the steps every
// browser test takes.
type chromeTab struct {
	t   *testing.T
	ctx context.Context
	// failed names the screenshot saved when a step fails.
	failed string
}

// newChromeTab starts Chromium as startBrowser does, for a test whose failed
// step leaves screenshotDir/<failed>.png behind.
func newChromeTab(t *testing.T, chrome string, width, height int, timeout time.Duration, failed string) *chromeTab {
	t.Helper()
	require.NoError(t, os.MkdirAll(screenshotDir, 0o755))
	return &chromeTab{t: t, ctx: startBrowser(t, chrome, width, height, timeout), failed: failed}
}

// run takes one step of at most 30 s; if it fails, the test stops with a
// screenshot and the page's main element.
func (b *chromeTab) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		_ = chromedp.Do(b.ctx, screenshot(b.failed))
		html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		b.t.Fatalf("browser step %q: %v; the page (see %s/%s.png):\n%s", step, err, screenshotDir, b.failed, html)
	}
}

// text is the text of the element sel.
func (b *chromeTab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(b.t, err, "read %s", sel)
	return s
}

// screenshot saves a full-page PNG of the tab as screenshotDir/name.png.
func screenshot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		// Quality 100 makes chromedp capture a PNG.
		png, err := chromedp.FullScreenshot(100)(ctx, tgt)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644)
	})
}

// TestAdminInBrowser drives the admin UI in headless Chromium as a
// superuser would: sign in, create a tenant with its admin user, find it,
// add a domain, check that the new admin can sign in on that domain through
// the API, then delete the tenant and see it gone. It saves a screenshot of
// every page.
func TestAdminInBrowser(t *testing.T) {
	chrome := chromium(t)
	e := newEnv(t)
	e.superuser(suName, suPassword)
	u, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	// Chromium resolves localhost to the loopback address itself (the machine
	// may have no resolver at all), and localhost is an allowed public host.
	base := "http://localhost:" + u.Port()
	b := newChromeTab(t, chrome, 1280, 900, 3*time.Minute, "failed")
	ctx, run, text := b.ctx, b.run, b.text

	// Signed out, the admin sends the browser to the sign-in page.
	run("open the admin",
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		screenshot("01-sign-in"),
	)
	location, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Contains(t, location, "/admin/login/")

	run("sign in with a wrong password",
		chromedp.SendKeys(chromedp.CSS("#username"), suName),
		chromedp.SendKeys(chromedp.CSS("#password"), "not-the-password"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-error")),
		screenshot("02-sign-in-failed"),
	)
	assert.Contains(t, text(".flash-error"), "Please enter the correct username and password")

	run("sign in",
		chromedp.Clear(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), suPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#tenants")),
		screenshot("03-tenants"),
	)
	assert.Contains(t, text(".flash"), "Signed in as root.")
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	require.NoError(t, err)
	assert.NotContains(t, cookies, "tenantctl_admin_session", "the session cookie is HttpOnly")

	run("create with invalid input",
		chromedp.Click(chromedp.CSS(`a.button.primary[href="/admin/new-tenant/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#schema_name")),
		screenshot("04-new-tenant"),
		chromedp.SendKeys(chromedp.CSS("#schema_name"), "ACME Corp"),
		chromedp.SendKeys(chromedp.CSS("#name"), "ACME Corp"),
		chromedp.SendKeys(chromedp.CSS("#domain"), "acme.localhost"),
		chromedp.SendKeys(chromedp.CSS("#admin_username"), "boss"),
		chromedp.SendKeys(chromedp.CSS("#admin_password"), "short"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"].primary`)),
		chromedp.WaitVisible(chromedp.CSS("#schema_name-error")),
		screenshot("05-new-tenant-errors"),
	)
	assert.Contains(t, text("#schema_name-error"), "schema name")
	assert.Contains(t, text("#admin_password-error"), "too short")
	assert.Zero(t, e.count("SELECT count(*) FROM clients WHERE schema_name NOT IN ('school1', 'school2')"))

	run("create the tenant with its admin user",
		chromedp.Clear(chromedp.CSS("#schema_name")),
		chromedp.SendKeys(chromedp.CSS("#schema_name"), "acme"),
		chromedp.Click(chromedp.CSS("#on_trial")),
		chromedp.SetValue(chromedp.CSS("#paid_until"), "2030-01-31"),
		chromedp.SendKeys(chromedp.CSS("#admin_email"), "boss@acme.example"),
		chromedp.SendKeys(chromedp.CSS("#admin_password"), "s3cret-pass"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"].primary`)),
		chromedp.WaitVisible(chromedp.CSS("#domains")),
		screenshot("06-tenant-created"),
	)
	assert.Contains(t, text(".flash"), "Created tenant acme (ACME Corp) at acme.localhost with admin user boss.")
	assert.Contains(t, text("#users"), "boss@acme.example")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM clients WHERE schema_name = 'acme' AND state = 'ready' AND on_trial AND paid_until = '2030-01-31'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM acme.users WHERE username = 'boss' AND is_staff"))

	run("find it by search",
		chromedp.Navigate(base+"/admin/tenants/"),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "acme"),
		chromedp.Submit(chromedp.CSS("#q")),
		// The unfiltered list shows acme too: wait for what only the
		// results page has (its Clear link), or the screenshot could be
		// taken while the page navigates, and hang.
		chromedp.WaitVisible(chromedp.CSS("form.search a.clear")),
		chromedp.WaitVisible(chromedp.CSS(`#tenants a[href="/admin/tenants/acme/"]`)),
		screenshot("07-search"),
	)
	found := text("#tenants tbody")
	assert.Contains(t, found, "ACME Corp")
	assert.NotContains(t, found, "School 1", "the search keeps only the match")

	run("add a domain",
		chromedp.Click(chromedp.CSS(`#tenants a[href="/admin/tenants/acme/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#new-domain")),
		chromedp.SendKeys(chromedp.CSS("#new-domain"), "www.acme.localhost"),
		chromedp.Click(chromedp.CSS(`#domains form.inline-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		screenshot("08-domain-added"),
	)
	assert.Contains(t, text(".flash"), "Added domain www.acme.localhost.")
	assert.Contains(t, text("#domains table"), "www.acme.localhost")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM domains d JOIN clients c ON c.id = d.client_id WHERE c.schema_name = 'acme' AND d.domain = 'www.acme.localhost'"))

	t.Run("NewAdminSignsInOnTheNewDomain", func(t *testing.T) {
		e.t = t
		require.Eventually(t, func() bool {
			r := e.do(req{method: "POST", host: "www.acme.localhost:" + u.Port(), path: "/api/token/",
				body: map[string]string{"username": "boss", "password": "s3cret-pass"}})
			return r.status == 200 && strings.Count(string(r.body), ".") >= 4
		}, 10*time.Second, 50*time.Millisecond)
	})

	run("open the reset-password page",
		chromedp.Navigate(base+"/admin/tenants/acme/"),
		chromedp.WaitVisible(chromedp.CSS("#users")),
		chromedp.Click(chromedp.CSS(`#users a.button[href$="/password/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		screenshot("09-reset-password"),
	)

	run("delete the tenant after typing its schema",
		chromedp.Navigate(base+"/admin/tenants/acme/"),
		chromedp.WaitVisible(chromedp.CSS(`a.button.danger`)),
		chromedp.Click(chromedp.CSS(`a.button.danger`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "acm"),
		chromedp.Click(chromedp.CSS(`button.danger[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm-error")),
		screenshot("10-delete-mistyped"),
	)
	assert.Contains(t, text("#confirm-error"), "nothing was deleted")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM clients WHERE schema_name = 'acme'"))

	run("confirm the deletion",
		chromedp.SendKeys(chromedp.CSS("#confirm"), "acme"),
		chromedp.Click(chromedp.CSS(`button.danger[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#tenants")),
		screenshot("11-tenant-deleted"),
	)
	assert.Contains(t, text(".flash"), "Deleted tenant acme (ACME Corp) with all its data.")
	assert.NotContains(t, text("#tenants"), "acme")
	assert.Zero(t, e.tenantLeftovers("acme"))

	run("search for it again",
		chromedp.SendKeys(chromedp.CSS("#q"), "acme"),
		chromedp.Submit(chromedp.CSS("#q")),
		chromedp.WaitVisible(chromedp.CSS(".empty")),
		screenshot("12-search-gone"),
	)
	assert.Contains(t, text(".empty"), "No tenant’s name, schema or domain contains “acme”.")

	run("sign out",
		chromedp.Click(chromedp.CSS(".signout button")),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		screenshot("13-signed-out"),
	)
	assert.Contains(t, text(".flash"), "You are signed out.")
	assert.Zero(t, e.count("SELECT count(*) FROM admin_sessions"))
}
