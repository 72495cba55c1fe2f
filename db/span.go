package db

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// Span is one transaction that works in the public schema and in one
// tenant's schema in turn: moving a whole tenant (package transfer) reads
// or writes its registry rows and its tables in the same transaction, so
// that an export sees one snapshot of both and an import commits both or
// neither. Each switch sets the search_path for the rest of the
// transaction, to the one schema alone, as InTenant does.
type Span struct {
	tx pgx.Tx
	st *connState
}

// InSpan runs fn in one transaction started with opts (isolation level,
// access mode) on a pooled connection. The transaction commits when fn
// returns nil and rolls back otherwise, also when ctx is cancelled. fn must
// not keep sp.
func InSpan(ctx context.Context, pool *Pool, opts pgx.TxOptions, fn func(sp *Span) error) error {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release(c)
	tx, err := c.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(&Span{tx: tx, st: stateOf(c.Conn().PgConn())}); err != nil {
		// Rolled back even when ctx is what ended fn (an interrupted
		// import), so the connection goes back to the pool clean; a
		// connection that cannot roll back is closed, which rolls back too.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
		return err
	}
	return tx.Commit(ctx)
}

// Public sets the transaction's search_path to the public schema and
// returns its queries, valid until the next switch.
func (sp *Span) Public(ctx context.Context) (*publicdb.Queries, error) {
	if err := sp.use(ctx, "public"); err != nil {
		return nil, err
	}
	return publicdb.New(sp.tx), nil
}

// Tenant sets the transaction's search_path to s alone and returns its
// queries, valid until the next switch.
func (sp *Span) Tenant(ctx context.Context, s Schema) (*tenantdb.Queries, error) {
	if s.IsZero() {
		return nil, ErrInvalidSchema
	}
	if err := sp.use(ctx, s.Ident()); err != nil {
		return nil, err
	}
	return tenantdb.New(sp.tx), nil
}

// Tx is the transaction itself, for what is not a sqlc query: COPY and
// statements whose table names come from the catalog, which name their
// schema (pgx.Identifier) rather than rely on the search_path, and tenant
// migration files, run after Tenant.
func (sp *Span) Tx() pgx.Tx { return sp.tx }

func (sp *Span) use(ctx context.Context, searchPath string) error {
	// Counted like InTenant's, so that Limits.Schemas holds.
	sp.st.schemas[searchPath] = struct{}{}
	_, err := sp.tx.Exec(ctx, openTx, searchPath, sp.st.planMode)
	return err
}
