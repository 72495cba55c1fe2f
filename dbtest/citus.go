package dbtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// CitusWorkers returns the workers of the Citus cluster whose coordinator
// is TEST_DATABASE_URL, from TEST_CITUS_WORKERS ("host:port,host:port"), or
// nil when the tests run on plain PostgreSQL.
func CitusWorkers() []string {
	var out []string
	for _, w := range strings.Split(os.Getenv("TEST_CITUS_WORKERS"), ",") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// spanWorkers makes the new test database db (on the coordinator) span the
// Citus cluster (SpanCitus); each worker's database is dropped when t ends.
func spanWorkers(t testing.TB, db *url.URL, workers []string) {
	t.Helper()
	drop, err := SpanCitus(context.Background(), db.String(), workers)
	t.Cleanup(func() {
		if err := drop(context.Background()); err != nil {
			t.Errorf("drop test database on the workers: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// SpanCitus makes the new database at dbURL (on a Citus coordinator) span
// the cluster, as Citus 13 does not by itself: the database and the
// extension on every worker, the workers registered in it, and schema-based
// sharding on, so that every tenant schema created afterwards is
// distributed to a worker. drop drops the workers' databases; it is not nil
// even when err is not, and drops what was created.
//
// citus.multi_task_query_log_level = error makes any query that would run on
// more than one shard fail: whatever runs on such a database (the tests,
// the benchmark) then also proves that no request, command or job reads or
// writes across tenants' nodes.
func SpanCitus(ctx context.Context, dbURL string, workers []string) (drop func(context.Context) error, err error) {
	db, err := url.Parse(dbURL)
	if err != nil {
		return func(context.Context) error { return nil }, err
	}
	name := strings.TrimPrefix(db.Path, "/")
	var created []string // maintenance database URLs of the workers
	drop = func(ctx context.Context) error {
		var errs []error
		for _, server := range created {
			errs = append(errs, dropOn(ctx, server, name))
		}
		return errors.Join(errs...)
	}
	for _, w := range workers {
		server := *db
		server.Host, server.Path = w, "/postgres"
		if err := execOn(ctx, server.String(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return drop, fmt.Errorf("create the database on Citus worker %s: %w", w, err)
		}
		created = append(created, server.String())
		wdb := server
		wdb.Path = "/" + name
		if err := execOn(ctx, wdb.String(), "CREATE EXTENSION IF NOT EXISTS citus"); err != nil {
			return drop, fmt.Errorf("Citus worker %s: %w", w, err)
		}
	}
	host, port, err := net.SplitHostPort(db.Host)
	if err != nil {
		return drop, fmt.Errorf("coordinator address %q: %w", db.Host, err)
	}
	p, _ := strconv.Atoi(port)
	stmts := []string{
		"CREATE EXTENSION IF NOT EXISTS citus",
		"SELECT citus_set_coordinator_host('" + host + "', " + strconv.Itoa(p) + ")",
	}
	for _, w := range workers {
		wh, wp, err := net.SplitHostPort(w)
		if err != nil {
			return drop, fmt.Errorf("Citus worker %q is not host:port", w)
		}
		if _, err := strconv.Atoi(wp); err != nil {
			return drop, fmt.Errorf("Citus worker %q is not host:port", w)
		}
		stmts = append(stmts, "SELECT citus_add_node("+quoteLiteral(wh)+", "+wp+")")
	}
	dbIdent := pgx.Identifier{name}.Sanitize()
	stmts = append(stmts,
		"ALTER DATABASE "+dbIdent+" SET citus.enable_schema_based_sharding = on",
		"ALTER DATABASE "+dbIdent+" SET citus.multi_task_query_log_level = error")
	for _, s := range stmts {
		if err := execOn(ctx, dbURL, s); err != nil {
			return drop, err
		}
	}
	return drop, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func dropOn(ctx context.Context, serverURL, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return execOn(ctx, serverURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// execOn runs sql on the database at url. A statement that fails is tried
// twice more, a second apart: under many parallel tests, citus_add_node now
// and then fails with "failure on connection marked as essential" while the
// worker is busy accepting the other tests' connections, and succeeds when
// tried again. Every statement here may be repeated.
func execOn(ctx context.Context, url, sql string) error {
	var err error
	for try := 0; try < 3; try++ {
		if try > 0 {
			time.Sleep(time.Second)
		}
		var c *pgx.Conn
		if c, err = pgx.Connect(ctx, url); err != nil {
			continue
		}
		_, err = c.Exec(ctx, sql)
		c.Close(ctx)
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("%s: %w", sql, err)
}

// LockCitusMoves holds, until t ends, a lock that every test process on
// this machine takes before moving tenants between Citus nodes. Citus names
// a move's replication slots on the workers by counters of the database it
// runs in ("citus_shard_move_slot_<node>_<owner>_<operation>"), so moves in
// two test databases of one cluster at once can pick the same name and fail
// ("replication slot ... already exists"). A production cluster serves one
// database and never sees this.
func LockCitusMoves(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "tenantctl-citus-moves.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("open the Citus moves lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("take the Citus moves lock: %v", err)
	}
	// Closing the file releases the lock.
	t.Cleanup(func() { f.Close() })
}

// PlainServerURL returns the plain PostgreSQL server (no Citus) that tests
// needing one next to a Citus cluster use, such as a tenant export's
// source: TEST_PLAIN_DATABASE_URL, or DefaultURL.
func PlainServerURL() string {
	if u := os.Getenv("TEST_PLAIN_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}
