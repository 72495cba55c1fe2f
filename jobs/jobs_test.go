package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
)

type env struct {
	t    *testing.T
	d    *dbtest.DB
	prov *provision.Service
}

func newEnv(t *testing.T, tenants ...string) *env {
	d := dbtest.New(t)
	e := &env{t: t, d: d, prov: provision.New(d.Pool, d.Migrator, password.NewHasher(1))}
	for _, s := range tenants {
		_, err := e.prov.CreateTenant(t.Context(), provision.TenantParams{
			Schema: s, Name: s, Domain: s + ".localhost",
			Admin: &provision.UserParams{Username: "admin", Password: "admin-password"},
		})
		require.NoError(t, err)
	}
	return e
}

// queue opens a queue; with workers, they run until the test ends.
func (e *env) queue(workers int, register ...func(*river.Workers, *db.Pool)) *jobs.Queue {
	q, err := jobs.Open(e.d.Pool, jobs.Options{
		Workers: workers, Register: register, FetchPollInterval: 50 * time.Millisecond,
	})
	require.NoError(e.t, err)
	if workers > 0 {
		require.NoError(e.t, q.Start(context.Background()))
		e.t.Cleanup(func() { _ = q.Stop(5 * time.Second) })
	}
	return q
}

// addExpiredToken gives schema s's admin an expired refresh token, and
// enqueues args in the same transaction; fail makes it roll back.
func (e *env) addExpiredToken(q *jobs.Queue, s string, args river.JobArgs, fail bool) error {
	return db.InTenantTx(e.t.Context(), e.d.Pool, db.MustParseSchema(s), func(_ *tenantdb.Queries, tx pgx.Tx) error {
		if _, err := tx.Exec(e.t.Context(), "INSERT INTO refresh_tokens (jti, family, user_id, expires_at) SELECT gen_random_uuid(), gen_random_uuid(), id, now() - interval '1 day' FROM users"); err != nil {
			return err
		}
		if args != nil {
			if _, err := q.InsertTx(e.t.Context(), tx, args); err != nil {
				return err
			}
		}
		if fail {
			return errors.New("rolled back")
		}
		return nil
	})
}

func (e *env) tokens(s string) int {
	var n int
	require.NoError(e.t, e.d.Pool.QueryRow(e.t.Context(), "SELECT count(*) FROM "+s+".refresh_tokens").Scan(&n))
	return n
}

func (e *env) list(q *jobs.Queue, kind string) []*rivertype.JobRow {
	res, err := q.JobList(e.t.Context(), river.NewJobListParams().Kinds(kind).First(100))
	require.NoError(e.t, err)
	return res.Jobs
}

// wait waits for job id to reach state.
func (e *env) wait(q *jobs.Queue, id int64, state rivertype.JobState) *rivertype.JobRow {
	var j *rivertype.JobRow
	require.Eventually(e.t, func() bool {
		var err error
		j, err = q.JobGet(e.t.Context(), id)
		require.NoError(e.t, err)
		return j.State == state
	}, 15*time.Second, 50*time.Millisecond, "job %d never reached %s", id, state)
	return j
}

func purge(s string) jobs.PurgeExpiredArgs {
	return jobs.PurgeExpiredArgs{TenantArgs: jobs.TenantArgs{Schema: s}}
}

func TestJobsRolledBackEnqueuesNothing(t *testing.T) {
	e := newEnv(t, "acme")
	q := e.queue(0)
	require.EqualError(t, e.addExpiredToken(q, "acme", purge("acme"), true), "rolled back")
	assert.Empty(t, e.list(q, jobs.PurgeExpiredArgs{}.Kind()))
	assert.Equal(t, 0, e.tokens("acme"))
}

