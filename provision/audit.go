package provision

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// The management operations record what they change in the tenant's audit
// log, in the transaction of the change, with the actor of ctx: the
// superuser the admin UI or API put there (audit.WithActor), or
// audit.Operator for tenantctl.

// record writes e, made by ctx's actor, to schema's audit log in q's
// transaction.
func record(ctx context.Context, q *tenantdb.Queries, schema db.Schema, e audit.Entry) error {
	e.Actor = audit.OperatorFrom(ctx)
	return audit.Record(ctx, q, schema, e)
}

// publicChange runs fn, a change of the public schema (a tenant's row or
// its domains), and records the entry fn returns in the schema of the
// tenant fn returns, all in one transaction (db.InSpan): the change and its
// entry commit together. An entry without an action, or a tenant not ready
// (its schema may not exist yet), records nothing.
func (s *Service) publicChange(ctx context.Context, fn func(q *publicdb.Queries) (publicdb.Client, audit.Entry, error)) error {
	return db.InSpan(ctx, s.pool, pgx.TxOptions{}, func(sp *db.Span) error {
		pq, err := sp.Public(ctx)
		if err != nil {
			return err
		}
		c, e, err := fn(pq)
		if err != nil || e.Action == "" || c.State != "ready" {
			return err
		}
		schema, err := db.ParseSchema(c.SchemaName)
		if err != nil {
			return err
		}
		tq, err := sp.Tenant(ctx, schema)
		if err != nil {
			return err
		}
		return record(ctx, tq, schema, e)
	})
}

// userChange returns the entry of a change of a user from before to after,
// with the changed fields; an entry without an action if nothing changed.
func userChange(before, after tenantdb.User) audit.Entry {
	b, a := audit.UserFields(before), audit.UserFields(after)
	changed := false
	for k, v := range b {
		if a[k] != v {
			changed = true
		}
	}
	if !changed {
		return audit.Entry{}
	}
	return audit.Entry{Action: audit.UserUpdated, Target: audit.Of("user", after.ID),
		Before: b, After: a, Data: audit.UserDataOf(after)}
}

// recordUserChange records userChange(before, after), if anything changed.
func recordUserChange(ctx context.Context, q *tenantdb.Queries, schema db.Schema, before, after tenantdb.User) error {
	e := userChange(before, after)
	if e.Action == "" {
		return nil
	}
	return record(ctx, q, schema, e)
}
