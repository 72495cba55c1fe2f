// Package migrate applies the migrations of the public schema (with dbmate)
// and of tenant schemas (dbmate's file format and schema_migrations table,
// applied by this package on reused connections, one transaction per file
// with the tenant's search_path), one tenant at a time or many in parallel.
//
// Each schema is migrated under a PostgreSQL advisory lock keyed by its name,
// so overlapping runs (two `tenantctl migrate`, or a migrate and a
// `tenant create`) apply every migration exactly once.
//
// Every tenant migration file also records the schema's applied versions in
// public.tenant_migrations, in the same transaction: MigrateTenants skips the
// tenants recorded as up to date with one query, rather than reading every
// schema, and status reads no schema unless asked to verify the record.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	dbm "github.com/amacneil/dbmate/v2/pkg/dbmate"
	_ "github.com/amacneil/dbmate/v2/pkg/driver/postgres" // registers postgres:// with dbmate
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/jobs"
)

// Migrator migrates one database.
type Migrator struct {
	url  *url.URL
	pool *db.Pool
	// Public and Tenant hold the migration files, under the directories
	// "public" and "tenant". They default to the embedded migrations; tests
	// replace them.
	Public fs.FS
	Tenant fs.FS
	// SchemasPerConn is how many tenants a MigrateTenants connection
	// migrates before it is replaced: its backend keeps the catalog entries
	// of every schema it touched, as a pooled connection's does (see
	// db.Limits.Schemas). It defaults to db.DefaultLimits.Schemas.
	SchemasPerConn int
}

// New returns a Migrator for the database at directURL, which must reach
// PostgreSQL itself rather than a transaction pooler: migrations hold
// session advisory locks and run dbmate's own sessions there. pool serves
// the bookkeeping queries.
func New(directURL string, pool *db.Pool) (*Migrator, error) {
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
	return &Migrator{url: u, pool: pool, Public: dbmate.Public, Tenant: dbmate.Tenant, SchemasPerConn: db.DefaultLimits.Schemas}, nil
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

// MigratePublic applies pending public-schema migrations, with dbmate, and
// returns how many it applied. Then it applies the job queue's (River's, in
// its own schema, which a public migration creates: see package jobs),
// which it does not count.
func (m *Migrator) MigratePublic(ctx context.Context) (int, error) {
	var n int
	_, err := withConn(ctx, m, func(c *pgx.Conn) (bool, error) {
		return lockOn(ctx, c, "public", false, func() error {
			var err error
			if n, err = m.migratePublic(ctx); err != nil {
				return err
			}
			_, err = jobs.Migrate(ctx, m.pool)
			return err
		})
	})
	return n, err
}

func (m *Migrator) migratePublic(ctx context.Context) (int, error) {
	files, err := Versions(m.Public, "public")
	if err != nil {
		return 0, err
	}
	done, err := db.InPublicV(ctx, m.pool, func(q *publicdb.Queries) ([]string, error) {
		return q.AppliedMigrations(ctx)
	})
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
		return 0, nil // skip dbmate and the two connections it opens
	}
	d := m.dbmateFor(m.Public, "public", "public")
	var log strings.Builder
	d.Log = &log
	if err := d.Migrate(); err != nil {
		return 0, migrationError(log.String(), err)
	}
	return n, nil
}

// MigrateTenant applies pending tenant migrations to schema s, holding its
// lock, and returns how many it applied.
func (m *Migrator) MigrateTenant(ctx context.Context, s db.Schema) (int, error) {
	return withConn(ctx, m, func(c *pgx.Conn) (int, error) { return m.migrateTenantOn(ctx, c, s) })
}

// Lock runs fn holding schema s's migration lock, waiting while another
// migrate or provisioning of s holds it.
func (m *Migrator) Lock(ctx context.Context, s db.Schema, fn func() error) error {
	_, err := withConn(ctx, m, func(c *pgx.Conn) (bool, error) { return lockOn(ctx, c, s.String(), false, fn) })
	return err
}

// TryLock runs fn holding schema s's migration lock if it is free, and
// reports whether it ran.
func (m *Migrator) TryLock(ctx context.Context, s db.Schema, fn func() error) (bool, error) {
	return withConn(ctx, m, func(c *pgx.Conn) (bool, error) { return lockOn(ctx, c, s.String(), true, fn) })
}

// MigrateTenantHeld is MigrateTenant for a caller that already holds Lock(s).
func (m *Migrator) MigrateTenantHeld(ctx context.Context, s db.Schema) (int, error) {
	return withConn(ctx, m, func(c *pgx.Conn) (int, error) { return m.applyTenant(ctx, c, s) })
}

