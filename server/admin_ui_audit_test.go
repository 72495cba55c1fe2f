package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminUIAudit: the tenant page lists the tenant's recent actions
// (newest first, with who, what, on what and the changed fields), and the
// audit page shows the whole log, filtered, with a link to older entries;
// another tenant's entries never show.
func TestAdminUIAudit(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	tok := e.demo(school1)
	end := time.Now().Add(-time.Hour)
	e.addAudits("school1", "test.bulk", 60, end)
	e.addAudits("school2", "test.other", 3, end)
	r := e.do(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "Chalk"}, bearer: tok})
	require.Equal(t, 201, r.status)
	id := fmt.Sprint(int64(r.json(t)["id"].(float64)))
	r = e.do(req{method: "PATCH", host: school1, path: "/api/items/" + id + "/", body: map[string]string{"name": "Chalk box"}, bearer: tok})
	require.Equal(t, 200, r.status)
	b := newBrowser(t, e.srv.URL)
	b.signIn(suName, suPassword)

	t.Run("RecentActions", func(t *testing.T) {
		p := b.get("/admin/tenants/school1/")
		require.Equal(t, 200, p.status)
		require.Contains(t, p.body, `id="recent-actions"`)
		section := p.body[strings.Index(p.body, `id="recent-actions"`):]
		assert.Contains(t, section, "<code>item.updated</code>")
		assert.Contains(t, section, "name: Chalk -&gt; Chalk box", "the changed field, before and after")
		assert.Contains(t, section, "item <code>"+id+"</code>")
		assert.Contains(t, section, "demo")
		assert.Less(t, strings.Index(section, "item.updated"), strings.Index(section, "item.created"), "newest first")
		assert.Equal(t, 20, strings.Count(section, "<tr>")-1, "the latest 20 (and the header)")
		assert.Contains(t, section, `href="/admin/tenants/school1/audit/"`)
		assert.NotContains(t, p.body, "test.other")
	})

	t.Run("AuditPage", func(t *testing.T) {
		p := b.get("/admin/tenants/school1/audit/")
		require.Equal(t, 200, p.status)
		assert.Equal(t, 50, strings.Count(p.body, "<tr>")-1, "50 a page")
		assert.NotContains(t, p.body, "test.other")
		require.Contains(t, p.body, `id="audit-older"`)
		older := p.body[strings.Index(p.body, `id="audit-older"`)-200:]
		older = older[strings.Index(older, `href="`)+6:]
		older = strings.ReplaceAll(older[:strings.Index(older, `"`)], "&amp;", "&")
		p = b.get("/admin/tenants/school1/audit/" + older)
		require.Equal(t, 200, p.status)
		assert.Equal(t, len(e.auditIDs("school1"))-50, strings.Count(p.body, "<tr>")-1, "the rest")
		assert.NotContains(t, p.body, `id="audit-older"`)

		p = b.get("/admin/tenants/school1/audit/?action=item.*")
		require.Equal(t, 200, p.status)
		assert.Equal(t, 2, strings.Count(p.body, "<tr>")-1)
		assert.Contains(t, p.body, `value="item.*"`, "the filter stays in the form")
		p = b.get("/admin/tenants/school1/audit/?target_type=thing&target_id=7")
		assert.Equal(t, 1, strings.Count(p.body, "<tr>")-1)

		p = b.get("/admin/tenants/school1/audit/?since=soon")
		assert.Equal(t, 400, p.status)
		assert.Contains(t, p.body, "Enter a valid date/time.")
		assert.Equal(t, 404, b.get("/admin/tenants/nosuch/audit/").status)
		p = b.get("/admin/tenants/school2/audit/")
		assert.Equal(t, 3, strings.Count(p.body, "test.other"))
	})
}
