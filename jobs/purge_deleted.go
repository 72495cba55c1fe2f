package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/tenantctl/tenantctl/db"
)

// PurgeDeletedFunc drops the tenants deleted softly more than retention ago
// and returns their schemas: provision.Service.PurgeDeleted, the code path
// of a permanent deletion. The jobs package takes it as a function so that
// it depends on no provisioning (the CLI, which opens the queue that runs
// the workers, passes it in Options).
type PurgeDeletedFunc func(ctx context.Context, retention time.Duration) ([]string, error)

// PurgeDeletedArgs run the daily purge of the softly deleted tenants whose
// retention (TENANT_RETENTION) is over. The queue's leader enqueues it daily
// (and when it starts) in the processes given Options.PurgeDeleted, as
// tenantctl serve is.
type PurgeDeletedArgs struct{}

// Kind is the job's name in River's tables and in tenantctl jobs list.
func (PurgeDeletedArgs) Kind() string { return "tenants.purge_deleted" }

type purgeDeletedWorker struct {
	river.WorkerDefaults[PurgeDeletedArgs]
	purge     PurgeDeletedFunc
	retention time.Duration
}

func (w *purgeDeletedWorker) Work(ctx context.Context, _ *river.Job[PurgeDeletedArgs]) error {
	if w.purge == nil || w.retention <= 0 {
		// A queue opened without Options.PurgeDeleted (one that runs no
		// workers) knows the kind but cannot run it: retried later.
		return errors.New("this process cannot purge deleted tenants (no provisioning)")
	}
	_, err := w.purge(ctx, w.retention)
	return err
}

// purgeDeleted registers the purge worker with purge and retention.
func purgeDeleted(purge PurgeDeletedFunc, retention time.Duration) func(*river.Workers, *db.Pool) {
	return func(ws *river.Workers, _ *db.Pool) {
		river.AddWorker(ws, &purgeDeletedWorker{purge: purge, retention: retention})
	}
}