func (m *Migrator) appliedTenant(ctx context.Context, s db.Schema) ([]string, error) {
	return db.InTenantV(ctx, m.pool, s, func(q *tenantdb.Queries) ([]string, error) {
		return q.AppliedMigrations(ctx)
	})
}

// Migrations run on direct connections of their own, outside the pool: they
// hold session advisory locks (which a transaction pooler would not keep),
// and a job holding a pooled connection while waiting for another would
// deadlock once every pooled connection was a lock holder. One connection
// serves a MigrateTenants job for all its tenants, so a tenant with nothing
// pending costs a few statements, not a connection.

func (m *Migrator) connect(ctx context.Context) (*pgx.Conn, error) {
	return pgx.Connect(ctx, m.url.String())
}

// withConn runs fn on a fresh direct connection of m, closed afterwards, which
// also releases any advisory lock left on it.
func withConn[T any](ctx context.Context, m *Migrator, fn func(c *pgx.Conn) (T, error)) (T, error) {
	c, err := m.connect(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	return fn(c)
}

// lockOn runs fn holding the session advisory lock for name on c, waiting
// for it, or with try only if it is free; it reports whether fn ran.
func lockOn(ctx context.Context, c *pgx.Conn, name string, try bool, fn func() error) (bool, error) {
	var err error
	got := true
	if try {
		err = c.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext('tenantctl.migrate'), hashtext($1))", name).Scan(&got)
	} else {
		_, err = c.Exec(ctx, "SELECT pg_advisory_lock(hashtext('tenantctl.migrate'), hashtext($1))", name)
	}
	if err != nil || !got {
		return false, err
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := c.Exec(uctx, "SELECT pg_advisory_unlock(hashtext('tenantctl.migrate'), hashtext($1))", name); err != nil {
			// Ending the session is the other way to release the lock.
			_ = c.Close(uctx)
		}
	}()
	return true, fn()
}

// migrateTenantOn migrates s on c under s's lock.
func (m *Migrator) migrateTenantOn(ctx context.Context, c *pgx.Conn, s db.Schema) (int, error) {
	var n int
	_, err := lockOn(ctx, c, s.String(), false, func() error {
		var err error
		n, err = m.applyTenant(ctx, c, s)
		return err
	})
	return n, err
}

// applyTenant applies the pending tenant migrations to s on c, each file in
// one transaction scoped to s that first reads the applied versions (so a
// run with one file pending costs one transaction) and then runs the file,
// in dbmate's file format, a statement at a time (see splitStatements), and
// records its version in schema_migrations and the schema's versions in
// public.tenant_migrations. The pending files are linted before any is
// applied (a *LintError refuses them all). With nothing pending it records
// the versions it found: MigrateTenants visits such a tenant only when its
// record is missing or stale (a tenant migrated by an older release, or by
// hand). The caller holds s's lock.
func (m *Migrator) applyTenant(ctx context.Context, c *pgx.Conn, s db.Schema) (int, error) {
	for n := 0; ; n++ {
		var name string
		last := false
		err := db.OnConn(ctx, c, s, func(tx pgx.Tx) error {
			applied, err := appliedOn(ctx, tx)
			if err != nil {
				return err
			}
			pending, err := m.pendingTenant(applied, nil)
			switch {
			case err != nil:
				return err
			case len(pending) == 0:
				last = true
				if n > 0 || len(applied) == 0 {
					return nil
				}
				return record(ctx, tx, applied)
			}
			name, last = pending[0].name, len(pending) == 1
			return applyFile(ctx, tx, pending[0], applied)
		})
		switch {
		case err != nil && name != "":
			return n, fmt.Errorf("migration %s: %w", name, err)
		case err != nil:
			return n, err
		case last && name != "":
			return n + 1, nil
		case last:
			return n, nil
		}
	}
}

// ApplyTenantTx applies tenant migrations in tx, whose search_path the
// caller has set to the tenant's schema alone (db.Span.Tenant), all in that
// one transaction: the files not yet applied there whose versions are in
// only, or all of them for a nil only. Package transfer builds an imported
// tenant's schema with it, first up to the archive's versions and then,
// after loading the rows, the rest. The files are linted first, as
// MigrateTenant lints them (a *LintError, nothing applied). The caller
// holds the schema's lock (Lock). It returns how many files it applied.
func (m *Migrator) ApplyTenantTx(ctx context.Context, tx pgx.Tx, only []string) (int, error) {
	applied, err := appliedOn(ctx, tx)
	if err != nil {
		return 0, err
	}
	pending, err := m.pendingTenant(applied, only)
	if err != nil {
		return 0, err
	}
	for i, mig := range pending {
		if err := applyFile(ctx, tx, mig, applied); err != nil {
			return i, fmt.Errorf("migration %s: %w", mig.name, err)
		}
		applied = append(applied, mig.version)
	}
	return len(pending), nil
}

