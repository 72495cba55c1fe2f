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
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// Open connects a pool to url and checks that the database answers.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	// Each PostgreSQL backend caches the catalog entries of every schema it
	// touches, and nothing evicts them: a connection that served thousands of
	// tenants grows without bound. Retire a connection once it has served
	// MaxSchemasPerConn distinct schemas. The benchmark measured about 45 MiB
	// of backend memory for 1,000 schemas, and that retiring after only 200
	// halved throughput at 1,000 tenants (cold caches on fresh backends); at
	// 1,000 a connection lives for thousands of transactions.
	cfg.AfterRelease = func(c *pgx.Conn) bool {
		return len(schemasServed(c.PgConn())) < MaxSchemasPerConn
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// MaxSchemasPerConn is how many distinct schemas a pooled connection of a
// pool from Open serves before it is closed and replaced.
const MaxSchemasPerConn = 1000

// schemasServed is the set, kept in the connection's custom data, of the
// search_paths its transactions have used.
func schemasServed(c *pgconn.PgConn) map[string]struct{} {
	data := c.CustomData()
	set, ok := data["tenantctl.schemas"].(map[string]struct{})
	if !ok {
		set = map[string]struct{}{}
		data["tenantctl.schemas"] = set
	}
	return set
}

// InTenant runs fn in one transaction whose search_path is the tenant's
// schema alone. fn must use only q, and must not keep it. The transaction
// commits when fn returns nil and rolls back otherwise; its error is returned.
//
// If the transaction fails because a cached prepared statement's result
// shape changed under it (SQLSTATE 0A000: a rolling migration left tenants
// with different column types, and the pooled connection had planned the
// statement against another tenant), fn is run once more: the failing
// connection's prepared statements have been dropped by then. fn must
// therefore be safe to run twice, which work that only talks to q is.
func InTenant(ctx context.Context, pool *pgxpool.Pool, s Schema, fn func(q *tenantdb.Queries) error) error {
	if s.IsZero() {
		return ErrInvalidSchema
	}
	return inTx(ctx, pool, s.Ident(), func(c tenantdb.DBTX) error {
		return fn(tenantdb.New(c))
	})
}

// InTenantV is InTenant for work that returns a value.
func InTenantV[T any](ctx context.Context, pool *pgxpool.Pool, s Schema, fn func(q *tenantdb.Queries) (T, error)) (T, error) {
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
func InPublic(ctx context.Context, pool *pgxpool.Pool, fn func(q *publicdb.Queries) error) error {
	return inTx(ctx, pool, "public", func(c tenantdb.DBTX) error {
		return fn(publicdb.New(c))
	})
}

// InPublicV is InPublic for work that returns a value.
func InPublicV[T any](ctx context.Context, pool *pgxpool.Pool, fn func(q *publicdb.Queries) (T, error)) (T, error) {
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

// inTx runs fn in a transaction with the search_path set for that
// transaction only, retrying once after a stale cached plan (see InTenant).
func inTx(ctx context.Context, pool *pgxpool.Pool, searchPath string, fn func(c tenantdb.DBTX) error) error {
	err := inTxOnce(ctx, pool, searchPath, fn)
	if isStalePlan(err) {
		err = inTxOnce(ctx, pool, searchPath, fn)
	}
	return err
}

func isStalePlan(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "0A000" && strings.Contains(pe.Message, "cached plan must not change result type")
}

// inTxOnce runs fn inside BEGIN ... COMMIT on one pooled connection. BEGIN
// and the search_path are not sent on their own: they travel in one
// pipelined batch with fn's first statement, so a transaction costs one
// round trip more than its statements (the COMMIT), not three.
func inTxOnce(ctx context.Context, pool *pgxpool.Pool, searchPath string, fn func(c tenantdb.DBTX) error) (err error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection released while still inside a transaction (a failed
	// COMMIT or ROLLBACK) is destroyed by the pool, never reused.
	defer c.Release()

	schemasServed(c.Conn().PgConn())[searchPath] = struct{}{}
	tx := &pipelinedTx{conn: c, searchPath: searchPath}
	if err := fn(tx); err != nil {
		// pgx evicts a statement from its cache when it fails; forget what
		// we knew to be prepared rather than track which one.
		forgetPrepared(c)
		rollback(ctx, c)
		if isStalePlan(err) {
			// Every statement this connection prepared for a tenant of the
			// other shape would fail the same way, one retry at a time:
			// drop them all, so the retry prepares afresh.
			_ = c.Conn().DeallocateAll(context.WithoutCancel(ctx))
		}
		return err
	}
	if !tx.begun {
		return nil // fn sent nothing: there is no transaction to end
	}
	tag, err := c.Exec(ctx, "COMMIT")
	if err != nil {
		forgetPrepared(c)
		rollback(ctx, c)
		return err
	}
	// COMMIT of a transaction in which a statement failed answers ROLLBACK.
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// pipelinedTx is the connection fn's queries run on. It opens the
// transaction lazily, with fn's first statement: BEGIN, the search_path and
// that statement go in one batch when the statement is already prepared on
// this connection. A statement new to the connection cannot ride along: pgx
// would prepare it before the batch, outside the transaction and so without
// the tenant's search_path. It runs on its own after BEGIN and the
// search_path, and is pipelined from then on.
type pipelinedTx struct {
	conn       *pgxpool.Conn
	searchPath string
	begun      bool
}

// preparedKey names the set, kept in each connection's custom data, of the
// statements known to be in that connection's pgx statement cache.
const preparedKey = "tenantctl.prepared"

func preparedSet(c *pgxpool.Conn) map[string]struct{} {
	data := c.Conn().PgConn().CustomData()
	set, ok := data[preparedKey].(map[string]struct{})
	if !ok {
		set = map[string]struct{}{}
		data[preparedKey] = set
	}
	return set
}

func forgetPrepared(c *pgxpool.Conn) { delete(c.Conn().PgConn().CustomData(), preparedKey) }

// begin opens the transaction. If sql is known to be prepared it is sent in
// the same batch, and the batch is returned positioned at its result;
// otherwise the batch is nil and the caller runs sql itself.
func (t *pipelinedTx) begin(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	t.begun = true
	_, known := preparedSet(t.conn)[sql]
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(setSearchPath, t.searchPath)
	pipelined := canPipeline(t.conn.Conn().Config().DefaultQueryExecMode, known)
	if pipelined {
		b.Queue(sql, args...)
	}
	br := t.conn.SendBatch(ctx, b)
	for range 2 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	if !pipelined {
		return nil, br.Close()
	}
	return br, nil
}

// canPipeline reports whether a statement can be batched behind BEGIN and
// the search_path under the connection's exec mode. The modes that prepare or
// describe before sending (cache_statement for a statement new to the
// connection, cache_describe, describe_exec) would do so outside the
// transaction; exec and simple_protocol never prepare.
func canPipeline(mode pgx.QueryExecMode, known bool) bool {
	switch mode {
	case pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol:
		return true
	case pgx.QueryExecModeCacheStatement:
		return known
	}
	return false
}

// ran records that sql ran on this connection, so it is now prepared there.
func (t *pipelinedTx) ran(sql string, err error) {
	if err == nil {
		preparedSet(t.conn)[sql] = struct{}{}
	}
}

func (t *pipelinedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !t.begun {
		br, err := t.begin(ctx, sql, args)
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
	tag, err := t.conn.Exec(ctx, sql, args...)
	t.ran(sql, err)
	return tag, err
}

func (t *pipelinedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if !t.begun {
		br, err := t.begin(ctx, sql, args)
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
	rows, err := t.conn.Query(ctx, sql, args...)
	t.ran(sql, err)
	return rows, err
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
