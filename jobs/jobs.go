// Package jobs is the product's background job queue: River
// (github.com/riverqueue/river) on the product's pgx pool, its tables in a
// schema of their own (db.RiverSchema), never in public or a tenant's.
//
// Jobs are enqueued in the same transaction as the change that causes them
// (InsertTx, inside db.InTenantTx or db.InPublicTx), so a rolled-back change
// enqueues nothing and a committed one always has its job. A tenant job's
// arguments embed TenantArgs, and its worker (AddTenantWorker) runs the
// tenant work through db.InTenant like a request handler: no code path sets
// a search_path of its own. A job whose tenant is gone is cancelled, not
// retried.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/mail"
	"github.com/tenantctl/tenantctl/telemetry"
)

// Migrate applies River's pending migrations to its schema, which the public
// migrations create, and returns how many it applied. tenantctl migrate runs
// it right after the public schema's migrations.
func Migrate(ctx context.Context, pool *db.Pool) (int, error) {
	m, err := rivermigrate.New(riverpgxv5.New(pool.Pool), &rivermigrate.Config{
		Schema: db.RiverSchema,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return 0, err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return 0, fmt.Errorf("job queue migrations: %w", err)
	}
	return len(res.Versions), nil
}

// Options configure a Queue.
type Options struct {
	// Workers is how many jobs run at once; 0 makes a client that only
	// enqueues, lists and retries (WORKERS=0, for API-only replicas).
	Workers int
	// Register adds the product's workers; every kind that is enqueued
	// must be registered, also on a client that runs none.
	Register []func(ws *river.Workers, pool *db.Pool)
	// RetryPolicy, if not nil, replaces River's (exponential backoff,
	// attempt^4 seconds, 25 attempts).
	RetryPolicy river.ClientRetryPolicy
	// FetchPollInterval, if not zero, replaces River's (1s); tests shorten it.
	FetchPollInterval time.Duration
	// Mail sends the email jobs (email.send). Every client knows the kind,
	// so that any can enqueue it; nil fails each email (it is retried), for
	// clients that run no workers.
	Mail mail.Sender
	// PurgeDeleted drops the softly deleted tenants older than
	// TenantRetention (PurgeDeletedArgs, daily); nil fails that job (it is
	// retried), for clients that run no workers.
	PurgeDeleted    PurgeDeletedFunc
	TenantRetention time.Duration
	// AuditRetention is how long each tenant's audit log keeps its
	// entries: the daily PruneAuditArgs delete the older ones; 0 keeps
	// them all.
	AuditRetention time.Duration
	Logger         *slog.Logger
	// Telemetry, if not nil, counts the jobs in its metrics and traces
	// them when tracing is on. A job's trace context, request id and
	// tenant go in its metadata whatever this is.
	Telemetry *telemetry.Telemetry
}

// Queue is the River client of one process.
type Queue struct {
	*river.Client[pgx.Tx]
	pool    *db.Pool
	working bool
}

// Open returns the queue on pool. Its workers run only after Start.
func Open(pool *db.Pool, opts Options) (*Queue, error) {
	ws := river.NewWorkers()
	send := opts.Mail
	if send == nil {
		send = noMail{}
	}
	for _, r := range append([]func(*river.Workers, *db.Pool){Builtin, email(send), purgeDeleted(opts.PurgeDeleted, opts.TenantRetention), pruneAudit(opts.AuditRetention)}, opts.Register...) {
		r(ws, pool)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = slog.New(telemetry.LogHandler(log.Handler()))
	obs := &observer{tracer: opts.Telemetry.Tracer("github.com/tenantctl/tenantctl/jobs"), metrics: opts.Telemetry.MetricsOf(), log: log}
	cfg := &river.Config{
		Middleware:        []rivertype.Middleware{obs},
		Schema:            db.RiverSchema,
		Workers:           ws,
		Logger:            log,
		RetryPolicy:       opts.RetryPolicy,
		FetchPollInterval: opts.FetchPollInterval,
	}
	if opts.FetchPollInterval > 0 && opts.FetchPollInterval < 100*time.Millisecond {
		cfg.FetchCooldown = opts.FetchPollInterval
	}
	if opts.Workers > 0 {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}}
		cfg.PeriodicJobs = periodic(opts.PurgeDeleted != nil && opts.TenantRetention > 0)
		opts.Telemetry.MetricsOf().AddPool("jobs", pool)
	}
	c, err := river.NewClient(riverpgxv5.New(pool.Pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Queue{Client: c, pool: pool, working: opts.Workers > 0}, nil
}

// Start runs the workers until Stop; it does nothing on a queue opened
// with no workers.
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.Client.Start(ctx)
}

// Stop waits up to timeout for running jobs to finish, then cancels them
// (they are retried later) and returns once they have stopped.
func (q *Queue) Stop(timeout time.Duration) error {
	if !q.working {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := q.Client.Stop(ctx); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	return q.Client.StopAndCancel(ctx)
}

// InsertTx enqueues args in tx, the transaction of the change that causes
// the job (db.InTenantTx, db.InPublicTx): the job exists if and only if tx
// commits. River's statements name its own schema, whatever tx's
// search_path.
func (q *Queue) InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs) (*rivertype.JobInsertResult, error) {
	return q.Client.InsertTx(ctx, tx, args, nil)
}

// ForEachTenant enqueues one job per ready tenant, argsFor's for that
// tenant, in one transaction, and returns how many it enqueued.
func (q *Queue) ForEachTenant(ctx context.Context, argsFor func(t TenantArgs) river.JobArgs) (int, error) {
	return forEachTenant(ctx, q.pool, q.Client, argsFor)
}

// forEachTenant is ForEachTenant with client c, for workers, which get
// theirs from their context.
func forEachTenant(ctx context.Context, pool *db.Pool, c *river.Client[pgx.Tx], argsFor func(t TenantArgs) river.JobArgs) (int, error) {
	return forEachTenantMany(ctx, pool, c, func(t TenantArgs) []river.JobArgs { return []river.JobArgs{argsFor(t)} })
}

// forEachTenantMany is forEachTenant with several jobs per tenant, all
// enqueued in one transaction.
func forEachTenantMany(ctx context.Context, pool *db.Pool, c *river.Client[pgx.Tx], argsFor func(t TenantArgs) []river.JobArgs) (int, error) {
	n := 0
	err := db.InPublicTx(ctx, pool, func(pq *publicdb.Queries, tx pgx.Tx) error {
		rows, err := pq.ListReadyTenants(ctx)
		if err != nil {
			return err
		}
		params := make([]river.InsertManyParams, 0, len(rows))
		for _, r := range rows {
			for _, args := range argsFor(TenantArgs{Schema: r.SchemaName, TenantID: r.ID}) {
				params = append(params, river.InsertManyParams{Args: args})
			}
		}
		if len(params) == 0 {
			return nil
		}
		res, err := c.InsertManyTx(ctx, tx, params)
		n = len(res)
		return err
	})
	return n, err
}

// TenantArgs name a job's tenant. Embed it in a tenant job's arguments:
//
//	type WelcomeArgs struct {
//		jobs.TenantArgs
//		UserID int64 `json:"user_id"`
//	}
type TenantArgs struct {
	Schema string `json:"schema"`
	// TenantID, when not 0, must still be the id registered under Schema:
	// a tenant deleted and re-created under its name is another tenant.
	TenantID int64 `json:"tenant_id,omitempty"`
}

// Tenant returns the TenantArgs of schema s (pinned, as a request's is, or
// not).
func Tenant(s db.Schema) TenantArgs { return TenantArgs{Schema: s.String(), TenantID: s.Client()} }

// TenantOf returns a itself: it makes every struct embedding TenantArgs a
// TenantJob.
func (a TenantArgs) TenantOf() TenantArgs { return a }

// TenantJob is the arguments of a job that runs in one tenant.
type TenantJob interface {
	river.JobArgs
	TenantOf() TenantArgs
}

// ErrTenantGone is the error of a job cancelled because its tenant no
// longer exists.
var ErrTenantGone = db.ErrTenantGone

// TenantWork is a tenant job's work: q runs in the job's tenant, in one
// transaction (db.InTenant), which commits if it returns nil. Like InTenant's
// fn it may run twice (a stale cached plan) and must only talk to q.
type TenantWork[T TenantJob] func(ctx context.Context, job *river.Job[T], q *tenantdb.Queries) error

// AddTenantWorker registers work for the jobs of kind T.
func AddTenantWorker[T TenantJob](ws *river.Workers, pool *db.Pool, work TenantWork[T]) {
	river.AddWorker(ws, &tenantWorker[T]{pool: pool, work: work})
}

type tenantWorker[T TenantJob] struct {
	river.WorkerDefaults[T]
	pool *db.Pool
	work TenantWork[T]
}

func (w *tenantWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	t := job.Args.TenantOf()
	s, err := resolve(ctx, w.pool, t)
	if err != nil {
		return err
	}
	err = db.InTenant(ctx, w.pool, s, func(q *tenantdb.Queries) error { return w.work(ctx, job, q) })
	if errors.Is(err, db.ErrTenantGone) {
		return river.JobCancel(fmt.Errorf("tenant %q: %w", t.Schema, ErrTenantGone))
	}
	return err
}

// Resolve pins t's schema for a worker that runs its tenant work itself
// (not through AddTenantWorker, e.g. to keep a slow call out of the
// transaction). Its errors are River's: a job whose tenant is gone is
// cancelled, one whose tenant is still being created is snoozed.
func Resolve(ctx context.Context, pool *db.Pool, t TenantArgs) (db.Schema, error) {
	return resolve(ctx, pool, t)
}

// notReadyWait is how long a job waits (snoozed, not counted as an
// attempt) for its tenant to finish being created.
const notReadyWait = time.Second

// resolve pins t's schema to its registered tenant, or cancels the job
// when there is none. A job of a tenant still being created (enqueued by
// its creation, such as signup's verification email, and picked up before
// the tenant became ready) is snoozed until it is ready: the tenant is not
// gone, and if its creation fails the job is cancelled then.
func resolve(ctx context.Context, pool *db.Pool, t TenantArgs) (db.Schema, error) {
	s, err := db.ParseSchema(t.Schema)
	if err != nil {
		return db.Schema{}, river.JobCancel(err)
	}
	pinned, err := db.Pinned(ctx, pool, s)
	if errors.Is(err, db.ErrTenantGone) {
		provisioning, perr := db.InPublicV(ctx, pool, func(q *publicdb.Queries) (bool, error) {
			return q.ClientProvisioning(ctx, publicdb.ClientProvisioningParams{ID: t.TenantID, SchemaName: t.Schema})
		})
		if perr != nil {
			return db.Schema{}, perr
		}
		if provisioning {
			return db.Schema{}, river.JobSnooze(notReadyWait)
		}
		// Not provisioning any more: it may have become ready between the
		// two looks, so look again before cancelling.
		pinned, err = db.Pinned(ctx, pool, s)
	}
	switch {
	case errors.Is(err, db.ErrTenantGone), err == nil && t.TenantID != 0 && pinned.Client() != t.TenantID:
		return db.Schema{}, river.JobCancel(fmt.Errorf("tenant %q: %w", t.Schema, ErrTenantGone))
	case err != nil:
		return db.Schema{}, err
	}
	return pinned, nil
}
