// Package db opens the connection pool and runs work inside transactions
// scoped to one schema: the public schema or a single tenant's.
//
// Every tenant query in the product goes through InTenant or InTenantV. They
// set the search_path with transaction scope, so it never outlives the
// transaction: a pooled connection cannot carry one tenant's schema into the
// next request, and the design holds behind PgBouncer in transaction mode.
package db

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// Open connects a pool to url and checks that the database answers. lim
// sizes the pool and bounds what each of its connections keeps in its
// backend; the pool has url's pool_max_conns connections (pgxpool's default
// when unset) unless lim.Conns is set.
func Open(ctx context.Context, url string, lim Limits) (*Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	pool, err := NewPool(ctx, cfg, lim)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// Configure sets up cfg's connections as Open does: lim bounds what each
// keeps in its backend, and each learns once whether it talks to a Citus
// coordinator. A pool made from cfg by other means (a test's, with its own
// dialer) then behaves as Open's.
func Configure(cfg *pgxpool.Config, lim Limits) error {
	if lim.Schemas < 1 || lim.Plans < 0 {
		return fmt.Errorf("database connection limits: %d schemas and %d plans per connection: need at least 1 schema and no negative plans", lim.Schemas, lim.Plans)
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		st := newConnState(lim)
		// Citus cannot plan some of the product's statements generically
		// (an INSERT inside WITH: "could not create distributed plan"), so
		// on a Citus coordinator PostgreSQL chooses, as by default.
		var citus bool
		if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')").Scan(&citus); err != nil {
			return err
		}
		if citus {
			st.planMode = "auto"
		}
		c.PgConn().CustomData()[stateKey] = st
		return nil
	}
	// Spans of SQL statements, when the statement's context carries a
	// recording span (trace.go); otherwise a context lookup per statement.
	cfg.ConnConfig.Tracer = sqlTracer{}
	return nil
}

// release returns c to its pool, or closes it once its backend has served
// Limits.Schemas schemas (see Limits). It is checked here rather than in
// pgxpool's AfterRelease hook, which makes every release run in a goroutine
// of its own: a transaction waiting for the connection was woken, then
// waited again for that goroutine.
func release(c *pgxpool.Conn) {
	st := stateOf(c.Conn().PgConn())
	if len(st.schemas) < st.maxSchemas {
		c.Release()
		return
	}
	conn := c.Hijack() // the pool opens another in its place when needed
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	}()
}

// Limits size the pool (see Pool) and bound the memory of a pooled
// connection's PostgreSQL backend. A backend caches the catalog entries of
// every schema it touches (57 KiB a tenant whose users and items were read,
// measured at 1,000 tenants; never freed) and the plans of the statements
// prepared on it (37 KiB each). Nothing evicts the catalog entries: a
// connection that served thousands of tenants would grow without bound.
type Limits struct {
	// Schemas is how many distinct schemas a connection serves before it is
	// closed and replaced. Replacing sooner costs throughput when many
	// tenants are busy: each fresh backend starts with cold caches.
	Schemas int
	// Plans is how many tenant-specific prepared statements a connection
	// keeps (see pipelinedTx); once it holds that many, other tenants share
	// the statement every tenant uses, which PostgreSQL plans afresh each
	// time. 0 turns tenant-specific statements off.
	Plans int
	// Conns is the size of the tenant connections and, apart, of the
	// public ones; 0 keeps the URL's pool_max_conns or pgxpool's default,
	// max(4, CPUs).
	Conns int
	// Parts is how many parts the tenant connections are split into; 0
	// makes one part per connection.
	Parts int
	// TenantConns is how many transactions of one tenant hold connections
	// at once while other work waits (0: half of Conns, at least 1), and
	// TenantWait how long one over it waits before ErrTenantBusy (0:
	// DefaultTenantWait).
	TenantConns int
	TenantWait  time.Duration
}

// DefaultLimits bound a backend at about 10,000 x 57 KiB + 4,096 x 37 KiB,
// 705 MiB, so that the default pool of 4 tenant connections stays under
// 3 GiB at any tenant count (README: Many tenants). With the tenants spread
// over the parts, a backend of that pool serves a quarter of them: at
// 100,000 tenants a backend is replaced after 10,000 of its 25,000, where
// 2,000 had every backend cold at every tenant count past a few thousand.
var DefaultLimits = Limits{Schemas: 10000, Plans: 4096}

