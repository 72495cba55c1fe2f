package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/migrate"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/token"
)

// The application_name of each kind of connection to the benchmark
// database, by which backendMemory tells the server's backends apart.
const (
	appSetup   = "tenantctl_bench_setup"
	appServer  = "tenantctl_bench_server"
	appCeiling = "tenantctl_bench_ceiling"
)

// Every tenant's admin user; the load signs in as them.
const (
	adminUsername = "admin"
	adminPassword = "bench-password"
)

// tenant is one provisioned tenant, as the load uses it.
type tenant struct {
	schema db.Schema
	host   string // its domain, sent as the Host header
	userID int64  // the admin's id, for the ceiling's GetActiveUser
	token  string // the admin's access token
	// apiKey is an API key of the admin (scope read), made only when the
	// profile-apikey scenario runs.
	apiKey string
}

// runner holds the benchmark database and the tenants provisioned so far,
// which each tenant count reuses and extends.
type runner struct {
	cfg Config
	log io.Writer // progress

	dbName    string
	pgVersion string
	// dropWorkers drops the database on the Citus workers (-target citus).
	dropWorkers func(context.Context) error
	secret      string // the server's SECRET_KEY, the same for every start
	pool        *db.Pool
	migrator    *migrate.Migrator
	prov        *provision.Service
	bulk        *bulkProvisioner // made on first use (-bulk-setup)

	tenants []*tenant
	// sample holds the tenant create latencies of the tenants created one
	// at a time.
	sample []time.Duration
	// poolMaxConns is the pool size the server and the ceiling ran with.
	poolMaxConns int32
}

// newRunner creates the benchmark database, migrates its public schema and
// connects to it. The caller must close the runner, which drops the
// database unless cfg.Keep.
func newRunner(ctx context.Context, cfg Config, log io.Writer) (*runner, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, log: log, dbName: "tenantctl_bench_" + hex.EncodeToString(b[:6]), secret: hex.EncodeToString(b)}

	if cfg.Reuse != "" {
		r.dbName = cfg.Reuse
		if err := r.open(ctx); err != nil {
			r.close()
			return nil, err
		}
		if err := r.loadTenants(ctx); err != nil {
			r.close()
			return nil, fmt.Errorf("-reuse %s: %w", cfg.Reuse, err)
		}
		fmt.Fprintf(log, "reusing database %s: %d tenants\n", r.dbName, len(r.tenants))
		return r, nil
	}
	admin, err := pgx.Connect(ctx, cfg.ServerURL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w (is PostgreSQL running?)", cfg.ServerURL, err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{r.dbName}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create the benchmark database: %w", err)
	}
	fmt.Fprintf(log, "created database %s\n", r.dbName)
	if cfg.Target == "citus" {
		r.dropWorkers, err = dbtest.SpanCitus(ctx, r.url(appSetup), cfg.CitusWorkers)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("span the Citus cluster: %w", err)
		}
		fmt.Fprintf(log, "the database spans the Citus workers %s\n", strings.Join(cfg.CitusWorkers, ", "))
	}
	if err := r.open(ctx); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// open connects the setup pool, migrates the public schema and builds the
// provisioning service, as tenantctl does.
func (r *runner) open(ctx context.Context) error {
	// Room for every provisioning or migration job without queueing for a
	// pooled connection (as tenantctl migrate --jobs sizes its pool).
	setupURL := r.url(appSetup) + "&pool_max_conns=" + strconv.Itoa(max(4, r.cfg.ProvisionJobs, r.cfg.MigrateJobs))
	var err error
	if r.pool, err = db.Open(ctx, setupURL, db.DefaultLimits); err != nil {
		return err
	}
	if r.migrator, err = migrate.New(setupURL, r.pool); err != nil {
		return err
	}
	if _, err := r.migrator.MigratePublic(ctx); err != nil {
		return fmt.Errorf("migrate public: %w", err)
	}
	r.prov = provision.New(r.pool, r.migrator, password.NewHasher(0))
	return r.pool.QueryRow(ctx, "SHOW server_version").Scan(&r.pgVersion)
}