func TestJobsCommittedRunsInItsTenant(t *testing.T) {
	e := newEnv(t, "acme", "beta")
	ins := e.queue(0)
	require.NoError(t, e.addExpiredToken(ins, "acme", purge("acme"), false))
	require.NoError(t, e.addExpiredToken(ins, "beta", nil, false))
	js := e.list(ins, jobs.PurgeExpiredArgs{}.Kind())
	require.Len(t, js, 1)

	q := e.queue(1)
	e.wait(q, js[0].ID, rivertype.JobStateCompleted)
	assert.Equal(t, 0, e.tokens("acme"), "the job's tenant")
	assert.Equal(t, 1, e.tokens("beta"), "another tenant")
}

func TestJobsDeletedTenantIsCancelled(t *testing.T) {
	e := newEnv(t, "acme")
	ins := e.queue(0)
	require.NoError(t, e.addExpiredToken(ins, "acme", purge("acme"), false))
	require.NoError(t, e.prov.DeleteTenant(t.Context(), "acme"))
	j := e.list(ins, jobs.PurgeExpiredArgs{}.Kind())[0]

	q := e.queue(1)
	j = e.wait(q, j.ID, rivertype.JobStateCancelled)
	assert.Equal(t, 1, j.Attempt)
	require.Len(t, j.Errors, 1)
	assert.Contains(t, j.Errors[0].Error, "tenant no longer exists")
}

func TestJobsRecreatedTenantIsNotTheJobs(t *testing.T) {
	e := newEnv(t, "acme")
	ins := e.queue(0)
	var id int64
	require.NoError(t, e.d.Pool.QueryRow(t.Context(), "SELECT id FROM clients WHERE schema_name = 'acme'").Scan(&id))
	s := db.MustParseSchema("acme").Pin(id, 0)
	_, err := ins.Insert(t.Context(), jobs.PurgeExpiredArgs{TenantArgs: jobs.Tenant(s)}, nil)
	require.NoError(t, err)
	require.NoError(t, e.prov.DeleteTenant(t.Context(), "acme"))
	_, err = e.prov.CreateTenant(t.Context(), provision.TenantParams{Schema: "acme", Name: "acme", Domain: "acme.localhost"})
	require.NoError(t, err)
	j := e.list(ins, jobs.PurgeExpiredArgs{}.Kind())[0]
	e.wait(e.queue(1), j.ID, rivertype.JobStateCancelled)
}

type failArgs struct{ jobs.TenantArgs }

func (failArgs) Kind() string { return "test.fail" }

func registerFail(ws *river.Workers, pool *db.Pool) {
	jobs.AddTenantWorker(ws, pool, func(context.Context, *river.Job[failArgs], *tenantdb.Queries) error {
		return errors.New("smtp: connection refused")
	})
}

func TestJobsFailingIsRetriedWithBackoff(t *testing.T) {
	e := newEnv(t, "acme")
	q := e.queue(1, registerFail)
	res, err := q.Insert(t.Context(), failArgs{jobs.TenantArgs{Schema: "acme"}}, nil)
	require.NoError(t, err)
	j := e.wait(q, res.Job.ID, rivertype.JobStateRetryable)
	require.NotNil(t, j.AttemptedAt)
	assert.True(t, j.ScheduledAt.After(*j.AttemptedAt), "retried later, not at once")
	require.Len(t, j.Errors, j.Attempt)
	assert.Equal(t, "smtp: connection refused", j.Errors[0].Error)

	j, err = q.JobRetry(t.Context(), j.ID)
	require.NoError(t, err)
	assert.Equal(t, rivertype.JobStateAvailable, j.State)
}

func TestJobsForEachTenant(t *testing.T) {
	e := newEnv(t, "acme", "beta", "gamma")
	q := e.queue(0)
	n, err := q.ForEachTenant(t.Context(), func(ta jobs.TenantArgs) river.JobArgs {
		return jobs.PurgeExpiredArgs{TenantArgs: ta}
	})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	var got []string
	for _, j := range e.list(q, jobs.PurgeExpiredArgs{}.Kind()) {
		var a jobs.TenantArgs
		require.NoError(t, json.Unmarshal(j.EncodedArgs, &a))
		assert.NotZero(t, a.TenantID)
		got = append(got, a.Schema)
	}
	assert.ElementsMatch(t, []string{"acme", "beta", "gamma"}, got)
}

