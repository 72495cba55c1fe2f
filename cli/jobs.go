package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/mail"
	"github.com/tenantctl/tenantctl/telemetry"
	"github.com/tenantctl/tenantctl/webhook"
)

// queue opens the job queue with up to workers jobs at once (0: a client
// that only enqueues, lists and retries), counting and tracing its jobs in
// tel (nil: neither).
func (inv *invocation) queue(ctx context.Context, workers int, tel *telemetry.Telemetry) (*jobs.Queue, error) {
	if err := inv.open(ctx); err != nil {
		return nil, err
	}
	cfg, _ := inv.config()
	pool := inv.pool
	if workers > 0 {
		// Workers get a pool of their own on the direct URL: running jobs
		// and River's LISTEN never take a connection from the requests'
		// pool, and LISTEN keeps its session even behind a pooler.
		jp, err := jobPool(ctx, cfg, workers)
		if err != nil {
			return nil, err
		}
		inv.jobPool, pool = jp, jp
	}
	// Webhook deliveries are enqueued by package audit straight into
	// River's table, so every client that works jobs must know their kind.
	deliver := webhook.Register(webhook.Options{
		AllowPrivate: cfg.WebhookAllowPrivate, Timeout: cfg.WebhookTimeout, Schedule: inv.opts.WebhookSchedule,
		Telemetry: tel, Logger: inv.log,
	})
	return jobs.Open(pool, jobs.Options{
		Workers:           workers,
		Register:          append([]func(*river.Workers, *db.Pool){deliver}, inv.opts.JobWorkers...),
		Mail:              inv.mailer(cfg),
		PurgeDeleted:      inv.svc.PurgeDeleted,
		TenantRetention:   cfg.TenantRetention,
		AuditRetention:    cfg.AuditRetention,
		FetchPollInterval: inv.opts.JobPollInterval,
		Logger:            inv.log,
		Telemetry:         tel,
	})
}

// mailer is where the email job sends: SMTP_URL's server, or the log
// when it is unset (development; serve refuses that in production).
func (inv *invocation) mailer(cfg config.Config) mail.Sender {
	if cfg.SMTPURL == "" {
		return mail.NewLog(inv.log, cfg.MailFrom)
	}
	return mail.NewSMTP(cfg.SMTP, cfg.MailFrom)
}

// failedStates are the states jobs list shows by default: jobs that failed
// and will be retried, and those that failed for good.
var failedStates = []rivertype.JobState{rivertype.JobStateRetryable, rivertype.JobStateDiscarded}

var allStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateCancelled, rivertype.JobStateCompleted,
	rivertype.JobStateDiscarded, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// jobsCommand lists the background jobs that failed and retries them.
func jobsCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:   "jobs",
		Usage:  "list failed background jobs and retry them",
		Action: groupAction,
		Commands: []*ucli.Command{
			{
				Name:        "list",
				Usage:       "list jobs, by default the failed ones (retryable and discarded), newest first",
				Description: "States: " + statesText(allStates) + " (repeatable).",
				Flags: []ucli.Flag{
					&ucli.StringSliceFlag{Name: "state", Usage: "list jobs in this `state` (repeatable)"},
					&ucli.IntFlag{Name: "limit", Value: 100, Usage: "list at most this many"},
					&ucli.BoolFlag{Name: "json", Usage: "print a JSON array"},
				},
				Action: action(func(ctx context.Context, cmd *ucli.Command) error {
					return inv.jobsList(ctx, cmd.StringSlice("state"), cmd.Int("limit"), cmd.Bool("json"))
				}),
			},
			{
				Name:  "retry",
				Usage: "run a failed job again now: --id N, or --all-failed",
				Flags: []ucli.Flag{
					&ucli.Int64Flag{Name: "id", Usage: "the job's id"},
					&ucli.BoolFlag{Name: "all-failed", Usage: "every retryable and discarded job"},
				},
				Action: action(func(ctx context.Context, cmd *ucli.Command) error {
					return inv.jobsRetry(ctx, cmd.Int64("id"), cmd.IsSet("id"), cmd.Bool("all-failed"))
				}),
			},
		},
	}
}

