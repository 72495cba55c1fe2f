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

// TestInvitationInBrowser: the invited person opens the link of the email
// the mailbox received in headless Chromium, chooses a username and a
// password on the page (once with a mistake), sees the success page, and
// then signs in through the API with them.
func TestInvitationInBrowser(t *testing.T) {
	chrome := chromium(t)
	e, box := newMailEnv(t, nil)
	r := e.invite(school1, e.demo(school1), "browser@example.com", "member")
	require.Equal(t, 201, r.status, "%s", r.body)
	link := box.wait("browser@example.com", 1).link(t)
	require.True(t, strings.HasPrefix(link, "http://school1.localhost:8000/accounts/invite/"), link)
	// The link names the host the invitation was made on (port 8000 in the
	// tests' requests); the test server listens elsewhere. Chromium resolves
	// *.localhost to the loopback address itself.
	u, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	link = strings.Replace(link, "school1.localhost:8000", "school1.localhost:"+u.Port(), 1)
	b := newChromeTab(t, chrome, 1024, 800, 2*time.Minute, "invite-failed")
	run, text := b.run, b.text

	run("open the invitation link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		screenshot("invite-01-form"),
	)
	assert.Contains(t, text("main"), "demo invited you (browser@example.com) to join School 1 as a member.")

	run("mistype the second password",
		chromedp.SendKeys(chromedp.CSS("#username"), "browsed"),
		chromedp.SendKeys(chromedp.CSS("#password"), invitedPassword),
		chromedp.SendKeys(chromedp.CSS("#password2"), invitedPassword+"!"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#password2-error")),
		screenshot("invite-02-mismatch"),
	)
	assert.Contains(t, text("#password2-error"), "didn’t match")
	assert.Zero(t, e.count("SELECT count(*) FROM school1.users WHERE username = 'browsed'"))

	run("set the password",
		chromedp.SendKeys(chromedp.CSS("#password"), invitedPassword),
		chromedp.SendKeys(chromedp.CSS("#password2"), invitedPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
		screenshot("invite-03-done"),
	)
	assert.Contains(t, text(".flash-ok"), "Your account browsed is ready.")

	access, _ := e.login(school1, "browsed", invitedPassword)
	r = e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: access})
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, "member", r.json(t)["role"])
	assert.Equal(t, true, r.json(t)["email_verified"])
	assert.Equal(t, "browser@example.com", r.json(t)["email"])

	run("open the link again",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(".error-page")),
		screenshot("invite-04-used"),
	)
	assert.Contains(t, text(".error-page"), "This invitation link does not work")
}
