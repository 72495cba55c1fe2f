package dbtest

import (
	"context"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
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
// Citus cluster, as Citus 13 does not by itself: the database and the
// extension on every worker, the workers registered in it, and schema-based
// sharding on, so that every tenant schema created afterwards is
// distributed to a worker. Each worker's database is dropped when t ends.
func spanWorkers(t testing.TB, db *url.URL, workers []string) {
	t.Helper()
	ctx := context.Background()
	name := strings.TrimPrefix(db.Path, "/")
	for _, w := range workers {
		server := *db
		server.Host, server.Path = w, "/postgres"
		admin, err := pgx.Connect(ctx, server.String())
		if err != nil {
			t.Fatalf("connect to Citus worker %s: %v", w, err)
		}
		_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		admin.Close(ctx)
		if err != nil {
			t.Fatalf("create test database on worker %s: %v", w, err)
		}
		serverURL := server.String()
		t.Cleanup(func() { drop(t, serverURL, name) })
		wdb := server
		wdb.Path = "/" + name
		execOn(t, wdb.String(), "CREATE EXTENSION IF NOT EXISTS citus")
	}
	host, port, err := net.SplitHostPort(db.Host)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL host %q: %v", db.Host, err)
	}
	p, _ := strconv.Atoi(port)
	stmts := []string{
		"CREATE EXTENSION IF NOT EXISTS citus",
		"SELECT citus_set_coordinator_host('" + host + "', " + strconv.Itoa(p) + ")",
	}
	for _, w := range workers {
		wh, wp, err := net.SplitHostPort(w)
		if err != nil {
			t.Fatalf("TEST_CITUS_WORKERS: %q is not host:port", w)
		}
		stmts = append(stmts, "SELECT citus_add_node('"+wh+"', "+wp+")")
	}
	// multi_task_query_log_level = error fails any query that would run on
	// more than one shard: every test on the cluster then also proves that
	// no request, command or job reads or writes across tenants' nodes.
	dbIdent := pgx.Identifier{name}.Sanitize()
	stmts = append(stmts,
		"ALTER DATABASE "+dbIdent+" SET citus.enable_schema_based_sharding = on",
		"ALTER DATABASE "+dbIdent+" SET citus.multi_task_query_log_level = error")
	for _, s := range stmts {
		execOn(t, db.String(), s)
	}
}

// execOn runs sql on the database at url. A statement that fails is tried
// twice more, a second apart: under many parallel tests, citus_add_node now
// and then fails with "failure on connection marked as essential" while the
// worker is busy accepting the other tests' connections, and succeeds when
// tried again. Every statement here may be repeated.
func execOn(t testing.TB, url, sql string) {
	t.Helper()
	ctx := context.Background()
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
			return
		}
	}
	t.Fatalf("%s on %s: %v", sql, url, err)
}