// TenantVersions lists the versions of m's tenant migration files, in order.
func (m *Migrator) TenantVersions() ([]string, error) {
	return Versions(m.Tenant, "tenant")
}

// appliedOn reads the versions applied to the schema tx's search_path
// names, making its schema_migrations table if it has none yet (as
// applyFile would): a failing read would abort the caller's transaction,
// and a savepoint to contain it is what Citus handles worst.
func appliedOn(ctx context.Context, tx pgx.Tx) ([]string, error) {
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version varchar PRIMARY KEY)"); err != nil {
		return nil, err
	}
	rows, _ := tx.Query(ctx, "SELECT version FROM schema_migrations")
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// tenantFile is one parsed tenant migration file.
type tenantFile struct {
	name, version string
	sections      []*dbm.ParsedMigration
}

// pendingTenant parses the tenant migration files not in applied (and, if
// only is not nil, in only), in version order, and lints them: a
// *LintError refuses them all, so a refused one leaves the schema as it was
// (see LintTenant).
func (m *Migrator) pendingTenant(applied, only []string) ([]tenantFile, error) {
	files, err := fs.ReadDir(m.Tenant, "tenant")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var pending []tenantFile
	var names []string
	for _, f := range files { // ReadDir sorts by name, so by version
		v := versionPattern.FindStringSubmatch(f.Name())
		if v == nil || f.IsDir() || slices.Contains(applied, v[1]) || (only != nil && !slices.Contains(only, v[1])) {
			continue
		}
		mig := dbm.Migration{FileName: f.Name(), FilePath: path.Join("tenant", f.Name()), FS: m.Tenant, Version: v[1]}
		sections, err := mig.Parse()
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", f.Name(), err)
		}
		pending = append(pending, tenantFile{f.Name(), v[1], sections})
		names = append(names, f.Name())
	}
	if err := lintTenantFiles(m.Tenant, "tenant", names); err != nil {
		return nil, err
	}
	return pending, nil
}

