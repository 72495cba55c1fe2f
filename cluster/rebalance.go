package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/citusdb"
)

// ErrNoRebalance: no rebalance is running (to stop).
var ErrNoRebalance = errors.New("no rebalance is running")

// RunningError: a rebalance is already running, so another does not start.
type RunningError struct{ JobID int64 }

func (e RunningError) Error() string {
	return fmt.Sprintf("a rebalance is already running as job %d (watch it: tenantctl cluster rebalance --watch; stop it: tenantctl cluster rebalance --stop)", e.JobID)
}

// Rebalance is a rebalance job, as citus_rebalance_status shows it.
type Rebalance struct {
	JobID      int64
	State      string // scheduled, running, cancelling, failing, finished, cancelled, failed
	StartedAt  *time.Time
	FinishedAt *time.Time
	// Tasks counts its tasks (one a move) by state: done, running,
	// runnable, blocked, error, cancelled, ...
	Tasks map[string]int
	// Moving are the running moves as "source -> target".
	Moving []string
	// Errors are the messages of tasks that failed or are being retried.
	Errors []string
}

// Done reports whether the job has ended, well or not.
func (r Rebalance) Done() bool {
	return r.State == "finished" || r.State == "cancelled" || r.State == "failed"
}

// Progress is the job in one line, for watching it.
func (r Rebalance) Progress() string {
	total := 0
	for _, n := range r.Tasks {
		total += n
	}
	s := fmt.Sprintf("rebalance job %d: %s, %d of %d moves done", r.JobID, r.State, r.Tasks["done"], total)
	if len(r.Moving) > 0 {
		s += "; moving " + strings.Join(r.Moving, ", ")
	}
	if len(r.Errors) > 0 {
		s += "; errors: " + strings.Join(r.Errors, "; ")
	}
	return s
}

// rebalanceDetails is the part of citus_rebalance_status' details read here.
type rebalanceDetails struct {
	Tasks []struct {
		State   string `json:"state"`
		Message string `json:"message"`
		Hosts   struct {
			Source string `json:"source"`
			Target string `json:"target"`
		} `json:"hosts"`
	} `json:"tasks"`
	TaskStateCounts map[string]int `json:"task_state_counts"`
}

// LatestRebalance returns the latest rebalance job, and false when there
// never was one.
func LatestRebalance(ctx context.Context, pool *db.Pool) (Rebalance, bool, error) {
	if err := Check(ctx, pool); err != nil {
		return Rebalance{}, false, err
	}
	return latestRebalance(ctx, citusdb.New(pool))
}

func latestRebalance(ctx context.Context, q *citusdb.Queries) (Rebalance, bool, error) {
	row, err := q.RebalanceStatus(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return Rebalance{}, false, nil
	}
	if err != nil {
		return Rebalance{}, false, err
	}
	r := Rebalance{State: row.State, StartedAt: row.StartedAt, FinishedAt: row.FinishedAt, Tasks: map[string]int{}}
	if row.JobID != nil {
		r.JobID = *row.JobID
	}
	var d rebalanceDetails
	if len(row.Details) > 0 {
		if err := json.Unmarshal(row.Details, &d); err != nil {
			return r, true, fmt.Errorf("citus_rebalance_status details: %w", err)
		}
	}
	for k, n := range d.TaskStateCounts {
		r.Tasks[k] = n
	}
	for _, t := range d.Tasks {
		switch {
		case t.State == "running" && t.Hosts.Source != "":
			r.Moving = append(r.Moving, t.Hosts.Source+" -> "+t.Hosts.Target)
		case t.Message != "" && t.State != "running" && t.State != "done":
			r.Errors = append(r.Errors, strings.TrimSpace(t.Message))
		}
	}
	slices.Sort(r.Moving)
	return r, true, nil
}

// StartRebalance starts a rebalance of the tenants over the nodes as a
// background job (citus_rebalance_start), which goes on when the caller
// goes away. It returns the job, and false when there is nothing to move.
// It returns a RunningError when a rebalance is running already.
func StartRebalance(ctx context.Context, pool *db.Pool, blockWrites bool) (Rebalance, bool, error) {
	if err := Check(ctx, pool); err != nil {
		return Rebalance{}, false, err
	}
	q := citusdb.New(pool)
	if cur, ok, err := latestRebalance(ctx, q); err != nil {
		return Rebalance{}, false, err
	} else if ok && !cur.Done() {
		return Rebalance{}, false, RunningError{JobID: cur.JobID}
	}
	mode := citusdb.CitusShardTransferModeAuto
	if blockWrites {
		mode = citusdb.CitusShardTransferModeBlockWrites
	}
	id, err := q.RebalanceStart(ctx, mode)
	if err != nil {
		return Rebalance{}, false, err
	}
	if id == 0 {
		return Rebalance{}, false, nil
	}
	r, _, err := latestRebalance(ctx, q)
	return r, true, err
}

// StopRebalance cancels the running rebalance and returns it. Moves done
// stay done; the one under way is rolled back. It returns ErrNoRebalance
// when none is running.
func StopRebalance(ctx context.Context, pool *db.Pool) (Rebalance, error) {
	if err := Check(ctx, pool); err != nil {
		return Rebalance{}, err
	}
	q := citusdb.New(pool)
	cur, ok, err := latestRebalance(ctx, q)
	if err != nil {
		return Rebalance{}, err
	}
	if !ok || cur.Done() {
		return Rebalance{}, ErrNoRebalance
	}
	if err := q.RebalanceStop(ctx); err != nil {
		return Rebalance{}, err
	}
	r, _, err := latestRebalance(ctx, q)
	return r, err
}

// WatchRebalance calls progress with the latest rebalance job every
// interval until it is done, and returns it as it ended.
func WatchRebalance(ctx context.Context, pool *db.Pool, interval time.Duration, progress func(Rebalance)) (Rebalance, error) {
	if err := Check(ctx, pool); err != nil {
		return Rebalance{}, err
	}
	q := citusdb.New(pool)
	for {
		r, ok, err := latestRebalance(ctx, q)
		if err != nil {
			return r, err
		}
		if !ok {
			return r, ErrNoRebalance
		}
		progress(r)
		if r.Done() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(interval):
		}
	}
}