// loadTenants reads the tenants of a database kept by an earlier run
// (-reuse): t1 ... tN, each with its admin (the first user of its schema,
// checked on the first and the last) and an access token minted anew with
// this run's SECRET_KEY, as the bulk path mints them. Their API keys were
// never stored: the profile-apikey scenario makes new ones over HTTP.
func (r *runner) loadTenants(ctx context.Context) error {
	rows, _ := r.pool.Query(ctx, `SELECT c.id, c.schema_name, d.domain, c.schema_name::regnamespace::oid::bigint
FROM public.clients c JOIN public.domains d ON d.client_id = c.id AND d.is_primary
WHERE c.schema_name ~ '^t[0-9]+$' AND c.state = 'ready' AND c.deleted_at IS NULL ORDER BY substr(c.schema_name, 2)::int`)
	issuer := token.NewIssuer(r.secret, 24*time.Hour, refreshTTL)
	for rows.Next() {
		var id, oid int64
		var name, host string
		if err := rows.Scan(&id, &name, &host, &oid); err != nil {
			return err
		}
		if name != tenantName(len(r.tenants)) {
			rows.Close()
			return fmt.Errorf("the tenants are not t1 ... tN: %s follows %d tenants", name, len(r.tenants))
		}
		pair, err := issuer.IssuePair(token.User{ID: 1, Username: adminUsername, Email: adminUsername + "@" + host, Tenant: name, TenantID: id}, uuid.Nil)
		if err != nil {
			rows.Close()
			return err
		}
		r.tenants = append(r.tenants, &tenant{schema: db.MustParseSchema(name).Pin(id, oid), host: host, userID: 1, token: pair.Access})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(r.tenants) == 0 {
		return errors.New("no tenants t1 ... tN")
	}
	if want := slices.Max(r.cfg.Tenants); want != len(r.tenants) {
		return fmt.Errorf("it holds %d tenants, and -tenants asks for %d at most", len(r.tenants), want)
	}
	for _, t := range []*tenant{r.tenants[0], r.tenants[len(r.tenants)-1]} {
		var id int64
		err := r.inSchema(ctx, t.schema, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT id FROM users WHERE username = $1", adminUsername).Scan(&id)
		})
		if err != nil || id != 1 {
			return fmt.Errorf("%s: the admin is not user 1 (id %d, %v)", t.schema, id, err)
		}
	}
	return nil
}

// url is the benchmark database's URL for connections named app.
func (r *runner) url(app string) string {
	u, _ := url.Parse(r.cfg.ServerURL) // parseConfig checked it
	u.Path = "/" + r.dbName
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}

// close disconnects and drops the benchmark database (unless -keep), even
// after the run's context ended.
func (r *runner) close() {
	if r.pool != nil {
		r.pool.Close()
	}
	if r.cfg.Keep || r.cfg.Reuse != "" {
		fmt.Fprintf(r.log, "kept database %s\n", r.dbName)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if r.dropWorkers != nil {
		if err := r.dropWorkers(ctx); err != nil {
			fmt.Fprintf(r.log, "could not drop database %s on the workers: %v\n", r.dbName, err)
		}
	}
	admin, err := pgx.Connect(ctx, r.cfg.ServerURL)
	if err == nil {
		defer admin.Close(ctx)
		_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{r.dbName}.Sanitize()+" WITH (FORCE)")
	}
	if err != nil {
		fmt.Fprintf(r.log, "could not drop database %s: %v\n", r.dbName, err)
		return
	}
	fmt.Fprintf(r.log, "dropped database %s\n", r.dbName)
}