// applyFile runs mig's statements in tx, whose search_path is the tenant's,
// and records its version, in schema_migrations and, with the versions
// applied before it, in public.tenant_migrations. appliedOn has read
// applied in tx (and made schema_migrations if it had to).
func applyFile(ctx context.Context, tx pgx.Tx, mig tenantFile, applied []string) error {
	for _, sec := range mig.sections {
		if !sec.UpOptions.Transaction() {
			// Its search_path could not be scoped to a transaction
			// (the linter refuses it before; this is the backstop).
			return errors.New("tenant migrations must run in a transaction: remove transaction:false")
		}
		for _, stmt := range splitStatements(sec.Up) {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", mig.version); err != nil {
		return err
	}
	return record(ctx, tx, append(slices.Clip(applied), mig.version))
}

// record writes versions, the versions applied to the schema of tx's
// search_path, to public.tenant_migrations, in tx: in the transaction that
// changed them, so that a crash keeps both or neither.
func record(ctx context.Context, tx pgx.Tx, versions []string) error {
	versions = slices.Sorted(slices.Values(versions))
	return publicdb.New(tx).SetTenantMigrations(ctx, versions)
}

// LintTenants lints every tenant migration file of m (LintTenantDir),
// applied or not: a new tenant gets them all, and an older file the linter
// refuses is rewritten in place, as nothing records a file's contents. It
// returns a *LintError, an error reading the files, or nil.
func (m *Migrator) LintTenants() error {
	return LintTenantDir(m.Tenant, "tenant")
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

// Progress is what MigrateTenants reports after each tenant it visits.
type Progress struct {
	Done   int    // tenants visited so far, this one included
	Total  int    // tenants to visit: those not recorded as up to date
	Result Result // this tenant's
}

// MigrateTenants migrates every schema in schemas with up to jobs at once.
// A failing tenant does not stop the others. progress, if not nil, is called
// after each tenant visited, from one goroutine at a time. Results are in the
// order of schemas.
//
// It lints every tenant migration file first, once (see LintTenants): if
// the linter refuses one, every result carries that *LintError and no
// tenant is touched. Then one query on public.tenant_migrations finds the
// tenants whose recorded versions are the files' versions: they are not
// visited (their result is up to date: nothing applied, no error), so a run
// with nothing pending reads no schema. Each job's connection is replaced
// after SchemasPerConn tenants.
func (m *Migrator) MigrateTenants(ctx context.Context, schemas []db.Schema, jobs int, progress func(Progress)) []Result {
	if jobs < 1 {
		jobs = 1
	}
	results := make([]Result, len(schemas))
	for i, s := range schemas {
		results[i] = Result{Schema: s}
	}
	fail := func(err error) []Result {
		for i := range results {
			results[i].Err = err
		}
		return results
	}
	if err := m.LintTenants(); err != nil {
		return fail(err)
	}
	visit, err := m.notUpToDate(ctx, schemas)
	if err != nil {
		return fail(fmt.Errorf("read public.tenant_migrations: %w", err))
	}
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range min(jobs, len(visit)) {
		wg.Go(func() {
			// One connection for many of this job's tenants, replaced if
			// it breaks, and after SchemasPerConn tenants.
			var c *pgx.Conn
			used := 0
			closeConn := func() {
				if c != nil {
					c.Close(context.WithoutCancel(ctx))
				}
				c, used = nil, 0
			}
			defer closeConn()
			for i := range next {
				start := time.Now()
				var n int
				var err error
				if c != nil && (c.IsClosed() || used >= m.SchemasPerConn) {
					closeConn()
				}
				if c == nil {
					c, err = m.connect(ctx)
				}
				if err == nil {
					used++
					n, err = m.migrateTenantOn(ctx, c, schemas[i])
				}
				r := Result{Schema: schemas[i], Applied: n, Err: err, Duration: time.Since(start)}
				results[i] = r
				mu.Lock()
				done++
				if progress != nil {
					progress(Progress{Done: done, Total: len(visit), Result: r})
				}
				mu.Unlock()
			}
		})
	}
	for _, i := range visit {
		if ctx.Err() != nil {
			results[i].Err = ctx.Err()
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// notUpToDate returns the indexes of the schemas that
// public.tenant_migrations does not record as having exactly the tenant
// migration files applied, in order: all of them before the public
// migration that makes the table.
func (m *Migrator) notUpToDate(ctx context.Context, schemas []db.Schema) ([]int, error) {
	files, err := m.TenantVersions()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(schemas))
	for i, s := range schemas {
		names[i] = s.String()
	}
	current, err := db.InPublicV(ctx, m.pool, func(q *publicdb.Queries) ([]string, error) {
		return q.UpToDateTenants(ctx, publicdb.UpToDateTenantsParams{Schemas: names, Versions: files})
	})
	if err != nil && !isUndefinedTable(err) {
		return nil, err
	}
	skip := make(map[string]bool, len(current))
	for _, n := range current {
		skip[n] = true
	}
	var visit []int
	for i, n := range names {
		if !skip[n] {
			visit = append(visit, i)
		}
	}
	return visit, nil
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

// Recorded returns the versions public.tenant_migrations records as
// applied to each tenant's schema (sorted), by schema name; a tenant with
// none recorded is missing. It reads no tenant schema. Before the public
// migration that makes the table, it returns an empty map.
func (m *Migrator) Recorded(ctx context.Context) (map[string][]string, error) {
	rows, err := db.InPublicV(ctx, m.pool, func(q *publicdb.Queries) ([]publicdb.TenantMigrationsRow, error) {
		return q.TenantMigrations(ctx)
	})
	if err != nil && !isUndefinedTable(err) {
		return nil, err
	}
	rec := make(map[string][]string, len(rows))
	for _, r := range rows {
		rec[r.SchemaName] = r.Versions
	}
	return rec, nil
}

// RecordedStatus is the status of a tenant whose schema has versions
// applied, as Recorded returns them.
func (m *Migrator) RecordedStatus(versions []string) (Status, error) {
	return m.status(m.Tenant, "tenant", versions, nil)
}

func (m *Migrator) status(fsys fs.FS, dir string, applied []string, err error) (Status, error) {
	if err != nil && !isUndefinedTable(err) {
		return Status{}, err
	}
	files, err := Versions(fsys, dir)
	if err != nil {
		return Status{}, err
	}
	// In byte order, as Versions and Recorded: the database's collation
	// may order them otherwise.
	st := Status{Applied: slices.Sorted(slices.Values(applied))}
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