func TestJobsRiverSchemaIsNoTenant(t *testing.T) {
	_, err := db.ParseSchema(db.RiverSchema)
	assert.ErrorIs(t, err, db.ErrInvalidSchema)
	d := dbtest.New(t)
	var n int
	require.NoError(t, d.Pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'river' AND tablename = 'river_job'").Scan(&n))
	assert.Equal(t, 1, n)
}

// The enqueueing transaction is scoped like InTenant's: its search_path is
// the tenant's, for that transaction only, and a pinned schema whose tenant
// is gone gives ErrTenantGone.
func TestJobsInTenantTxScopesSearchPath(t *testing.T) {
	e := newEnv(t, "acme")
	err := db.InTenantTx(t.Context(), e.d.Pool, db.MustParseSchema("acme"), func(_ *tenantdb.Queries, tx pgx.Tx) error {
		var sp string
		require.NoError(t, tx.QueryRow(t.Context(), "SELECT current_setting('search_path')").Scan(&sp))
		assert.Equal(t, `"acme"`, sp)
		return nil
	})
	require.NoError(t, err)
	for range 4 { // whichever pooled connection answers
		var sp string
		require.NoError(t, e.d.Pool.QueryRow(t.Context(), "SELECT current_setting('search_path')").Scan(&sp))
		assert.NotContains(t, sp, "acme")
	}

	var id, oid int64
	require.NoError(t, e.d.Pool.QueryRow(t.Context(), "SELECT id, to_regnamespace('acme')::oid::bigint FROM clients WHERE schema_name = 'acme'").Scan(&id, &oid))
	pinned := db.MustParseSchema("acme").Pin(id, oid)
	require.NoError(t, e.prov.DeleteTenant(t.Context(), "acme"))
	err = db.InTenantTx(t.Context(), e.d.Pool, pinned, func(*tenantdb.Queries, pgx.Tx) error { return nil })
	assert.ErrorIs(t, err, db.ErrTenantGone)
}

// TestJobsMaintenance: once a process with workers starts, the daily
// maintenance runs (RunOnStart) and purges every tenant's dead credentials
// in a job per tenant, keeping the live ones.
func TestJobsMaintenance(t *testing.T) {
	e := newEnv(t, "acme", "beta")
	for _, s := range []string{"acme", "beta"} {
		e.exec(s, `INSERT INTO refresh_tokens (jti, family, user_id, expires_at)
			SELECT gen_random_uuid(), gen_random_uuid(), id, now() + d FROM users,
			(VALUES (interval '-1 day'), (interval '1 day')) v(d)`)
		e.exec(s, `INSERT INTO account_tokens (token_hash, purpose, user_id, email, expires_at, used_at)
			SELECT decode(md5(random()::text), 'hex'), 'password_reset', id, 'a@example.com', now() + d, u FROM users,
			(VALUES (interval '-2 days', NULL::timestamptz), (interval '1 hour', now() - interval '2 days'), (interval '1 hour', NULL)) v(d, u)`)
		e.exec(s, `INSERT INTO invitations (email, role, token_hash, expires_at, revoked_at, accepted_at)
			SELECT 'i' || n || '@example.com', 'member', decode(md5(random()::text), 'hex'), now() + d, r, a
			FROM (VALUES (1, interval '-31 days', NULL::timestamptz, NULL::timestamptz), (2, interval '-1 day', NULL, NULL),
			             (3, interval '1 day', now() - interval '40 days', NULL), (4, interval '-40 days', NULL, now() - interval '41 days'),
			             (5, interval '7 days', NULL, NULL)) v(n, d, r, a)`)
	}
	q := e.queue(1)
	require.Eventually(t, func() bool {
		js := e.list(q, jobs.PurgeExpiredArgs{}.Kind())
		done := 0
		for _, j := range js {
			if j.State == rivertype.JobStateCompleted {
				done++
			}
		}
		return done == 2
	}, 30*time.Second, 100*time.Millisecond, "the maintenance never purged both tenants")
	for _, s := range []string{"acme", "beta"} {
		assert.Equal(t, 1, e.tokens(s), "%s: the live refresh token stays", s)
		assert.Equal(t, 1, e.count(s, "account_tokens"), "%s: the unused unexpired link stays", s)
		assert.Equal(t, 3, e.count(s, "invitations"), "%s: recently expired, accepted and pending invitations stay", s)
	}
	// Once a day across leaders and restarts: server's
	// TestInstancesJobsRunOnce waits for a new leader's refused insert.
	require.Len(t, e.list(q, jobs.MaintenanceArgs{}.Kind()), 1)
}

// exec runs sql in tenant s's schema.
func (e *env) exec(s, sql string) {
	err := db.InTenantTx(e.t.Context(), e.d.Pool, db.MustParseSchema(s), func(_ *tenantdb.Queries, tx pgx.Tx) error {
		_, err := tx.Exec(e.t.Context(), sql)
		return err
	})
	require.NoError(e.t, err)
}

func (e *env) count(s, table string) int {
	var n int
	require.NoError(e.t, e.d.Pool.QueryRow(e.t.Context(), "SELECT count(*) FROM "+s+"."+table).Scan(&n))
	return n
}

// TestJobsWaitForProvisioningTenant: a job of a tenant still being created
// (enqueued in its creation, as signup's verification email is, and picked
// up before the tenant is ready) waits for it rather than being cancelled as
// if the tenant were gone; once the tenant is ready it runs. If the
// creation fails instead (the row goes), it is cancelled.
func TestJobsWaitForProvisioningTenant(t *testing.T) {
	e := newEnv(t, "acme", "beta")
	ids := map[string]int64{}
	for _, s := range []string{"acme", "beta"} {
		var id int64
		require.NoError(t, e.d.Pool.QueryRow(t.Context(), "UPDATE clients SET state = 'provisioning' WHERE schema_name = $1 RETURNING id", s).Scan(&id))
		ids[s] = id
	}
	ins := e.queue(0)
	job := func(s string) *rivertype.JobRow {
		res, err := ins.Insert(t.Context(), jobs.PurgeExpiredArgs{TenantArgs: jobs.TenantArgs{Schema: s, TenantID: ids[s]}}, nil)
		require.NoError(t, err)
		return res.Job
	}
	// snoozed waits until the job was put off (River keeps a short snooze
	// available, with a later scheduled_at), and is neither run nor
	// cancelled.
	snoozed := func(q *jobs.Queue, j *rivertype.JobRow) {
		require.Eventually(t, func() bool {
			got, err := q.JobGet(t.Context(), j.ID)
			require.NoError(t, err)
			require.Contains(t, []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateScheduled}, got.State)
			return got.ScheduledAt.After(j.ScheduledAt.Add(500 * time.Millisecond))
		}, 15*time.Second, 50*time.Millisecond, "job %d was never put off", j.ID)
	}
	acme, beta := job("acme"), job("beta")
	q := e.queue(1)
	snoozed(q, acme)
	_, err := e.d.Pool.Exec(t.Context(), "UPDATE clients SET state = 'ready' WHERE id = $1", ids["acme"])
	require.NoError(t, err)
	e.wait(q, acme.ID, rivertype.JobStateCompleted)

	snoozed(q, beta)
	_, err = e.d.Pool.Exec(t.Context(), "DELETE FROM domains WHERE client_id = $1", ids["beta"])
	require.NoError(t, err)
	_, err = e.d.Pool.Exec(t.Context(), "DELETE FROM clients WHERE id = $1", ids["beta"])
	require.NoError(t, err)
	j := e.wait(q, beta.ID, rivertype.JobStateCancelled)
	assert.Contains(t, j.Errors[len(j.Errors)-1].Error, "tenant no longer exists")
}