// provision brings the tenants up to n, each with its admin user and
// cfg.Items items. Tenants numbered below cfg.ProvisionSample are created
// one at a time through provision.CreateTenant, their latency recorded; the
// rest cfg.ProvisionJobs at a time, in bulk (bulk.go) with -bulk-setup, or
// through CreateTenant. The reported time covers tenant create and, for
// bulk tenants, their seeding too (done in the same transactions).
func (r *runner) provision(ctx context.Context, n int) (Provision, error) {
	p := Provision{Jobs: r.cfg.ProvisionJobs, Bulk: r.cfg.BulkSetup}
	from := len(r.tenants)
	if n <= from {
		return p, nil
	}
	p.New = n - from
	fmt.Fprintf(r.log, "   provisioning %d tenants ...\n", p.New)
	r.tenants = append(r.tenants, make([]*tenant, p.New)...)
	start := time.Now()
	serial := min(n, max(from, r.cfg.ProvisionSample))
	p.Serial = serial - from
	for i := from; i < serial; i++ {
		t0 := time.Now()
		t, err := r.createTenant(ctx, i)
		if err != nil {
			return p, err
		}
		r.sample = append(r.sample, time.Since(t0))
		r.tenants[i] = t
	}
	var err error
	if r.cfg.BulkSetup {
		err = r.bulkCreate(ctx, serial, n)
	} else {
		err = forEach(ctx, r.cfg.ProvisionJobs, n-serial, func(ctx context.Context, k int) error {
			t, err := r.createTenant(ctx, serial+k)
			r.tenants[serial+k] = t
			return err
		})
	}
	if err != nil {
		return p, err
	}
	elapsed := time.Since(start)
	p.Seconds, p.PerSecond = round3(elapsed.Seconds()), round3(float64(p.New)/elapsed.Seconds())
	err = forEach(ctx, r.cfg.ProvisionJobs, p.New, func(ctx context.Context, k int) error {
		if t := r.tenants[from+k]; t.userID == 0 {
			return r.seed(ctx, t)
		}
		return nil // seeded in bulk
	})
	return p, err
}

// bulkCreate creates tenants from..to-1 in bulk, bulkBatch per transaction,
// cfg.ProvisionJobs transactions at a time, with progress every 10 s.
func (r *runner) bulkCreate(ctx context.Context, from, to int) error {
	if from >= to {
		return nil
	}
	if r.bulk == nil {
		var err error
		if r.bulk, err = newBulkProvisioner(ctx, r.pool, r.migrator, r.cfg.Items, r.secret, slices.Contains(r.cfg.Scenarios, apiKeyScenario)); err != nil {
			return err
		}
	}
	// The bulk transactions get their own connections, each replaced after
	// bulkConnTenants tenants: a backend keeps a cache entry for every
	// relation it created, and the invalidations every job's DDL sends
	// cost each backend more as its caches grow. Tenant-specific
	// statements are off (Plans 0): each tenant's are used once.
	pool, err := db.Open(ctx, r.url(appSetup)+"&pool_max_conns="+strconv.Itoa(r.cfg.ProvisionJobs), db.Limits{Schemas: bulkConnTenants})
	if err != nil {
		return err
	}
	defer pool.Close()
	r.bulk.pool = pool
	batches := (to - from + bulkBatch - 1) / bulkBatch
	var done atomic.Int64
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Second):
				d := done.Load()
				fmt.Fprintf(r.log, "   bulk: %d of %d tenants, %.0f/s\n", d, to-from, float64(d)/time.Since(start).Seconds())
			}
		}
	}()
	return forEach(ctx, r.cfg.ProvisionJobs, batches, func(ctx context.Context, b int) error {
		lo := from + b*bulkBatch
		hi := min(to, lo+bulkBatch)
		ts, err := r.bulk.create(ctx, lo, hi)
		if err != nil {
			return err
		}
		copy(r.tenants[lo:hi], ts)
		if d := done.Add(int64(len(ts))); d/vacuumEvery != (d-int64(len(ts)))/vacuumEvery {
			return r.vacuumCatalogs(ctx)
		}
		return nil
	})
}

// vacuumEvery is how many bulk tenants pass between two looks at the
// catalogs' dead rows (vacuumCatalogs).
const vacuumEvery = 1000

