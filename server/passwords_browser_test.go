package server_test

import (
	"net/url"
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
	b := newChromeTab(t, chrome, 1024, 800, 2*time.Minute, "reset-failed")
	run, text := b.run, b.text

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
