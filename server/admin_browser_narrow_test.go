package server_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/provision"
)

// narrowWidth is the CSS width of a small phone (an iPhone 12 to 15).
const narrowWidth = 390

// TestAdminNarrowScreen opens the admin's pages in headless Chromium on a
// 390 px wide phone screen: no page is wider than the screen (wide tables
// scroll inside their box), and the top bar keeps its side padding. It saves
// a screenshot of each page (narrow-*.png).
func TestAdminNarrowScreen(t *testing.T) {
	chrome := chromium(t)
	e := newEnv(t)
	e.superuser(suName, suPassword)
	ctx := t.Context()
	// Long values, the kind that push a table out of its box.
	long := "theadmissionsofficeandtheregistrarofthewholecampus.school1.localhost" // no hyphen to break at
	_, err := e.prov.AddDomain(ctx, "school1", long, true)
	require.NoError(t, err)
	_, err = e.prov.CreateUser(ctx, "school1", provision.UserParams{Username: "a.very.long.username.indeed",
		Email: "someone.with.a.long.address@admissions.school1.example.com", Password: "longenough", Staff: true})
	require.NoError(t, err)
	u, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	base := "http://localhost:" + u.Port()
	require.NoError(t, os.MkdirAll(screenshotDir, 0o755))

	bctx := startBrowser(t, chrome, narrowWidth, 844, 2*time.Minute)

	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("browser step %q: %v", step, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		require.NoError(t, err, "evaluate %s", js)
		return v
	}
	px := func(v string) float64 {
		t.Helper()
		f, err := strconv.ParseFloat(strings.TrimSuffix(v, "px"), 64)
		require.NoError(t, err, "a length in px: %q", v)
		return f
	}

	run("emulate a phone and sign in",
		chromedp.EmulateViewport(narrowWidth, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile),
		chromedp.Navigate(base+"/admin/login/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), suName),
		chromedp.SendKeys(chromedp.CSS("#password"), suPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#tenants")),
	)
	require.Equal(t, strconv.Itoa(narrowWidth), eval(`String(window.innerWidth)`), "the layout viewport is the phone's")

	demoID := e.count("SELECT id FROM school1.users WHERE username = 'demo'")
	for _, p := range []struct{ name, path, wait string }{
		{"tenant", "/admin/tenants/school1/", "#domains"},
		{"tenants", "/admin/tenants/", "#tenants"},
		{"new-tenant", "/admin/new-tenant/", "#schema_name"},
		{"user", fmt.Sprintf("/admin/tenants/school1/users/%d/", demoID), "#user-form"},
		{"superusers", "/admin/superusers/", "#superusers"},
		{"remove-domain", "/admin/tenants/school1/domains/school1.localhost/remove/", ".danger-zone"},
		{"remove-long-domain", "/admin/tenants/school1/domains/" + long + "/remove/", ".danger-zone"},
	} {
		t.Run(p.name, func(t *testing.T) {
			run("open "+p.path, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)), screenshot("narrow-"+p.name))
			width, err := strconv.Atoi(eval(`String(document.documentElement.scrollWidth)`))
			require.NoError(t, err)
			assert.LessOrEqual(t, width, narrowWidth, "the page scrolls sideways: something is wider than the screen (see narrow-%s.png)", p.name)
			top := eval(`(() => { const s = getComputedStyle(document.querySelector("header.top .top-inner")); return s.paddingLeft + " " + s.paddingRight })()`)
			left, right, _ := strings.Cut(top, " ")
			assert.GreaterOrEqual(t, px(left), 12.0, "the top bar's left padding")
			assert.GreaterOrEqual(t, px(right), 12.0, "the top bar's right padding")
			brand := eval(`String(document.querySelector(".brand").getBoundingClientRect().left)`)
			assert.GreaterOrEqual(t, px(brand), 12.0, "the brand is not flush with the screen's edge")
		})
	}

	t.Run("DomainsScrollInsideTheirBox", func(t *testing.T) {
		run("open the tenant", chromedp.Navigate(base+"/admin/tenants/school1/"), chromedp.WaitVisible(chromedp.CSS("#domains")))
		assert.Equal(t, "auto", eval(`getComputedStyle(document.querySelector("#domains table.list").parentElement).overflowX`),
			"the domains table sits in a box that scrolls sideways")
		fits := eval(`(() => { const card = document.querySelector("#domains").getBoundingClientRect();
			const wrap = document.querySelector("#domains table.list").parentElement.getBoundingClientRect();
			return String(wrap.right <= card.right + 0.5 && wrap.left >= card.left - 0.5) })()`)
		assert.Equal(t, "true", fits, "the scrolling box stays inside the card")
	})
}
