package server_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPasswordResetInBrowser opens the reset link of a captured email in
// Chromium, sets a new password on the page, then signs in through the API
// with it.
func TestPasswordResetInBrowser(t *testing.T) {
	chrome := chromium(t)
	e, box := newMailEnv(t, nil)
	e.addTeacher()
	u, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	// The reset is requested on the tenant's host with the test server's
	// port, so that the email's link (same host and port) opens the server.
	// Chromium resolves *.localhost to the loopback address itself.
	host := "school1.localhost:" + u.Port()
	r := e.do(post(host, "/api/password/reset/", map[string]string{"email": teacherEmail}, ""))
	require.Equal(t, 202, r.status, "%s", r.body)
	link := box.wait(teacherEmail, 1).link(t)
	require.True(t, strings.HasPrefix(link, "http://"+host+"/accounts/reset/"), link)
	require.NoError(t, os.MkdirAll(screenshotDir, 0o755))

	ctx := startBrowser(t, chrome, 1024, 800, 2*time.Minute)
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			_ = chromedp.Do(ctx, screenshot("reset-failed"))
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("browser step %q: %v; the page:\n%s", step, err, html)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, "read %s", sel)
		return s
	}

	run("open the link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#new_password1")),
		screenshot("reset-01-form"),
	)
	assert.Contains(t, text("main"), "teacher")

	run("a password the rules refuse",
		chromedp.SendKeys(chromedp.CSS("#new_password1"), "teacher1"),
		chromedp.SendKeys(chromedp.CSS("#new_password2"), "teacher1"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#new_password1-error")),
		screenshot("reset-02-refused"),
	)
	assert.Contains(t, text("#new_password1-error"), "The password is too similar to the username.")

	run("set the new password",
		chromedp.SendKeys(chromedp.CSS("#new_password1"), newPassword),
		chromedp.SendKeys(chromedp.CSS("#new_password2"), newPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
		screenshot("reset-03-done"),
	)
	assert.Contains(t, text(".flash-ok"), "was changed")

	// The new password signs in through the API; the old one no longer does.
	e.login(school1, "teacher", newPassword)
	r = e.do(post(school1, "/api/token/", map[string]string{"username": "teacher", "password": userPassword}, ""))
	assert.Equal(t, 401, r.status)

	run("the link is used up",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(".flash-error")),
	)
	assert.Contains(t, text(".flash-error"), "invalid or has expired")
}
