package jobs_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/telemetry"
)

// seriesValue reads one series of the registry: name with label=value (a
// histogram's sample count), 0 when absent.
func seriesValue(t *testing.T, m *telemetry.Metrics, name, label, value string, more ...string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	require.NoError(t, err)
	want := map[string]string{label: value}
	for i := 0; i+1 < len(more); i += 2 {
		want[more[i]] = more[i+1]
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.Metric {
			for _, l := range s.Label {
				if w, ok := want[l.GetName()]; ok && w != l.GetValue() {
					continue series
				}
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue()
			case s.Gauge != nil:
				return s.Gauge.GetValue()
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

type okArgs struct{ jobs.TenantArgs }

func (okArgs) Kind() string { return "test.ok" }

func registerOK(ws *river.Workers, pool *db.Pool) {
	jobs.AddTenantWorker(ws, pool, func(context.Context, *river.Job[okArgs], *tenantdb.Queries) error { return nil })
}

// retryInAnHour keeps a failed job retryable for the rest of the test.
type retryInAnHour struct{}

func (retryInAnHour) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Hour) }

// TestJobsTelemetry: a job's metadata carries the request id and tenant
// of where it was enqueued; the queue's depth is read at each scrape, and
// each attempt is counted by kind and outcome, failures apart.
func TestJobsTelemetry(t *testing.T) {
	e := newEnv(t, "acme")
	m := telemetry.NewMetrics(5)
	m.WatchJobQueue(e.d.Pool, slog.New(slog.DiscardHandler))
	ins := e.queue(0, registerFail, registerOK)
	ctx := telemetry.WithScope(t.Context(), &telemetry.Scope{RequestID: "req-7"})
	failing, err := ins.Insert(ctx, failArgs{jobs.TenantArgs{Schema: "acme"}}, nil)
	require.NoError(t, err)
	working, err := ins.Insert(ctx, okArgs{jobs.TenantArgs{Schema: "acme"}}, nil)
	require.NoError(t, err)

	var md map[string]any
	require.NoError(t, json.Unmarshal(failing.Job.Metadata, &md))
	assert.Equal(t, "req-7", md["request_id"])
	assert.Equal(t, "acme", md["tenant"])
	assert.Equal(t, 2.0, seriesValue(t, m, "tenantctl_jobs", "state", "available"))

	q, err := jobs.Open(e.d.Pool, jobs.Options{
		Workers: 1, Register: []func(*river.Workers, *db.Pool){registerFail, registerOK}, FetchPollInterval: 50 * time.Millisecond,
		Telemetry: &telemetry.Telemetry{Metrics: m}, RetryPolicy: retryInAnHour{},
	})
	require.NoError(t, err)
	require.NoError(t, q.Start(context.Background()))
	t.Cleanup(func() { _ = q.Stop(5 * time.Second) })
	e.wait(q, failing.Job.ID, rivertype.JobStateRetryable)
	e.wait(q, working.Job.ID, rivertype.JobStateCompleted)

	const okKind = "test.ok"
	assert.Equal(t, 1.0, seriesValue(t, m, "tenantctl_job_failures_total", "kind", "test.fail"))
	assert.Equal(t, 0.0, seriesValue(t, m, "tenantctl_job_failures_total", "kind", okKind))
	assert.Equal(t, 1.0, seriesValue(t, m, "tenantctl_job_duration_seconds", "kind", "test.fail", "outcome", "failed"))
	assert.Equal(t, 1.0, seriesValue(t, m, "tenantctl_job_duration_seconds", "kind", okKind, "outcome", "completed"))
	assert.Equal(t, 1.0, seriesValue(t, m, "tenantctl_job_wait_seconds", "kind", okKind))
	assert.Equal(t, 0.0, seriesValue(t, m, "tenantctl_jobs", "state", "available"))
	assert.Equal(t, 1.0, seriesValue(t, m, "tenantctl_jobs", "state", "retryable"))
	assert.Equal(t, 1.0, seriesValue(t, m, "tenantctl_db_pool_max_connections", "pool", "jobs")/
		float64(e.d.Pool.Config().MaxConns), "the workers' pool")
}
