package jobs_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/jobs"
)

// TestJobsPruneAudit: the daily maintenance prunes every tenant's audit log
// of the entries older than the retention, in batches (acme's 20,001 old
// entries take three), and keeps the newer ones; with no retention, the
// job keeps everything.
func TestJobsPruneAudit(t *testing.T) {
	e := newEnv(t, "acme", "beta")
	add := func(s string, n int, age string) {
		e.exec(s, `INSERT INTO audit_log (created_at, actor_type, action)
			SELECT now() - interval '`+age+`', 'system', 'test.entry' FROM generate_series(1, `+strconv.Itoa(n)+`)`)
	}
	// From empty logs: creating the tenants recorded their owners' creation.
	e.exec("acme", "DELETE FROM audit_log")
	e.exec("beta", "DELETE FROM audit_log")
	add("acme", 20001, "400 days")
	add("acme", 3, "364 days")
	add("acme", 2, "1 hour")
	add("beta", 5, "366 days")
	add("beta", 1, "1 day")

	t.Run("OK", func(t *testing.T) {
		q := e.worker(365 * 24 * time.Hour)
		require.Eventually(t, func() bool {
			done := 0
			for _, j := range e.list(q, jobs.PruneAuditArgs{}.Kind()) {
				if j.State == rivertype.JobStateCompleted {
					done++
				}
			}
			return done == 2
		}, 30*time.Second, 100*time.Millisecond, "the maintenance never pruned both tenants")
		require.NoError(t, q.Stop(5*time.Second))
		assert.Equal(t, 5, e.count("acme", "audit_log"), "acme: the entries within the retention stay")
		assert.Equal(t, 1, e.count("beta", "audit_log"), "beta: the day-old entry stays")
	})

	t.Run("OKDisabled", func(t *testing.T) {
		add("beta", 5, "10 years")
		q := e.worker(0)
		res, err := q.Insert(t.Context(), jobs.PruneAuditArgs{TenantArgs: jobs.TenantArgs{Schema: "beta"}}, nil)
		require.NoError(t, err)
		e.wait(q, res.Job.ID, rivertype.JobStateCompleted)
		assert.Equal(t, 6, e.count("beta", "audit_log"), "no retention: nothing pruned")
	})
}

// worker starts a queue with one worker and the audit retention; it runs
// until the test ends, unless stopped before.
func (e *env) worker(retention time.Duration) *jobs.Queue {
	q, err := jobs.Open(e.d.Pool, jobs.Options{Workers: 1, FetchPollInterval: 50 * time.Millisecond, AuditRetention: retention})
	require.NoError(e.t, err)
	require.NoError(e.t, q.Start(e.t.Context()))
	e.t.Cleanup(func() { _ = q.Stop(5 * time.Second) })
	return q
}
