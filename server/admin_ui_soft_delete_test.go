package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
)

// TestAdminUISoftDelete: the delete page offers the deletion that can be
// undone first; a deleted tenant's page says when it was deleted and when it
// is purged, with a Restore button; a permanent deletion still works.
func TestAdminUISoftDelete(t *testing.T) {
	e := newEnvWith(t, func(c *config.Config) { c.TenantRetention = 240 * time.Hour })
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
	tok := e.demo(school1)
	time.Sleep(1100 * time.Millisecond) // tokens carry whole seconds (see TestTenantSoftDeleteAPI)

	p := b.get("/admin/tenants/school1/delete/")
	require.Equal(t, http.StatusOK, p.status)
	soft, hard := strings.Index(p.body, `id="soft-delete-button"`), strings.Index(p.body, "Delete tenant and all its data")
	require.Positive(t, soft, p.body)
	assert.Less(t, soft, hard, "the deletion that can be undone comes first")
	assert.Contains(t, p.body, "can be undone for 10 days")
	assert.Contains(t, p.body, `class="primary" id="soft-delete-button" autofocus`)

	p = b.post("/admin/tenants/school1/delete/", form("mode", "soft"))
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	assert.Equal(t, "/admin/tenants/school1/", p.location())
	assert.Equal(t, 3, e.tenantLeftovers("school1")+e.count("SELECT count(*) FROM domains WHERE domain = 'school1.localhost'"))
	e.waitStatus(t, school1, "/api/profile/", tok, http.StatusNotFound)

	var deletedAt time.Time
	require.NoError(t, e.db.Pool.QueryRow(t.Context(), "SELECT deleted_at FROM clients WHERE schema_name = 'school1'").Scan(&deletedAt))
	p = b.get("/admin/tenants/school1/")
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.body, "Deleted tenant school1 (School 1)")
	assert.Contains(t, p.body, "Deleted on "+deletedAt.UTC().Format("2006-01-02 15:04 UTC")+
		" — purged after "+deletedAt.Add(240*time.Hour).UTC().Format("2006-01-02 15:04 UTC"))
	assert.Contains(t, p.body, `action="/admin/tenants/school1/restore/"`)
	assert.Contains(t, b.get("/admin/tenants/").body, "deleted</span>")

	// Deleting softly again is refused; the page says so.
	p = b.post("/admin/tenants/school1/delete/", form("mode", "soft"))
	assert.Equal(t, http.StatusBadRequest, p.status)
	assert.Contains(t, p.body, "already deleted")

	p = b.post("/admin/tenants/school1/restore/", form())
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	assert.Equal(t, "/admin/tenants/school1/", p.location())
	p = b.get("/admin/tenants/school1/")
	assert.Contains(t, p.body, "Restored tenant school1 (School 1)")
	assert.NotContains(t, p.body, "Deleted on")
	assert.Zero(t, e.count("SELECT count(*) FROM clients WHERE deleted_at IS NOT NULL"))
	e.waitStatus(t, school1, "/api/profile/", tok, http.StatusUnauthorized)
	a2, _ := e.login(school1, "demo", demoPassword(school1))
	assert.Equal(t, http.StatusOK, e.do(req{method: "GET", host: school1, path: "/api/profile/", bearer: a2}).status)

	// Restoring a live tenant changes nothing.
	p = b.post("/admin/tenants/school1/restore/", form())
	require.Equal(t, http.StatusSeeOther, p.status)
	assert.Contains(t, b.get("/admin/tenants/school1/").body, "nothing to restore")

	// A soft-deleted tenant can be deleted permanently from the page.
	require.Equal(t, http.StatusSeeOther, b.post("/admin/tenants/school1/delete/", form("mode", "soft")).status)
	p = b.get("/admin/tenants/school1/delete/")
	assert.Contains(t, p.body, "Already deleted")
	p = b.post("/admin/tenants/school1/delete/", form("confirm", "school1"))
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	assert.Zero(t, e.tenantLeftovers("school1"))
}
