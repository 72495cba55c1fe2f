package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminUIManage edits a tenant's settings, edits and deletes a user,
// and removes domains through the admin UI, with the confirmation pages in
// front of what cannot be undone.
func TestAdminUIManage(t *testing.T) {
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
	tenantState := func() string {
		var s string
		require.NoError(t, e.db.Pool.QueryRow(t.Context(),
			"SELECT format('%s/%s/%s', name, on_trial, paid_until) FROM clients WHERE schema_name = 'school1'").Scan(&s))
		return s
	}

	t.Run("TenantSettings", func(t *testing.T) {
		p := b.get("/admin/tenants/school1/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, `action="/admin/tenants/school1/settings/"`)
		assert.Contains(t, p.body, `id="settings-name" name="name" type="text" value="School 1"`, "filled with the current values")
		assert.Contains(t, p.body, `id="settings-on_trial" value="on" checked`)

		p = b.post("/admin/tenants/school1/settings/", form("name", " ", "paid_until", "2031-05-01"))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, `id="settings-name-error">This field is required.`)
		p = b.post("/admin/tenants/school1/settings/", form("name", "X", "paid_until", "soon"))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, `id="settings-paid_until-error">Enter a date as YYYY-MM-DD.`)
		assert.Contains(t, p.body, `value="soon"`, "the values are kept")
		p = b.post("/admin/tenants/school1/settings/", form("name", "School\x001"))
		require.Equal(t, http.StatusBadRequest, p.status, "a NUL is refused, not a server error")
		assert.Contains(t, p.body, `id="settings-name-error">Null characters are not allowed.`)
		p = b.post("/admin/tenants/school1/settings/", form("name", strings.Repeat("n", 101)))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, `id="settings-name-error">Ensure this field has no more than 100 characters.`)
		assert.Equal(t, "School 1/t/", tenantState(), "nothing changed")

		p = b.post("/admin/tenants/school1/settings/", form("name", "School <One>", "paid_until", "2031-05-01"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, "/admin/tenants/school1/", p.location())
		assert.Equal(t, "School <One>/f/2031-05-01", tenantState(), "an unchecked box is off")
		p = b.get("/admin/tenants/school1/")
		assert.Contains(t, p.body, "Saved the settings of School &lt;One&gt;.")
		assert.Contains(t, p.body, `value="2031-05-01"`)

		p = b.post("/admin/tenants/school1/settings/", form("name", "School 1", "on_trial", "on", "paid_until", ""))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, "School 1/t/", tenantState(), "an empty date clears it")
		assert.Equal(t, http.StatusNotFound, b.post("/admin/tenants/nobody/settings/", form("name", "X")).status)
	})

	demoID := strconv.Itoa(e.count("SELECT id FROM school1.users WHERE username = 'demo'"))
	userPath := "/admin/tenants/school1/users/" + demoID + "/"
	t.Run("EditUser", func(t *testing.T) {
		p := b.get("/admin/tenants/school1/")
		assert.Contains(t, p.body, `href="`+userPath+`"`, "the user list links to the user")
		p = b.get(userPath)
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, `value="demo@school1.com"`)
		assert.Contains(t, p.body, `<option value="owner" selected>owner</option>`, "the form shows the user's role")
		p = b.post(userPath, form("email", "a\x00@school1.com"))
		require.Equal(t, http.StatusBadRequest, p.status, "a NUL is refused, not a server error")
		p = b.post(userPath, form("email", "nope"))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, `id="email-error">Enter a valid email address.`)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE email = 'demo@school1.com' AND NOT is_staff"))
		p = b.post(userPath, form("email", "teacher@school1.com", "role", "boss"))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, `id="role-error">&#34;boss&#34; is not a valid choice.`)
		p = b.post(userPath, form("email", "teacher@school1.com", "role", "admin"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE email = 'teacher@school1.com' AND is_staff AND role = 'admin' AND is_active"))
		assert.Contains(t, b.get("/admin/tenants/school1/").body, "Saved demo.")
		p = b.post(userPath, form("email", "", "role", "member"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE email = '' AND NOT is_staff AND role = 'member'"))
		assert.Equal(t, http.StatusNotFound, b.get("/admin/tenants/school1/users/9999/").status)
	})
	t.Run("DeactivateAsksFirst", func(t *testing.T) {
		p := b.get("/admin/tenants/school1/")
		assert.Contains(t, p.body, `href="`+userPath+`active/">Deactivate…</a>`)
		assert.NotContains(t, p.body, `name="active" value="false"`, "no one-click deactivation")
		p = b.get(userPath + "active/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, "will no longer be able to sign in")
		assert.Contains(t, p.body, `name="active" value="false"`)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE is_active"), "showing the page changes nothing")
		p = b.post(userPath+"active/", form("active", "false"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Zero(t, e.count("SELECT count(*) FROM school1.users WHERE is_active"))
		p = b.get("/admin/tenants/school1/")
		assert.Contains(t, p.body, `name="active" value="true"`, "activating is one click")
	})
	t.Run("DeleteUser", func(t *testing.T) {
		e.exec("UPDATE school1.users SET is_active = true")
		_, refresh := e.login(school1, "demo", "demo123")
		e.exec("INSERT INTO school1.items (name, created_by) VALUES ('kept', $1)", demoID)
		p := b.get("/admin/tenants/school1/")
		assert.Contains(t, p.body, `href="`+userPath+`">Edit</a>`)
		p = b.get(userPath)
		assert.Contains(t, p.body, `href="`+userPath+`delete/"`, "the user's page has the delete button")
		p = b.get(userPath + "delete/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, "This cannot be undone.")
		assert.Contains(t, p.body, "The items they wrote are kept")
		assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users"), "showing the page changes nothing")
		p = b.post(userPath+"delete/", form())
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, "/admin/tenants/school1/", p.location())
		assert.Contains(t, b.get("/admin/tenants/school1/").body, "Deleted user demo")
		assert.Zero(t, e.count("SELECT count(*) FROM school1.users"))
		assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.items WHERE name = 'kept' AND created_by IS NULL"))
		r := e.do(req{method: "POST", host: school1, path: "/api/token/refresh/", body: map[string]string{"refresh": refresh}})
		assert.Equal(t, 401, r.status)
		assert.Equal(t, http.StatusNotFound, b.post(userPath+"delete/", form()).status)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM school2.users"), "the other tenant's user of the same id stays")
	})
	t.Run("RemoveDomainAsksFirst", func(t *testing.T) {
		require.Equal(t, http.StatusSeeOther, b.post("/admin/tenants/school1/domains/", form("domain", "www.school1.localhost")).status)
		p := b.get("/admin/tenants/school1/")
		assert.Contains(t, p.body, `href="/admin/tenants/school1/domains/www.school1.localhost/remove/">Remove…</a>`)
		p = b.get("/admin/tenants/school1/domains/www.school1.localhost/remove/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, "will no longer reach School 1")
		assert.Contains(t, p.body, `<form method="post" action="/admin/tenants/school1/domains/www.school1.localhost/remove/"`)
		assert.Equal(t, 2, e.count("SELECT count(*) FROM domains d JOIN clients c ON c.id = d.client_id WHERE c.schema_name = 'school1'"))
		p = b.post("/admin/tenants/school1/domains/www.school1.localhost/remove/", form())
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Zero(t, e.count("SELECT count(*) FROM domains WHERE domain = 'www.school1.localhost'"))
		assert.Equal(t, http.StatusNotFound, b.get("/admin/tenants/school1/domains/www.school1.localhost/remove/").status)
		assert.Equal(t, http.StatusNotFound, b.get("/admin/tenants/school1/domains/school2.localhost/remove/").status, "another tenant's")
	})
	t.Run("LastDomainStays", func(t *testing.T) {
		p := b.get("/admin/tenants/school1/domains/school1.localhost/remove/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, `id="last-domain"`)
		assert.Contains(t, p.body, "cannot be removed")
		assert.NotContains(t, p.body, `action="/admin/tenants/school1/domains/school1.localhost/remove/"`, "no button to press")
		p = b.post("/admin/tenants/school1/domains/school1.localhost/remove/", form())
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, "A tenant keeps at least one domain")
		assert.Equal(t, 1, e.count("SELECT count(*) FROM domains WHERE domain = 'school1.localhost' AND is_primary"))
	})
}

// TestAdminUISuperusers lists superusers, sets passwords and deletes one
// through the admin UI.
func TestAdminUISuperusers(t *testing.T) {
	e := newEnv(t)
	rootID := strconv.FormatInt(e.superuser(suName, suPassword), 10)
	otherID := strconv.FormatInt(e.superuser("other", suPassword), 10)
	b := newBrowser(t, e.srv.URL)
	csrf := b.signIn(suName, suPassword)
	other := newBrowser(t, e.srv.URL)
	other.signIn("other", suPassword)
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf_token": {csrf}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	p := b.get("/admin/superusers/")
	require.Equal(t, 200, p.status)
	assert.Contains(t, p.body, `href="/admin/superusers/"`, "in the navigation")
	assert.Contains(t, p.body, `href="/admin/superusers/`+otherID+`/delete/"`)
	assert.NotContains(t, p.body, `href="/admin/superusers/`+rootID+`/delete/"`, "no delete button for yourself")
	assert.Contains(t, p.body, `href="/admin/superusers/`+rootID+`/password/"`)

	t.Run("SetOthersPassword", func(t *testing.T) {
		p := b.get("/admin/superusers/" + otherID + "/password/")
		require.Equal(t, 200, p.status)
		p = b.post("/admin/superusers/"+otherID+"/password/", form("password", "short"))
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, `id="password-error"`)
		assert.Equal(t, 200, other.get("/admin/tenants/").status, "still signed in")
		p = b.post("/admin/superusers/"+otherID+"/password/", form("password", "other-new-pass"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Contains(t, b.get("/admin/superusers/").body, "Set a new password for other")
		assert.Equal(t, http.StatusSeeOther, other.get("/admin/tenants/").status, "their sessions ended")
		other.signIn("other", "other-new-pass")
	})
	t.Run("SetOwnPassword", func(t *testing.T) {
		p := b.post("/admin/superusers/"+rootID+"/password/", form("password", "root-new-pass"))
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		p = b.get("/admin/superusers/")
		require.Equal(t, 200, p.status, "this browser stays signed in")
		assert.Contains(t, p.body, "Set your new password")
		assert.Equal(t, 1, e.count("SELECT count(*) FROM admin_sessions WHERE superuser_id = $1", rootID))
		csrf = csrfPattern.FindStringSubmatch(p.body)[1]
	})
	t.Run("DeleteSelfRefused", func(t *testing.T) {
		p := b.get("/admin/superusers/" + rootID + "/delete/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, "You cannot delete your own account")
		p = b.post("/admin/superusers/"+rootID+"/delete/", form())
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM superusers WHERE id = $1", rootID))
	})
	t.Run("Delete", func(t *testing.T) {
		p := b.get("/admin/superusers/" + otherID + "/delete/")
		require.Equal(t, 200, p.status)
		assert.Contains(t, p.body, "This cannot be undone.")
		p = b.post("/admin/superusers/"+otherID+"/delete/", form())
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Contains(t, b.get("/admin/superusers/").body, "Deleted superuser other")
		assert.Zero(t, e.count("SELECT count(*) FROM superusers WHERE id = $1", otherID))
		assert.Zero(t, e.count("SELECT count(*) FROM admin_sessions WHERE superuser_id = $1", otherID))
		assert.Equal(t, http.StatusSeeOther, other.get("/admin/tenants/").status, "signed out")
		assert.Equal(t, http.StatusNotFound, b.get("/admin/superusers/"+otherID+"/delete/").status)
	})
}