func statesText(states []rivertype.JobState) string {
	s := make([]string, len(states))
	for i, st := range states {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

func parseStates(names []string) ([]rivertype.JobState, error) {
	if len(names) == 0 {
		return failedStates, nil
	}
	var out []rivertype.JobState
	for _, n := range names {
		for _, p := range strings.Split(n, ",") {
			st := rivertype.JobState(strings.TrimSpace(p))
			found := false
			for _, a := range allStates {
				found = found || a == st
			}
			if !found {
				return nil, usageErrorf("--state: %q is not one of %s", p, statesText(allStates))
			}
			out = append(out, st)
		}
	}
	return out, nil
}

// jobJSON is one job of jobs list --json.
type jobJSON struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	State       string          `json:"state"`
	Queue       string          `json:"queue"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	CreatedAt   time.Time       `json:"created_at"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	Args        json.RawMessage `json:"args"`
	LastError   string          `json:"last_error"`
}

func lastError(j *rivertype.JobRow) string {
	if len(j.Errors) == 0 {
		return ""
	}
	return j.Errors[len(j.Errors)-1].Error
}

func (inv *invocation) listJobs(ctx context.Context, q *jobs.Queue, states []rivertype.JobState, limit int) ([]*rivertype.JobRow, error) {
	res, err := q.JobList(ctx, river.NewJobListParams().States(states...).First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc))
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return res.Jobs, nil
}

func (inv *invocation) jobsList(ctx context.Context, stateNames []string, limit int, asJSON bool) error {
	states, err := parseStates(stateNames)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 10000 {
		return usageErrorf("--limit must be between 1 and 10000, not %d", limit)
	}
	q, err := inv.queue(ctx, 0, nil)
	if err != nil {
		return err
	}
	js, err := inv.listJobs(ctx, q, states, limit)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]jobJSON, 0, len(js))
		for _, j := range js {
			out = append(out, jobJSON{ID: j.ID, Kind: j.Kind, State: string(j.State), Queue: j.Queue, Attempt: j.Attempt,
				MaxAttempts: j.MaxAttempts, CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt, Args: j.EncodedArgs, LastError: lastError(j)})
		}
		return writeJSON(inv.out(), out)
	}
	if len(js) == 0 {
		fmt.Fprintf(inv.out(), "no %s jobs\n", strings.Join(strings.Split(statesText(states), ", "), " or "))
		return nil
	}
	tw := tabwriter.NewWriter(inv.out(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPT\tSCHEDULED\tARGS\tLAST ERROR")
	for _, j := range js {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", j.ID, j.Kind, j.State, j.Attempt, j.MaxAttempts,
			j.ScheduledAt.UTC().Format(time.RFC3339), j.EncodedArgs, shortLine(lastError(j)))
	}
	return tw.Flush()
}

func shortLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

func (inv *invocation) jobsRetry(ctx context.Context, id int64, haveID, allFailed bool) error {
	if haveID == allFailed {
		return usageErrorf("jobs retry: give --id or --all-failed")
	}
	q, err := inv.queue(ctx, 0, nil)
	if err != nil {
		return err
	}
	ids := []int64{id}
	if allFailed {
		ids = nil
		for {
			// Retried jobs leave the failed states, so each page is new.
			js, err := inv.listJobs(ctx, q, failedStates, 1000)
			if err != nil {
				return err
			}
			if len(js) == 0 {
				break
			}
			for _, j := range js {
				if _, err := q.JobRetry(ctx, j.ID); err != nil {
					return fmt.Errorf("retry job %d: %w", j.ID, err)
				}
				ids = append(ids, j.ID)
			}
		}
		fmt.Fprintf(inv.out(), "retrying %s\n", plural(len(ids), "job"))
		return nil
	}
	j, err := q.JobGet(ctx, id)
	if err != nil {
		if errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("job %d not found", id)
		}
		return fmt.Errorf("retry job %d: %w", id, err)
	}
	if j.State == rivertype.JobStateRunning {
		return fmt.Errorf("job %d is running", id)
	}
	if _, err := q.JobRetry(ctx, id); err != nil {
		return fmt.Errorf("retry job %d: %w", id, err)
	}
	fmt.Fprintf(inv.out(), "retrying job %d (%s, was %s)\n", j.ID, j.Kind, j.State)
	return nil
}

// jobSchemas bounds the schemas a worker's backend serves before it is
// replaced, and its tenant-specific statements are off: jobs that sweep
// every tenant (the daily audit prune) meet each schema about once, so warm
// caches buy them little, while WORKERS backends holding
// DB_MAX_SCHEMAS_PER_CONN schemas each would outweigh the requests' pool.
const jobSchemas = 200

// jobPool opens the workers' pool: DATABASE_DIRECT_URL with a connection
// for each worker and two for River itself (its LISTEN and its producer),
// and as many for the workers' tenant transactions, split one per part.
func jobPool(ctx context.Context, cfg config.Config, workers int) (*db.Pool, error) {
	u, err := url.Parse(cfg.DatabaseDirectURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_DIRECT_URL: %w", err)
	}
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(workers+2))
	u.RawQuery = q.Encode()
	return db.Open(ctx, u.String(), db.Limits{Schemas: min(cfg.MaxSchemasPerConn, jobSchemas), Plans: 0, TenantWait: cfg.TenantQueueWait})
}