// vacuumCatalogs vacuums the catalogs and public tables with more than 5%
// of dead rows: every tenant's DDL leaves dead catalog rows behind (about
// 30 in pg_class alone), and where autovacuum is off (this machine's CI
// setting) the bulk setup slowed from 21 to 11 tenants a second within
// 4,000 tenants of a VACUUM, at 12% dead rows in pg_class, every catalog
// lookup wading through them. Autovacuum's default threshold, 20%, is too
// late for this rate of DDL. The jobs go on meanwhile: VACUUM takes no lock
// that DDL waits for, and skips the pages all-visible since the last one.
func (r *runner) vacuumCatalogs(ctx context.Context) error {
	rows, _ := r.pool.Query(ctx, `SELECT format('%I.%I', schemaname, relname) FROM pg_stat_all_tables
WHERE schemaname IN ('pg_catalog', 'public') AND n_dead_tup > 50 + 0.05 * n_live_tup ORDER BY 1`)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		return err
	}
	if _, err := r.pool.Exec(ctx, "VACUUM "+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("vacuum %s: %w", strings.Join(tables, ", "), err)
	}
	return nil
}

// settle vacuums and analyzes the catalogs and the public schema before a
// measurement, and then checkpoints: provisioning and the previous count's
// load leave catalogs grown by hundreds of thousands of rows for
// autovacuum and a checkpoint's worth of WAL, which would otherwise run
// during the load (competing for the CPUs and the disk; the checkpoint
// after provisioning 10,000 tenants spent 21 s in fsync) and make the
// figures depend on their timing. The tenants' own tables were analyzed as
// they were seeded (seedTx): a VACUUM of the whole database took 18 minutes
// at 100,000 tenants.
func (r *runner) settle(ctx context.Context) error {
	start := time.Now()
	rows, _ := r.pool.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname IN ('pg_catalog', 'public') ORDER BY 1`)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, sql := range []string{"VACUUM (ANALYZE) " + strings.Join(tables, ", "), "CHECKPOINT"} {
		if _, err := r.pool.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%.40s: %w", sql, err)
		}
	}
	fmt.Fprintf(r.log, "   vacuumed and analyzed the catalogs and public, checkpointed in %.1f s\n", time.Since(start).Seconds())
	return nil
}

// createTenant provisions tenant number i+1 (schema t<i+1>) through the
// product's own CreateTenant, admin user included.
func (r *runner) createTenant(ctx context.Context, i int) (*tenant, error) {
	name := tenantName(i)
	host := name + ".localhost"
	_, err := r.prov.CreateTenant(ctx, provision.TenantParams{
		Schema: name, Name: "Bench tenant " + name, Domain: host,
		Admin: &provision.UserParams{Username: adminUsername, Email: adminUsername + "@" + host, Password: adminPassword, Staff: true},
	})
	if err != nil {
		return nil, fmt.Errorf("create tenant %s: %w", name, err)
	}
	// Pinned as the server pins a request's tenant, with the same lookup,
	// so the ceiling checks the tenant too.
	row, err := db.InPublicV(ctx, r.pool, func(q *publicdb.Queries) (publicdb.ResolveDomainRow, error) {
		return q.ResolveDomain(ctx, host)
	})
	if err != nil {
		return nil, fmt.Errorf("resolve tenant %s: %w", name, err)
	}
	return &tenant{schema: db.MustParseSchema(name).Pin(row.ID, row.SchemaOid), host: host}, nil
}

// seedItems adds the items of one tenant in a single statement, newest
// last. It runs in a transaction scoped to the tenant, so no schema name is
// written into SQL.
const seedItems = `INSERT INTO items (name, description, created_by, created_at, updated_at)
SELECT 'Item ' || g, 'Seeded by the benchmark.', $2, now() - g * interval '1 minute', now() - g * interval '1 minute'
FROM generate_series(1, $1::int) AS g`

// seedTx adds items items by user in tx, whose search_path is the tenant's,
// and analyzes the tables the load reads, so that every tenant's plans
// come from statistics without a whole-database ANALYZE (see settle).
func seedTx(ctx context.Context, tx pgx.Tx, items int, user int64) error {
	// Exec mode: a statement run once per tenant is not worth preparing.
	if _, err := tx.Exec(ctx, seedItems, pgx.QueryExecModeExec, items, user); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "ANALYZE items, users, api_keys", pgx.QueryExecModeExec)
	return err
}

// inSchema runs fn in a transaction scoped to s on a pooled connection, for
// setup SQL that is not one of the product's sqlc queries.
func (r *runner) inSchema(ctx context.Context, s db.Schema, fn func(tx pgx.Tx) error) error {
	c, err := r.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return db.OnConn(ctx, c.Conn(), s, fn)
}

// seed records t's admin id and adds its items.
func (r *runner) seed(ctx context.Context, t *tenant) error {
	u, err := db.InTenantV(ctx, r.pool, t.schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByUsername(ctx, adminUsername)
	})
	if err != nil {
		return fmt.Errorf("seed %s: %w", t.schema, err)
	}
	t.userID = u.ID
	err = r.inSchema(ctx, t.schema, func(tx pgx.Tx) error { return seedTx(ctx, tx, r.cfg.Items, u.ID) })
	if err != nil {
		return fmt.Errorf("seed %s: %w", t.schema, err)
	}
	return nil
}

// obtainTokens signs in every tenant's admin that has no access token yet
// through POST /api/token/ (and makes an API key where one is missing and
// the profile-apikey scenario runs), and returns how long it took in
// seconds. Bulk tenants come with both. Tokens outlive a server restart
// (same SECRET_KEY, 24h lifetime), so each count only signs in its new
// tenants.
func (r *runner) obtainTokens(ctx context.Context, srv *server, tenants []*tenant) (float64, error) {
	wantKey := slices.Contains(r.cfg.Scenarios, apiKeyScenario)
	var missing []*tenant
	for _, t := range tenants {
		if t.token == "" || (wantKey && t.apiKey == "") {
			missing = append(missing, t)
		}
	}
	start := time.Now()
	err := forEach(ctx, 8, len(missing), func(ctx context.Context, i int) error {
		t := missing[i]
		if t.token == "" {
			tok, err := srv.signIn(ctx, t)
			if err != nil {
				return err
			}
			t.token = tok
		}
		if !wantKey || t.apiKey != "" {
			return nil
		}
		var err error
		t.apiKey, err = srv.createAPIKey(ctx, t)
		return err
	})
	return round3(time.Since(start).Seconds()), err
}

// cleanUp removes what the load wrote (items and refresh tokens), so that
// the next tenant count starts from the same data.
func (r *runner) cleanUp(ctx context.Context, tenants []*tenant) error {
	return forEach(ctx, r.cfg.MigrateJobs, len(tenants), func(ctx context.Context, i int) error {
		return r.inSchema(ctx, tenants[i].schema, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "DELETE FROM items WHERE name = $1", pgx.QueryExecModeExec, loadItemName); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "DELETE FROM refresh_tokens", pgx.QueryExecModeExec)
			return err
		})
	})
}

// createSampleSize is how many tenants createSample creates at each count.
const createSampleSize = 20

// createSample times createSampleSize tenant creations, one at a time,
// through the product's tenant create (argon2id included) with the count's
// tenants present, then deletes them: -provision-sample times the first
// tenants, into a nearly empty database.
func (r *runner) createSample(ctx context.Context, n int) (LatencySample, error) {
	var lat []time.Duration
	var made []string
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for _, s := range made {
			if err := r.prov.DeleteTenant(cctx, s); err != nil {
				fmt.Fprintf(r.log, " (removing sample tenant %s: %v)", s, err)
			}
		}
	}()
	for i := range createSampleSize {
		name := fmt.Sprintf("cs%d_%d", n, i)
		host := strings.ReplaceAll(name, "_", "-") + ".localhost"
		t0 := time.Now()
		_, err := r.prov.CreateTenant(ctx, provision.TenantParams{
			Schema: name, Name: "Create sample " + name, Domain: host,
			Admin: &provision.UserParams{Username: adminUsername, Email: adminUsername + "@" + host, Password: adminPassword, Staff: true},
		})
		if err != nil {
			return LatencySample{}, fmt.Errorf("tenant create sample: %w", err)
		}
		lat = append(lat, time.Since(t0))
		made = append(made, name)
	}
	return latencySample(lat), nil
}

// tenantCreate summarises the tenant create latencies sampled so far.
func (r *runner) tenantCreate() LatencySample {
	return latencySample(r.sample)
}

// forEach calls fn for 0..n-1 from up to jobs goroutines. The first error
// cancels the rest and is returned.
func forEach(ctx context.Context, jobs, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(jobs, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
