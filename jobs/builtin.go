package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// MaintenanceInterval is how often the queue's leader enqueues
// MaintenanceArgs.
const MaintenanceInterval = 24 * time.Hour

// Builtin registers the product's own jobs.
func Builtin(ws *river.Workers, pool *db.Pool) {
	AddTenantWorker(ws, pool, purgeExpired)
	river.AddWorker(ws, &maintenanceWorker{pool: pool})
}

// periodic are the jobs the elected leader among the processes running
// workers enqueues on a schedule. Each also runs when a leader starts; the
// uniqueness by period keeps restarts from running it more than once a
// period. purge adds the daily purge of the softly deleted tenants, which a
// process can run only when it was given the provisioning's PurgeDeleted.
func periodic(purge bool) []*river.PeriodicJob {
	jobs := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(MaintenanceInterval), func() (river.JobArgs, *river.InsertOpts) {
			return MaintenanceArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: MaintenanceInterval}}
		}, &river.PeriodicJobOpts{ID: MaintenanceArgs{}.Kind(), RunOnStart: true}),
	}
	if purge {
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(MaintenanceInterval), func() (river.JobArgs, *river.InsertOpts) {
			return PurgeDeletedArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: MaintenanceInterval}}
		}, &river.PeriodicJobOpts{ID: PurgeDeletedArgs{}.Kind(), RunOnStart: true}))
	}
	return jobs
}

// MaintenanceArgs fan the daily housekeeping out: one PurgeExpiredArgs and
// one PruneAuditArgs per ready tenant (ForEachTenant), so that each
// tenant's work is a job of its own, retried on its own.
type MaintenanceArgs struct{}

// Kind is the job's name in River's tables and in tenantctl jobs list.
func (MaintenanceArgs) Kind() string { return "tenants.maintenance" }

type maintenanceWorker struct {
	river.WorkerDefaults[MaintenanceArgs]
	pool *db.Pool
}

func (w *maintenanceWorker) Work(ctx context.Context, _ *river.Job[MaintenanceArgs]) error {
	_, err := forEachTenantMany(ctx, w.pool, river.ClientFromContext[pgx.Tx](ctx), func(t TenantArgs) []river.JobArgs {
		return []river.JobArgs{PurgeExpiredArgs{TenantArgs: t}, PruneAuditArgs{TenantArgs: t}}
	})
	return err
}

// PurgeExpiredArgs delete a tenant's credentials that can no longer be
// used, which nothing else removes: expired refresh tokens, stale password
// reset and email verification links, and invitations that were never
// accepted. MaintenanceArgs enqueue it for every tenant daily.
type PurgeExpiredArgs struct {
	TenantArgs
}

// Kind is the job's name in River's tables and in tenantctl jobs list.
func (PurgeExpiredArgs) Kind() string { return "tenant.purge_expired" }

func purgeExpired(ctx context.Context, _ *river.Job[PurgeExpiredArgs], q *tenantdb.Queries) error {
	if _, err := q.DeleteExpiredRefreshTokens(ctx); err != nil {
		return err
	}
	if _, err := q.DeleteStaleAccountTokens(ctx); err != nil {
		return err
	}
	_, err := q.DeleteStaleInvitations(ctx)
	return err
}
