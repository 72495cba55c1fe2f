// Package dbtest gives each test its own freshly created and migrated
// PostgreSQL database on the server named by TEST_DATABASE_URL (default: the
// local server, user postgres), dropped when the test ends.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/migrate"
)

// DefaultURL is the server tests use when TEST_DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns the URL of the maintenance database tests connect to.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// DB is a test's own database.
type DB struct {
	URL      string
	Pool     *db.Pool
	Migrator *migrate.Migrator
}

// New creates an empty database with the public migrations applied. It is
// dropped, with any connections still open to it, when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	d := NewEmpty(t)
	if _, err := d.Migrator.MigratePublic(t.Context()); err != nil {
		t.Fatalf("migrate public: %v", err)
	}
	return d
}

// NewEmpty creates an empty database without migrating it.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	return NewEmptyOn(t, ServerURL())
}

// NewOn is New on the server at serverURL (e.g. a Cluster's).
func NewOn(t testing.TB, serverURL string) *DB {
	t.Helper()
	d := NewEmptyOn(t, serverURL)
	if _, err := d.Migrator.MigratePublic(t.Context()); err != nil {
		t.Fatalf("migrate public: %v", err)
	}
	return d
}

// NewEmptyOn is NewEmpty on the server at serverURL.
func NewEmptyOn(t testing.TB, serverURL string) *DB {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatalf("connect to test server %s: %v (is PostgreSQL running?)", serverURL, err)
	}
	defer admin.Close(ctx)

	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "tenantctl_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() { drop(t, serverURL, name) })

	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	if workers := CitusWorkers(); len(workers) > 0 && serverURL == ServerURL() {
		spanWorkers(t, u, workers)
	}
	d := &DB{URL: u.String()}
	if d.Pool, err = db.Open(ctx, d.URL, db.DefaultLimits); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Pool.Close)
	if d.Migrator, err = migrate.New(d.URL, d.Pool); err != nil {
		t.Fatal(err)
	}
	return d
}

func drop(t testing.TB, serverURL, name string) {
	// DROP DATABASE waits for a checkpoint, which takes minutes on a busy
	// machine (parallel test packages writing their own databases).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Errorf("drop test database: %v", err)
		return
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("drop test database: %v", err)
	}
}
