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
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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

// InTenant runs fn in one transaction whose search_path is the tenant's
// schema alone. fn must use only q, and must not keep it. The transaction
// commits when fn returns nil and rolls back otherwise; its error is returned.
func InTenant(ctx context.Context, pool *pgxpool.Pool, s Schema, fn func(q *tenantdb.Queries) error) error {
	if s.IsZero() {
		return ErrInvalidSchema
	}
	return inTx(ctx, pool, s.Ident(), func(c *pgxpool.Conn) error {
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
	return inTx(ctx, pool, "public", func(c *pgxpool.Conn) error {
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

// setSearchPath is the only statement in the product that sets a search_path.
// is_local=true scopes it to the current transaction.
const setSearchPath = "SELECT set_config('search_path', $1, true)"

// inTx runs fn inside BEGIN ... COMMIT on one pooled connection, with the
// search_path set for the transaction only. BEGIN and the search_path are
// sent as one pipelined batch: one round trip instead of two.
func inTx(ctx context.Context, pool *pgxpool.Pool, searchPath string, fn func(c *pgxpool.Conn) error) (err error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection released while still inside a transaction (a failed
	// COMMIT or ROLLBACK) is destroyed by the pool, never reused.
	defer c.Release()

	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(setSearchPath, searchPath)
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		rollback(ctx, c)
		return err
	}
	if err := fn(c); err != nil {
		rollback(ctx, c)
		return err
	}
	tag, err := c.Exec(ctx, "COMMIT")
	if err != nil {
		rollback(ctx, c)
		return err
	}
	// COMMIT of a transaction in which a statement failed answers ROLLBACK.
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
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
