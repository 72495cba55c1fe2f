package cli_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/dbtest"
)

// app runs tenantctl in-process against one test database.
type app struct {
	t  *testing.T
	db *dbtest.DB
	// env is what the app's getenv sees; DATABASE_URL points at db.
	env map[string]string
	// tenantFS, if set, replaces the embedded tenant migrations.
	tenantFS fs.FS
	// jobWorkers are background job workers besides the product's.
	jobWorkers []func(*river.Workers, *db.Pool)
}

func newApp(t *testing.T, d *dbtest.DB) *app {
	return &app{t: t, db: d, env: map[string]string{"DATABASE_URL": d.URL, "LOG_FORMAT": "text"}}
}

// result is what one run printed and returned.
type result struct {
	stdout, stderr string
	err            error
}

// code is the exit status main would use.
func (r result) code() int { return cli.ExitCode(r.err) }

// runOpts are the ways a run's surroundings can differ.
type runOpts struct {
	stdin     string
	term      cli.Terminal // nil: stdin is not a terminal
	stdoutTTY bool
	serve     cli.ServeFunc
	dotEnv    string
	ctx       context.Context // nil: the test's
	// progressEvery is migrate's ProgressInterval (0: its default).
	progressEvery time.Duration
}

// run runs tenantctl with args, stdin not a terminal and empty.
func (a *app) run(args ...string) result {
	return a.runWith(runOpts{}, args...)
}

func (a *app) runWith(o runOpts, args ...string) result {
	a.t.Helper()
	var stdout, stderr bytes.Buffer
	env := a.env
	app := cli.New(cli.Options{
		Getenv:           func(k string) string { return env[k] },
		DotEnv:           o.dotEnv,
		Stdin:            strings.NewReader(o.stdin),
		Stdout:           &stdout,
		Stderr:           &stderr,
		Terminal:         o.term,
		StdoutTerminal:   o.stdoutTTY,
		TenantMigrations: a.tenantFS,
		Serve:            o.serve,
		JobWorkers:       a.jobWorkers,
		JobPollInterval:  50 * time.Millisecond,
		ProgressInterval: o.progressEvery,
	})
	ctx := o.ctx
	if ctx == nil {
		ctx = a.t.Context()
	}
	err := app.Run(ctx, append([]string{"tenantctl"}, args...))
	if err != nil {
		// Whatever went wrong, the user sees exactly one line.
		assert.NotContains(a.t, err.Error(), "\n", "error message of %q", args)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// ok runs args and fails the test unless the run succeeds.
func (a *app) ok(args ...string) result {
	a.t.Helper()
	r := a.run(args...)
	require.NoError(a.t, r.err, "tenantctl %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	return r
}

// fakeTerminal is a terminal on which the user types the given passwords.
type fakeTerminal struct {
	mu        sync.Mutex
	passwords []string
}

func typing(passwords ...string) *fakeTerminal { return &fakeTerminal{passwords: passwords} }

func (f *fakeTerminal) ReadPassword(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.passwords) == 0 {
		return "", errors.New("fake terminal: no more input")
	}
	p := f.passwords[0]
	f.passwords = f.passwords[1:]
	return p, nil
}

// count runs a counting query against the test database.
func count(t *testing.T, d *dbtest.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, d.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// leftovers counts what a failed tenant create of schema might leave behind.
func leftovers(t *testing.T, d *dbtest.DB, schema string) int {
	return count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema) +
		count(t, d, "SELECT count(*) FROM clients WHERE schema_name = $1", schema) +
		count(t, d, "SELECT count(*) FROM domains d JOIN clients c ON c.id = d.client_id WHERE c.schema_name = $1", schema)
}

// wantErr asserts that r failed with exit status code and a message
// containing msg.
func wantErr(t *testing.T, r result, code int, msg string) {
	t.Helper()
	require.Error(t, r.err, "stdout: %s", r.stdout)
	assert.Contains(t, r.err.Error(), msg)
	assert.Equal(t, code, r.code(), "exit status for %q", r.err)
}