// connState is what the product remembers about one pooled connection, kept
// in its pgconn custom data (so it dies with the connection).
type connState struct {
	schemas map[string]struct{} // the search_paths its transactions have used
	// stmts names the statements prepared on the connection, by tag (""
	// for the statements all tenants share) and then by SQL, so that a
	// lookup needs no tagged copy of the SQL.
	stmts map[string]map[string]string
	// sqlOf is the SQL of each prepared statement, by name, for the spans
	// of statements sent by name (trace.go).
	sqlOf    map[string]string
	tagged   int // how many of stmts are tenant-specific
	prepared int // statements ever prepared: numbers their names
	maxPlans int // Limits.Plans
	// maxSchemas is Limits.Schemas: release closes the connection once
	// schemas holds that many.
	maxSchemas int
	// planMode is the plan_cache_mode of its tenant transactions (openTx).
	planMode string
}

const stateKey = "tenantctl"

func newConnState(lim Limits) *connState {
	return &connState{schemas: map[string]struct{}{}, stmts: map[string]map[string]string{}, sqlOf: map[string]string{}, maxPlans: lim.Plans, maxSchemas: lim.Schemas,
		planMode: "force_generic_plan"}
}

// stateOf returns c's state, with the default limits for a connection of a
// pool not opened by Open.
func stateOf(c *pgconn.PgConn) *connState {
	data := c.CustomData()
	st, ok := data[stateKey].(*connState)
	if !ok {
		st = newConnState(DefaultLimits)
		data[stateKey] = st
	}
	return st
}

// InTenant runs fn in one transaction whose search_path is the tenant's
// schema alone. fn must use only q, and must not keep it. The transaction
// commits when fn returns nil and rolls back otherwise; its error is returned.
//
// If the transaction fails because a cached prepared statement's result
// shape changed under it (SQLSTATE 0A000: a migration changed a column's
// type after the pooled connection had prepared a statement reading it), fn
// is run once more: the failing connection's prepared statements have been
// dropped by then. fn must therefore be safe to run twice, which work that
// only talks to q is.
func InTenant(ctx context.Context, pool *Pool, s Schema, fn func(q *tenantdb.Queries) error) error {
	if s.IsZero() {
		return ErrInvalidSchema
	}
	return inTx(ctx, pool, s, false, func(c tenantdb.DBTX) error {
		return fn(tenantdb.New(c))
	})
}

// ReadTenant is InTenant for work that only reads: fn's statements need not
// share a transaction, so each runs in one of its own, set up and ended by
// PostgreSQL around the statement (an implicit transaction: the search_path
// and the statement sent in one pipeline). A statement then costs one round
// trip, with no BEGIN and no COMMIT. Under READ COMMITTED, PostgreSQL's
// default, each statement of a transaction reads its own snapshot anyway,
// so fn sees what it would have seen in one transaction.
//
// A statement not yet prepared on the connection must be prepared under the
// tenant's search_path, which takes a transaction: from that statement on,
// fn's statements share one, as in InTenant.
func ReadTenant(ctx context.Context, pool *Pool, s Schema, fn func(q *tenantdb.Queries) error) error {
	if s.IsZero() {
		return ErrInvalidSchema
	}
	return inTx(ctx, pool, s, true, func(c tenantdb.DBTX) error {
		return fn(tenantdb.New(c))
	})
}

// ReadTenantV is ReadTenant for work that returns a value.
func ReadTenantV[T any](ctx context.Context, pool *Pool, s Schema, fn func(q *tenantdb.Queries) (T, error)) (T, error) {
	var v T
	err := ReadTenant(ctx, pool, s, func(q *tenantdb.Queries) error {
		var err error
		v, err = fn(q)
		return err
	})
	return v, err
}

// InTenantV is InTenant for work that returns a value.
func InTenantV[T any](ctx context.Context, pool *Pool, s Schema, fn func(q *tenantdb.Queries) (T, error)) (T, error) {
	var v T
	err := InTenant(ctx, pool, s, func(q *tenantdb.Queries) error {
		var err error
		v, err = fn(q)
		return err
	})
	return v, err
}

// InPublic runs fn in one transaction whose search_path is the public schema
// alone (so that no schema named like the database role can shadow it).
func InPublic(ctx context.Context, pool *Pool, fn func(q *publicdb.Queries) error) error {
	return inTx(ctx, pool, Schema{}, false, func(c tenantdb.DBTX) error {
		return fn(publicdb.New(c))
	})
}

// InPublicV is InPublic for work that returns a value.
func InPublicV[T any](ctx context.Context, pool *Pool, fn func(q *publicdb.Queries) (T, error)) (T, error) {
	var v T
	err := InPublic(ctx, pool, func(q *publicdb.Queries) error {
		var err error
		v, err = fn(q)
		return err
	})
	return v, err
}

