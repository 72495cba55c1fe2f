package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/telemetry"
)

type failArgs struct{ jobs.TenantArgs }

func (failArgs) Kind() string { return "test.fail" }

func registerFail(ws *river.Workers, pool *db.Pool) {
	jobs.AddTenantWorker(ws, pool, func(context.Context, *river.Job[failArgs], *tenantdb.Queries) error {
		return errors.New("smtp: connection refused")
	})
}

// enqueue inserts args the way product code outside a transaction would.
func enqueue(t *testing.T, d *dbtest.DB, args river.JobArgs) (*jobs.Queue, int64) {
	q, err := jobs.Open(d.Pool, jobs.Options{Register: []func(*river.Workers, *db.Pool){registerFail}})
	require.NoError(t, err)
	res, err := q.Insert(t.Context(), args, nil)
	require.NoError(t, err)
	return q, res.Job.ID
}

func jobState(t *testing.T, q *jobs.Queue, id int64) rivertype.JobState {
	j, err := q.JobGet(context.Background(), id)
	require.NoError(t, err)
	return j.State
}

func TestJobsServeRunsWorkers(t *testing.T) {
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com")
	q, id := enqueue(t, d, jobs.PurgeExpiredArgs{TenantArgs: jobs.TenantArgs{Schema: "acme"}})

	t.Run("OffWithWorkers0", func(t *testing.T) {
		a.env["WORKERS"] = "0"
		defer delete(a.env, "WORKERS")
		fake := func(context.Context, config.Config, *slog.Logger, *db.Pool, *telemetry.Telemetry) error {
			time.Sleep(time.Second)
			return nil
		}
		r := a.runWith(runOpts{serve: fake}, "serve")
		require.NoError(t, r.err)
		assert.Contains(t, r.stderr, "job workers off (WORKERS=0)")
		assert.Equal(t, rivertype.JobStateAvailable, jobState(t, q, id), "no job ran")
	})
	t.Run("OK", func(t *testing.T) {
		fake := func(context.Context, config.Config, *slog.Logger, *db.Pool, *telemetry.Telemetry) error {
			assert.Eventually(t, func() bool { return jobState(t, q, id) == rivertype.JobStateCompleted }, 15*time.Second, 50*time.Millisecond)
			return nil
		}
		r := a.runWith(runOpts{serve: fake}, "serve")
		require.NoError(t, r.err)
		assert.Contains(t, r.stderr, "job workers started")
		assert.Contains(t, r.stderr, "job workers stopped")
	})
}

func TestJobsListAndRetry(t *testing.T) {
	d := dbtest.New(t)
	a := newApp(t, d)
	a.jobWorkers = []func(*river.Workers, *db.Pool){registerFail}
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com")

	assert.Equal(t, "no retryable or discarded jobs\n", a.ok("jobs", "list").stdout)
	q, id := enqueue(t, d, failArgs{jobs.TenantArgs{Schema: "acme"}})
	fake := func(context.Context, config.Config, *slog.Logger, *db.Pool, *telemetry.Telemetry) error {
		assert.Eventually(t, func() bool { return jobState(t, q, id) == rivertype.JobStateRetryable }, 15*time.Second, 50*time.Millisecond)
		return nil
	}
	require.NoError(t, a.runWith(runOpts{serve: fake}, "serve").err)

	out := a.ok("jobs", "list").stdout
	assert.Regexp(t, fmt.Sprintf(`\n%d +test.fail +retryable +[0-9]+/25 `, id), out)
	assert.Contains(t, out, "smtp: connection refused")

	var listed []map[string]any
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "list", "--json").stdout), &listed))
	require.Len(t, listed, 1)
	assert.Equal(t, "retryable", listed[0]["state"])
	assert.Equal(t, "smtp: connection refused", listed[0]["last_error"])
	assert.Equal(t, map[string]any{"schema": "acme"}, listed[0]["args"])

	// The only completed jobs are serve's daily maintenance, if it ran yet.
	completed := a.ok("jobs", "list", "--state", "completed").stdout
	assert.NotContains(t, completed, "test.fail")

	assert.Equal(t, fmt.Sprintf("retrying job %d (test.fail, was retryable)\n", id), a.ok("jobs", "retry", "--id", fmt.Sprint(id)).stdout)
	assert.Equal(t, rivertype.JobStateAvailable, jobState(t, q, id))
	assert.Equal(t, "no retryable or discarded jobs\n", a.ok("jobs", "list").stdout)

	// A discarded job (out of attempts) is retried too.
	_, err := q.JobCancel(t.Context(), id)
	require.NoError(t, err)
	_, id2 := enqueue(t, d, failArgs{jobs.TenantArgs{Schema: "acme"}})
	_, err = d.Pool.Exec(t.Context(), "UPDATE river.river_job SET state = 'discarded', finalized_at = now() WHERE id = $1", id2)
	require.NoError(t, err)
	assert.Equal(t, "retrying 1 job\n", a.ok("jobs", "retry", "--all-failed").stdout)
	assert.Equal(t, rivertype.JobStateAvailable, jobState(t, q, id2))

	wantErr(t, a.run("jobs", "retry"), 2, "give --id or --all-failed")
	wantErr(t, a.run("jobs", "retry", "--id", "1", "--all-failed"), 2, "give --id or --all-failed")
	wantErr(t, a.run("jobs", "retry", "--id", "999999"), 1, "job 999999 not found")
	wantErr(t, a.run("jobs", "list", "--state", "bogus"), 2, `--state: "bogus" is not one of`)
}
