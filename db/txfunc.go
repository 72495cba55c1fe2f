package db

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// InTenantTx is InTenant for work that must hand its transaction to a
// library as a pgx.Tx: enqueueing a background job (River's InsertTx) in
// the same transaction as the change that causes it, so that a rolled-back
// change enqueues nothing and a committed one always has its job.
//
// The transaction is a plain pgx one, not the pipelined transaction of
// InTenant (which is no pgx.Tx): BEGIN and the search_path cost a round
// trip each. Use it only where a pgx.Tx is needed. fn's queries go through
// q; tx is for the library, which must qualify its own tables (River's do:
// they live in schema "river"). A pinned schema is checked as in InTenant,
// and a gone tenant gives ErrTenantGone.
func InTenantTx(ctx context.Context, pool *Pool, s Schema, fn func(q *tenantdb.Queries, tx pgx.Tx) error) error {
	if s.IsZero() {
		return ErrInvalidSchema
	}
	err := beginFunc(ctx, pool, s, func(tx pgx.Tx) error { return fn(tenantdb.New(tx), tx) })
	if err != nil && s.client != 0 {
		err = tenantGone(ctx, pool, s, err)
	}
	return err
}

// InPublicTx is InTenantTx for the public schema.
func InPublicTx(ctx context.Context, pool *Pool, fn func(q *publicdb.Queries, tx pgx.Tx) error) error {
	return beginFunc(ctx, pool, Schema{}, func(tx pgx.Tx) error { return fn(publicdb.New(tx), tx) })
}

// beginFunc runs fn in a pgx transaction on a pooled connection whose
// search_path is s (public for the zero Schema) for that transaction only.
func beginFunc(ctx context.Context, pool *Pool, s Schema, fn func(tx pgx.Tx) error) error {
	c, done, err := pool.acquire(ctx, s)
	if err != nil {
		return err
	}
	defer done()
	defer release(c)
	searchPath := "public"
	if !s.IsZero() {
		searchPath = s.Ident()
	}
	// Counted like InTenant's, so that Limits.Schemas holds.
	st := stateOf(c.Conn().PgConn())
	st.schemas[searchPath] = struct{}{}
	return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		var err error
		if s.client != 0 {
			_, err = tx.Exec(ctx, openPinnedTx, searchPath, s.name, s.oid, s.client, st.planMode)
		} else {
			_, err = tx.Exec(ctx, openTx, searchPath, st.planMode)
		}
		if err != nil {
			return err
		}
		return fn(tx)
	})
}