// OnConn runs fn in a transaction on c, a connection the caller owns rather
// than a pooled one, with the search_path set to s alone for that
// transaction. It serves work that is not a sqlc query set, such as tenant
// migration files.
func OnConn(ctx context.Context, c *pgx.Conn, s Schema, fn func(tx pgx.Tx) error) error {
	if s.IsZero() {
		return ErrInvalidSchema
	}
	return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setSearchPath, s.Ident()); err != nil {
			return err
		}
		return fn(tx)
	})
}

// setSearchPath is the only statement in the product that sets a search_path.
// is_local=true scopes it to the current transaction.
const setSearchPath = "SELECT set_config('search_path', $1, true)"

// openTx sets the search_path of a pooled transaction, and makes the
// transaction use generic plans. PostgreSQL's default plans a prepared statement afresh
// whenever a plan for the given values looks cheaper than the generic one,
// and for a page (LIMIT $1) it always does: the items list was planned on
// every request. The product's statements are key lookups, pages and inserts
// whose best plan does not depend on the values; the benchmark measured the
// list 50% faster with generic plans. It is transaction-scoped, like the
// search_path, so it holds behind PgBouncer too. $2 is the mode, the
// connection's planMode: force_generic_plan, except on Citus.
const openTx = "SELECT set_config('search_path', $1, true), set_config('plan_cache_mode', $2, true)"

// openPinnedTx is openTx for a pinned schema: the search_path is set only
// if the schema named $2 still has the oid $3, else public.tenant_gone($4,
// $2) raises SQLSTATE TG404. The comparison is a catalog cache lookup, and
// fn's first statement travels in the same pipeline, so it is skipped when
// the check fails: no extra round trip, and nothing runs in a schema that is
// not the one the caller was authorized for.
const openPinnedTx = "SELECT set_config('search_path', CASE WHEN to_regnamespace($2)::oid = $3::bigint::oid THEN $1 ELSE public.tenant_gone($4, $2) END, true), set_config('plan_cache_mode', $5, true)"

// ErrTenantGone is returned by the transaction helpers for a pinned schema
// whose tenant is no longer registered under that name and id: deleted, or
// deleted and re-created.
var ErrTenantGone = errors.New("tenant no longer exists")

// inTx runs fn in a transaction with the search_path set to s for that
// transaction only (the public schema for the zero Schema), retrying once
// after a stale cached plan (see InTenant). read allows statements in
// implicit transactions of their own (see ReadTenant).
func inTx(ctx context.Context, pool *Pool, s Schema, read bool, fn func(c tenantdb.DBTX) error) error {
	err := inTxOnce(ctx, pool, s, read, fn)
	if isStalePlan(err) || (s.client != 0 && isCode(err, "40P01")) {
		// A deadlock in a pinned tenant is, in practice, the tenant being
		// dropped under the request: once more, and its check tells.
		err = inTxOnce(ctx, pool, s, read, fn)
	}
	if err != nil && s.client != 0 {
		err = tenantGone(ctx, pool, s, err)
	}
	return err
}

// Pinned returns s pinned (see Schema.Pin) to the ready tenant registered
// under its name, read from public.clients, or ErrTenantGone if there is
// none. Work that names a tenant by its schema (a command, a job) uses it
// to get what a request gets from its host.
func Pinned(ctx context.Context, pool *Pool, s Schema) (Schema, error) {
	row, err := InPublicV(ctx, pool, func(q *publicdb.Queries) (publicdb.ReadyTenantRow, error) {
		return q.ReadyTenant(ctx, s.name)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows), err == nil && row.SchemaOid == 0:
		return Schema{}, ErrTenantGone
	case err != nil:
		return Schema{}, err
	}
	return s.Pin(row.ID, row.SchemaOid), nil
}

// tenantGone returns ErrTenantGone in place of err when err says the
// pinned tenant s is gone: its check failed, or a statement found its
// tables dropped under it (the check passed, then a concurrent delete
// committed before the statement locked its tables). That is confirmed in
// public.clients, on this error path only.
func tenantGone(ctx context.Context, pool *Pool, s Schema, err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch {
	case pe.Code == "TG404":
		return ErrTenantGone
	// undefined_table, invalid_schema_name, deadlock_detected (with the
	// DROP's locks), internal_error ("could not open relation with OID").
	case pe.Code == "42P01", pe.Code == "3F000", pe.Code == "40P01", pe.Code == "XX000":
		registered, cerr := InPublicV(ctx, pool, func(q *publicdb.Queries) (bool, error) {
			return q.TenantRegistered(ctx, publicdb.TenantRegisteredParams{ID: s.client, SchemaName: s.name})
		})
		if cerr == nil && !registered {
			return ErrTenantGone
		}
	}
	return err
}

