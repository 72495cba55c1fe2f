// Package migrate applies the dbmate migrations to the public schema and to
// tenant schemas, one tenant at a time or many in parallel.
//
// Each schema is migrated under a PostgreSQL advisory lock keyed by its name,
// so overlapping runs (two `tenantctl migrate`, or a migrate and a
// `tenant create`) apply every migration exactly once.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	dbm "github.com/amacneil/dbmate/v2/pkg/dbmate"
	_ "github.com/amacneil/dbmate/v2/pkg/driver/postgres" // registers postgres:// with dbmate
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/dbmate"
)

// Migrator migrates one database.
type Migrator struct {
	url  *url.URL
	pool *pgxpool.Pool
	// Public and Tenant hold the migration files, under the directories
	// "public" and "tenant". They default to the embedded migrations; tests
	// replace them.
	Public fs.FS
	Tenant fs.FS
}

// New returns a Migrator for the database at directURL, which must reach
// PostgreSQL itself rather than a transaction pooler: migrations hold
// session advisory locks and run dbmate's own sessions there. pool serves
// the bookkeeping queries.
func New(directURL string, pool *pgxpool.Pool) (*Migrator, error) {
	u, err := url.Parse(directURL)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("DATABASE_URL must be a postgres:// URL, not %q", u.Scheme)
	}
	u.Scheme = "postgres"
	q := u.Query()
	for k := range q {
		// Settings of pgx's pool and exec mode: lib/pq (dbmate's driver) and
		// a plain connection would send them to the server as parameters.
		if strings.HasPrefix(k, "pool_") || k == "default_query_exec_mode" || k == "statement_cache_capacity" || k == "description_cache_capacity" {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return &Migrator{url: u, pool: pool, Public: dbmate.Public, Tenant: dbmate.Tenant}, nil
}

// dbmateFor returns a dbmate instance whose connections use searchPath alone.
func (m *Migrator) dbmateFor(fsys fs.FS, dir, searchPath string) *dbm.DB {
	u := *m.url
	q := u.Query()
	q.Set("search_path", searchPath)
	u.RawQuery = q.Encode()
	d := dbm.New(&u)
	d.FS = fsys
	d.MigrationsDir = []string{dir}
	d.AutoDumpSchema = false
	return d
}

// MigratePublic applies pending public-schema migrations and returns how many
// it applied.
func (m *Migrator) MigratePublic(ctx context.Context) (int, error) {
	var n int
	err := m.withLock(ctx, "public", func() error {
		var err error
		n, err = m.migrate(ctx, m.Public, "public", "public", func(ctx context.Context) ([]string, error) {
			return db.InPublicV(ctx, m.pool, func(q *publicdb.Queries) ([]string, error) {
				return q.AppliedMigrations(ctx)
			})
		})
		return err
	})
	return n, err
}

// MigrateTenant applies pending tenant migrations to schema s, holding its
// lock, and returns how many it applied.
func (m *Migrator) MigrateTenant(ctx context.Context, s db.Schema) (int, error) {
	var n int
	err := m.Lock(ctx, s, func() error {
		var err error
		n, err = m.MigrateTenantHeld(ctx, s)
		return err
	})
	return n, err
}

// Lock runs fn holding schema s's migration lock, waiting while another
// migrate or provisioning of s holds it.
func (m *Migrator) Lock(ctx context.Context, s db.Schema, fn func() error) error {
	return m.withLock(ctx, s.String(), fn)
}

// TryLock runs fn holding schema s's migration lock if it is free, and
// reports whether it ran.
func (m *Migrator) TryLock(ctx context.Context, s db.Schema, fn func() error) (bool, error) {
	ran := false
	err := m.lockWith(ctx, s.String(), "pg_try_advisory_lock", func() error {
		ran = true
		return fn()
	})
	return ran, err
}

// MigrateTenantHeld is MigrateTenant for a caller that already holds Lock(s).
// The schema is created if it does not exist.
func (m *Migrator) MigrateTenantHeld(ctx context.Context, s db.Schema) (int, error) {
	return m.migrate(ctx, m.Tenant, "tenant", s.String(), func(ctx context.Context) ([]string, error) {
		return m.appliedTenant(ctx, s)
	})
}

func (m *Migrator) appliedTenant(ctx context.Context, s db.Schema) ([]string, error) {
	return db.InTenantV(ctx, m.pool, s, func(q *tenantdb.Queries) ([]string, error) {
		return q.AppliedMigrations(ctx)
	})
}

// migrate applies the migrations in dir of fsys to searchPath. The caller
// holds the schema's lock.
func (m *Migrator) migrate(ctx context.Context, fsys fs.FS, dir, searchPath string, applied func(context.Context) ([]string, error)) (int, error) {
	files, err := Versions(fsys, dir)
	if err != nil {
		return 0, err
	}
	done, err := applied(ctx)
	if err != nil && !isUndefinedTable(err) {
		return 0, err
	}
	n := 0
	for _, v := range files {
		if !slices.Contains(done, v) {
			n++
		}
	}
	if n == 0 {
		// Nothing pending: skip dbmate and the two connections it opens.
		return 0, nil
	}
	d := m.dbmateFor(fsys, dir, searchPath)
	var log strings.Builder
	d.Log = &log
	if err := d.Migrate(); err != nil {
		return 0, migrationError(log.String(), err)
	}
	return n, nil
}

// withLock runs fn holding the session advisory lock for name on one pooled
// connection, waiting for another holder to finish first.
func (m *Migrator) withLock(ctx context.Context, name string, fn func() error) error {
	return m.lockWith(ctx, name, "pg_advisory_lock", fn)
}

// lockWith takes the lock with lockFunc (pg_advisory_lock, which waits, or
// pg_try_advisory_lock, which may not get it) and runs fn only if it got it.
//
// The lock lives on a connection of its own, outside the pool: fn needs
// pooled connections for its own work, and holding a pooled one while
// waiting for another would deadlock as soon as every pooled connection is
// a lock holder (jobs >= pool size).
func (m *Migrator) lockWith(ctx context.Context, name, lockFunc string, fn func() error) error {
	c, err := pgx.Connect(ctx, m.url.String())
	if err != nil {
		return err
	}
	// Closing the session releases its advisory locks, whatever happened.
	defer c.Close(context.WithoutCancel(ctx))
	got := true
	if lockFunc == "pg_try_advisory_lock" {
		err = c.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext('tenantctl.migrate'), hashtext($1))", name).Scan(&got)
	} else {
		_, err = c.Exec(ctx, "SELECT pg_advisory_lock(hashtext('tenantctl.migrate'), hashtext($1))", name)
	}
	if err != nil {
		return err
	}
	if !got {
		return nil
	}
	return fn()
}

