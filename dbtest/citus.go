package dbtest

import (
	"context"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

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
		execOn(t, wdb.String(), "CREATE EXTENSION citus")
	}
	host, port, err := net.SplitHostPort(db.Host)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL host %q: %v", db.Host, err)
	}
	p, _ := strconv.Atoi(port)
	stmts := []string{
		"CREATE EXTENSION citus",
		"SELECT citus_set_coordinator_host('" + host + "', " + strconv.Itoa(p) + ")",
	}
	for _, w := range workers {
		wh, wp, err := net.SplitHostPort(w)
		if err != nil {
			t.Fatalf("TEST_CITUS_WORKERS: %q is not host:port", w)
		}
		stmts = append(stmts, "SELECT citus_add_node('"+wh+"', "+wp+")")
	}
	stmts = append(stmts, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET citus.enable_schema_based_sharding = on")
	for _, s := range stmts {
		execOn(t, db.String(), s)
	}
}

func execOn(t testing.TB, url, sql string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
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