func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

func isStalePlan(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "0A000" && strings.Contains(pe.Message, "cached plan must not change result type")
}

// inTxOnce runs fn on one pooled connection, inside BEGIN ... COMMIT or, for
// read work, in implicit transactions (see pipelinedTx). BEGIN and the
// search_path are not sent on their own: they travel in one pipelined batch
// with fn's first statement, so a transaction costs one round trip more than
// its statements (the COMMIT), not three.
func inTxOnce(ctx context.Context, pool *Pool, s Schema, read bool, fn func(c tenantdb.DBTX) error) (err error) {
	c, done, err := pool.acquire(ctx, s)
	if err != nil {
		return err
	}
	defer done()
	// A connection released while still inside a transaction (a failed
	// COMMIT or ROLLBACK) is destroyed by the pool, never reused.
	defer release(c)

	searchPath, tag := "public", s.name
	if !s.IsZero() {
		searchPath = s.Ident()
	}
	st := stateOf(c.Conn().PgConn())
	_, again := st.schemas[searchPath]
	st.schemas[searchPath] = struct{}{}
	tx := &pipelinedTx{conn: c, st: st, schema: s, searchPath: searchPath, read: read, mode: c.Conn().Config().DefaultQueryExecMode}
	// A tenant gets statements of its own on a connection only on its second
	// visit: with far more busy tenants than a connection serves in its life,
	// most are never seen twice, and preparing for them would cost round
	// trips and memory for nothing. The tag cannot end the comment early: a
	// schema name is lower-case letters, digits and underscores (ParseSchema).
	if again && tag != "" && tx.mode == pgx.QueryExecModeCacheStatement {
		tx.tag = "/* " + tag + " */ "
	}
	if err := fn(tx); err != nil {
		rollback(ctx, c)
		if isStalePlan(err) {
			// Every statement this connection prepared before the tenant's
			// tables changed would fail the same way, one retry at a time:
			// drop them all, so the retry prepares afresh.
			_ = c.Conn().DeallocateAll(context.WithoutCancel(ctx))
			st.stmts, st.sqlOf, st.tagged = map[string]map[string]string{}, map[string]string{}, 0
		}
		return err
	}
	if !tx.begun {
		return nil // no transaction is open: fn sent nothing, or only reads
	}
	ct, err := c.Exec(ctx, "COMMIT")
	if err != nil {
		rollback(ctx, c)
		return err
	}
	// COMMIT of a transaction in which a statement failed answers ROLLBACK.
	if ct.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// pipelinedTx is the connection fn's queries run on. It opens the
// transaction lazily, with fn's first statement: BEGIN, the search_path and
// that statement go in one batch when the statement is already prepared on
// this connection. For read work (ReadTenant) a prepared statement goes with
// the search_path alone, as an implicit transaction of its own.
//
// Statements are prepared by pipelinedTx itself, inside the transaction,
// never by pgx's statement cache: pgx would prepare a statement new to the
// connection before the batch, outside the transaction and so without the
// tenant's search_path.
//
// A tenant seen before on a connection gets its own prepared statements there
// (the SQL text carries the schema's name in a comment): PostgreSQL re-plans a prepared
// statement whenever it runs under another search_path than the one it was
// planned for, so one statement shared by all tenants was planned afresh on
// almost every request once many tenants were busy (the benchmark measured
// the items list at 1,000 tenants 2.2 times faster with a statement per
// tenant). Limits.Plans bounds how many a connection keeps.
type pipelinedTx struct {
	conn       *pgxpool.Conn
	st         *connState
	mode       pgx.QueryExecMode // the connection's
	schema     Schema            // zero for the public schema
	searchPath string
	tag        string // "/* schema */ " for a tenant's own statements, or ""
	read       bool   // statements may run in implicit transactions (ReadTenant)
	begun      bool   // BEGIN was sent: the rest runs in that transaction
}

// stmt is how one statement of fn is sent.
type stmt struct {
	sql     string // fn's SQL
	send    string // the name of its prepared statement, or the SQL to send
	rides   bool   // it can go in the batch that opens the transaction
	tag     string // under which tag to prepare it, when prepare is set
	prepare bool   // it must be prepared, inside the transaction, first
}

// plan decides how to send sql. Under cache_statement a statement is sent
// by name once prepared, and can then ride in the opening batch; a tenant
// seen before has its own statements, up to Limits.Plans. The modes that
// never prepare (exec, simple_protocol: for PgBouncer) can always ride;
// those that describe a statement before sending it (cache_describe,
// describe_exec) never can, since they would describe it outside the
// transaction.
func (t *pipelinedTx) plan(sql string) stmt {
	switch t.mode {
	case pgx.QueryExecModeCacheStatement:
		tag := ""
		if t.tag != "" {
			if name, ok := t.st.stmts[t.tag][sql]; ok {
				return stmt{sql: sql, send: name, rides: true}
			}
			if t.st.tagged < t.st.maxPlans {
				tag = t.tag
			}
		}
		if name, ok := t.st.stmts[""][sql]; ok && tag == "" {
			return stmt{sql: sql, send: name, rides: true}
		}
		return stmt{sql: sql, send: tag + sql, tag: tag, prepare: true}
	case pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol:
		return stmt{sql: sql, send: sql, rides: true}
	}
	return stmt{sql: sql, send: sql}
}

// ready makes s sendable inside the open transaction: it prepares it if it
// must be, and returns what to send.
func (t *pipelinedTx) ready(ctx context.Context, s stmt) (string, error) {
	if !s.prepare {
		return s.send, nil
	}
	t.st.prepared++
	name := "tenantctl_" + strconv.Itoa(t.st.prepared)
	if _, err := t.conn.Conn().Prepare(ctx, name, s.send); err != nil {
		return "", err
	}
	if t.st.stmts[s.tag] == nil {
		t.st.stmts[s.tag] = map[string]string{}
	}
	t.st.stmts[s.tag][s.sql] = name
	t.st.sqlOf[name] = s.sql
	if s.tag != "" {
		t.st.tagged++
	}
	return name, nil
}

// begin sends what must precede sql when no transaction is open: BEGIN and
// the search_path. If s can ride along it is sent in the same batch, and
// the batch is returned positioned at its result; otherwise the batch is nil
// and the caller runs s itself, in the transaction. For read work, a
// statement that can ride along is sent with the search_path alone: the
// batch is its implicit transaction, and no transaction is left open.
func (t *pipelinedTx) begin(ctx context.Context, s stmt, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	if !t.read || !s.rides {
		t.begun = true
		b.Queue("BEGIN")
	}
	if t.schema.client != 0 {
		b.Queue(openPinnedTx, t.searchPath, t.schema.name, t.schema.oid, t.schema.client, t.st.planMode)
	} else {
		b.Queue(openTx, t.searchPath, t.st.planMode)
	}
	setup := len(b.QueuedQueries)
	if s.rides {
		b.Queue(s.send, args...)
	}
	br := t.conn.SendBatch(ctx, b)
	for range setup {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	if !s.rides {
		return nil, br.Close()
	}
	return br, nil
}

func (t *pipelinedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p := t.plan(sql)
	if !t.begun {
		br, err := t.begin(ctx, p, args)
		if err != nil {
			return pgconn.CommandTag{}, err
		}
		if br != nil {
			tag, err := br.Exec()
			if cerr := br.Close(); err == nil {
				err = cerr
			}
			return tag, err
		}
	}
	send, err := t.ready(ctx, p)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return t.conn.Exec(ctx, send, args...)
}

func (t *pipelinedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	p := t.plan(sql)
	if !t.begun {
		br, err := t.begin(ctx, p, args)
		if err != nil {
			return nil, err
		}
		if br != nil {
			rows, err := br.Query()
			if err != nil {
				br.Close()
				return nil, err
			}
			return &batchRows{Rows: rows, br: br}, nil
		}
	}
	send, err := t.ready(ctx, p)
	if err != nil {
		return nil, err
	}
	return t.conn.Query(ctx, send, args...)
}

func (t *pipelinedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	return batchRow{rows: rows, err: err}
}

// batchRows closes the batch along with the rows of its last statement.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is QueryRow's answer, with pgx's Row semantics: Scan reads one
// row, and returns ErrNoRows when there is none.
type batchRow struct {
	rows pgx.Rows
	err  error
}

func (r batchRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// rollback ends the transaction even when ctx is already cancelled (a client
// that went away), so the connection goes back to the pool clean.
func rollback(ctx context.Context, c *pgxpool.Conn) {
	if c.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = c.Exec(rctx, "ROLLBACK")
}