var versionPattern = regexp.MustCompile(`^(\d+).*\.sql$`)

// Versions lists the migration versions in dir of fsys, in order.
func Versions(fsys fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var vs []string
	for _, e := range entries {
		if m := versionPattern.FindStringSubmatch(e.Name()); m != nil && !e.IsDir() {
			vs = append(vs, m[1])
		}
	}
	slices.Sort(vs)
	return vs, nil
}

// Result is the outcome of migrating one tenant.
type Result struct {
	Schema   db.Schema
	Applied  int
	Err      error
	Duration time.Duration
}

// MigrateTenants migrates every schema in schemas with up to jobs at once.
// A failing tenant does not stop the others. progress, if not nil, is called
// after each tenant, from one goroutine at a time. Results are in the order
// of schemas.
func (m *Migrator) MigrateTenants(ctx context.Context, schemas []db.Schema, jobs int, progress func(done int, r Result)) []Result {
	if jobs < 1 {
		jobs = 1
	}
	results := make([]Result, len(schemas))
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range min(jobs, len(schemas)) {
		wg.Go(func() {
			for i := range next {
				start := time.Now()
				n, err := m.MigrateTenant(ctx, schemas[i])
				r := Result{Schema: schemas[i], Applied: n, Err: err, Duration: time.Since(start)}
				results[i] = r
				mu.Lock()
				done++
				if progress != nil {
					progress(done, r)
				}
				mu.Unlock()
			}
		})
	}
	for i := range schemas {
		if ctx.Err() != nil {
			results[i] = Result{Schema: schemas[i], Err: ctx.Err()}
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// Status describes one schema's migrations.
type Status struct {
	Applied []string // versions applied, in order
	Pending []string // versions in the files not yet applied
	Unknown []string // versions applied that no file has: drift
	// OutOfOrder lists pending versions older than the newest applied one:
	// a migration added behind others, which dbmate will still apply.
	OutOfOrder []string
}

// Latest returns the newest applied version, or "" for none.
func (s Status) Latest() string {
	if len(s.Applied) == 0 {
		return ""
	}
	return s.Applied[len(s.Applied)-1]
}

// Drift reports whether the schema's history disagrees with the files.
func (s Status) Drift() bool { return len(s.Unknown) > 0 || len(s.OutOfOrder) > 0 }

// PublicStatus reports the public schema's migrations.
func (m *Migrator) PublicStatus(ctx context.Context) (Status, error) {
	applied, err := db.InPublicV(ctx, m.pool, func(q *publicdb.Queries) ([]string, error) {
		return q.AppliedMigrations(ctx)
	})
	return m.status(m.Public, "public", applied, err)
}

// TenantStatus reports schema s's migrations.
func (m *Migrator) TenantStatus(ctx context.Context, s db.Schema) (Status, error) {
	applied, err := m.appliedTenant(ctx, s)
	return m.status(m.Tenant, "tenant", applied, err)
}

func (m *Migrator) status(fsys fs.FS, dir string, applied []string, err error) (Status, error) {
	if err != nil && !isUndefinedTable(err) {
		return Status{}, err
	}
	files, err := Versions(fsys, dir)
	if err != nil {
		return Status{}, err
	}
	st := Status{Applied: applied}
	for _, v := range files {
		if !slices.Contains(applied, v) {
			st.Pending = append(st.Pending, v)
			if v < st.Latest() {
				st.OutOfOrder = append(st.OutOfOrder, v)
			}
		}
	}
	for _, v := range applied {
		if !slices.Contains(files, v) {
			st.Unknown = append(st.Unknown, v)
		}
	}
	return st, nil
}

func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000")
}

// migrationError names the migration file that failed (the last one dbmate
// logged as applying) and keeps the first line of dbmate's message.
func migrationError(log string, err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i > 0 {
		msg = msg[:i]
	}
	file := ""
	for _, line := range strings.Split(log, "\n") {
		if f, ok := strings.CutPrefix(line, "Applying: "); ok {
			file = f
		}
	}
	if file == "" {
		return fmt.Errorf("migrate: %s", msg)
	}
	return fmt.Errorf("migration %s: %s", file, msg)
}
