package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/jobs"
)

func TestAdminUIJobs(t *testing.T) {
	e := newEnv(t)
	e.superuser(suName, suPassword)
	q, err := jobs.Open(e.db.Pool, jobs.Options{})
	require.NoError(t, err)
	res, err := q.Insert(t.Context(), jobs.PurgeExpiredArgs{TenantArgs: jobs.TenantArgs{Schema: "acme"}}, nil)
	require.NoError(t, err)
	id := strconv.FormatInt(res.Job.ID, 10)
	_, err = e.db.Pool.Exec(t.Context(), `UPDATE river.river_job SET state = 'discarded', attempt = 25, finalized_at = now(),
		errors = ARRAY['{"at": "2026-12-06T10:00:00Z", "attempt": 25, "error": "smtp: <connection> refused"}'::jsonb] WHERE id = $1`, res.Job.ID)
	require.NoError(t, err)

	b := newBrowser(t, e.srv.URL)
	assert.Equal(t, http.StatusSeeOther, b.get("/admin/jobs/").status, "superusers only")
	csrf := b.signIn(suName, suPassword)
	p := b.get("/admin/jobs/")
	require.Equal(t, 200, p.status)
	assert.Contains(t, p.body, `href="/admin/jobs/"`, "in the navigation")
	assert.Contains(t, p.body, "tenant.purge_expired")
	assert.Contains(t, p.body, "smtp: &lt;connection&gt; refused")
	assert.Contains(t, p.body, `action="/admin/jobs/`+id+`/retry/"`)

	assert.Equal(t, http.StatusForbidden, b.post("/admin/jobs/"+id+"/retry/", url.Values{"csrf_token": {"wrong"}}).status)
	p = b.post("/admin/jobs/"+id+"/retry/", url.Values{"csrf_token": {csrf}})
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	p = b.get("/admin/jobs/")
	assert.Contains(t, p.body, "Job "+id+" (tenant.purge_expired) will run again now.")
	assert.Contains(t, p.body, "No failed jobs.")
	assert.Equal(t, http.StatusNotFound, b.post("/admin/jobs/999999/retry/", url.Values{"csrf_token": {csrf}}).status)
}
