package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

var (
	// ErrTenantDeleted refuses to delete softly a tenant that already is.
	ErrTenantDeleted = errors.New("the tenant is already deleted: restore it, or delete it permanently")
	// ErrTenantLive refuses to restore a tenant that is not deleted.
	ErrTenantLive = errors.New("the tenant is not deleted: there is nothing to restore")
)

// SoftDeleteTenant deletes the tenant of schemaName in a way that can be
// undone (RestoreTenant) until the purge job drops it (PurgeDeleted): its
// schema, data and domains stay (the domains stay reserved), but its hosts
// no longer route (the update NOTIFYs every server's host cache), and every
// sign-in made before ends in the same transaction: all its refresh tokens
// are revoked, and its access tokens are refused even after a restore
// (users.tokens_valid_after). It returns the tenant as it is now, ErrNotFound
// for an unknown tenant and ErrTenantDeleted for a deleted one.
func (s *Service) SoftDeleteTenant(ctx context.Context, schemaName string) (Tenant, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return Tenant{}, err
	}
	err = s.migrator.Lock(ctx, schema, func() error {
		c, pinned, err := s.pinnedClient(ctx, schema)
		if err != nil {
			return err
		}
		if c.DeletedAt != nil {
			return ErrTenantDeleted
		}
		deleted, err := db.InTenantV(ctx, s.pool, pinned, func(q *tenantdb.Queries) (bool, error) {
			if err := q.EndTenantSignIns(ctx, time.Now()); err != nil {
				return false, err
			}
			deleted, err := q.SoftDeleteClient(ctx, c.ID)
			if err != nil || !deleted {
				return deleted, err
			}
			return true, record(ctx, q, pinned, audit.Entry{Action: audit.TenantDeleted, Target: audit.Of("tenant", c.ID)})
		})
		if err == nil && !deleted {
			err = ErrTenantDeleted
		}
		return err
	})
	if err != nil {
		return Tenant{}, err
	}
	return s.DescribeTenant(ctx, schemaName)
}

// RestoreTenant makes the softly deleted tenant of schemaName routable
// again, with its data. Sign-ins from before its deletion stay ended. It
// returns ErrNotFound for an unknown tenant and ErrTenantLive for one that
// is not deleted.
func (s *Service) RestoreTenant(ctx context.Context, schemaName string) (Tenant, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return Tenant{}, err
	}
	err = s.migrator.Lock(ctx, schema, func() error {
		c, pinned, err := s.pinnedClient(ctx, schema)
		if err != nil {
			return err
		}
		if c.DeletedAt == nil {
			return ErrTenantLive
		}
		restored, err := db.InTenantV(ctx, s.pool, pinned, func(q *tenantdb.Queries) (bool, error) {
			if err := q.EndTenantSignIns(ctx, time.Now()); err != nil {
				return false, err
			}
			restored, err := q.RestoreClient(ctx, c.ID)
			if err != nil || !restored {
				return restored, err
			}
			return true, record(ctx, q, pinned, audit.Entry{Action: audit.TenantRestored, Target: audit.Of("tenant", c.ID)})
		})
		if err == nil && !restored {
			err = ErrTenantLive
		}
		return err
	})
	if err != nil {
		return Tenant{}, err
	}
	return s.DescribeTenant(ctx, schemaName)
}

// pinnedClient returns the ready tenant of schema (ErrNotFound if there is
// none) and its schema pinned to it.
func (s *Service) pinnedClient(ctx context.Context, schema db.Schema) (publicdb.Client, db.Schema, error) {
	c, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Client, error) {
		return q.GetClientBySchema(ctx, schema.String())
	})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && c.State != "ready") {
		return c, db.Schema{}, ErrNotFound
	}
	if err != nil {
		return c, db.Schema{}, err
	}
	pinned, err := db.Pinned(ctx, s.pool, schema)
	if errors.Is(err, db.ErrTenantGone) || (err == nil && pinned.Client() != c.ID) {
		return c, db.Schema{}, ErrNotFound
	}
	return c, pinned, err
}

// PurgeDeleted drops, as DeleteTenant does, every tenant deleted softly
// more than retention ago, and returns their schemas. A tenant restored or
// purged meanwhile is left alone; a failure to drop one does not keep the
// others from being dropped (the errors are returned together).
func (s *Service) PurgeDeleted(ctx context.Context, retention time.Duration) ([]string, error) {
	if retention <= 0 {
		return nil, fmt.Errorf("provision: the retention must be positive, not %s", retention)
	}
	before := time.Now().Add(-retention)
	names, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) ([]string, error) {
		return q.ListPurgeableClients(ctx, before)
	})
	if err != nil {
		return nil, err
	}
	var purged []string
	var errs []error
	for _, n := range names {
		schema, err := db.ParseSchema(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = s.migrator.Lock(ctx, schema, func() error {
			// Holding the lock: still deleted, and long enough ago?
			c, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Client, error) {
				return q.GetClientBySchema(ctx, schema.String())
			})
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && (c.DeletedAt == nil || !c.DeletedAt.Before(before))) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := s.remove(ctx, schema); err != nil {
				return err
			}
			purged = append(purged, n)
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("purge tenant %s: %w", n, err))
		}
	}
	return purged, errors.Join(errs...)
}
