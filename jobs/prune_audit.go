package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// pruneAuditBatch is how many entries one transaction of the prune
// deletes: a tenant with a huge log is pruned in many short transactions,
// never one long one holding its rows.
const pruneAuditBatch = 10000

// PruneAuditArgs delete a tenant's audit log entries older than the
// retention (AUDIT_RETENTION, Options.AuditRetention). MaintenanceArgs
// enqueue it for every tenant daily; with no retention (0: keep
// everything) it does nothing.
type PruneAuditArgs struct {
	TenantArgs
}

// Kind is the job's name in River's tables and in tenantctl jobs list.
func (PruneAuditArgs) Kind() string { return "tenant.prune_audit" }

type pruneAuditWorker struct {
	river.WorkerDefaults[PruneAuditArgs]
	pool      *db.Pool
	retention time.Duration
}

// Work deletes in batches, each in a transaction of its own, until a batch
// finds fewer than it may delete. The cutoff is fixed when the job starts.
func (w *pruneAuditWorker) Work(ctx context.Context, job *river.Job[PruneAuditArgs]) error {
	if w.retention <= 0 {
		return nil
	}
	t := job.Args.TenantArgs
	s, err := resolve(ctx, w.pool, t)
	if err != nil {
		return err
	}
	before := time.Now().Add(-w.retention)
	for {
		var n int64
		err := db.InTenant(ctx, w.pool, s, func(q *tenantdb.Queries) error {
			var err error
			n, err = q.PruneAudit(ctx, tenantdb.PruneAuditParams{Before: before, Lim: pruneAuditBatch})
			return err
		})
		if errors.Is(err, db.ErrTenantGone) {
			return river.JobCancel(fmt.Errorf("tenant %q: %w", t.Schema, ErrTenantGone))
		}
		if err != nil || n < pruneAuditBatch {
			return err
		}
	}
}

// pruneAudit registers the audit log's prune worker with retention.
func pruneAudit(retention time.Duration) func(*river.Workers, *db.Pool) {
	return func(ws *river.Workers, pool *db.Pool) {
		river.AddWorker(ws, &pruneAuditWorker{pool: pool, retention: retention})
	}
}
