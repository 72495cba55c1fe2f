package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/migrate"
)

// The tenant migration the benchmark adds to time a migration over every
// tenant: one cheap DDL statement, as a real new column would be.
const (
	pendingVersion = "20990101000000"
	pendingFile    = "tenant/" + pendingVersion + "_bench_note.sql"
	pendingSQL     = "-- migrate:up\nALTER TABLE items ADD COLUMN bench_note text;\n\n-- migrate:down\nALTER TABLE items DROP COLUMN bench_note;\n"
)

// migrateTimings times `tenantctl migrate` over the tenants (the migrator's
// MigrateTenants, which the command runs) with nothing pending, then with
// pendingFile pending, and finally undoes that migration so the next
// tenant count starts clean.
func (r *runner) migrateTimings(ctx context.Context, tenants []*tenant) (MigrateTimes, error) {
	mt := MigrateTimes{Jobs: r.cfg.MigrateJobs}
	schemas := make([]db.Schema, len(tenants))
	for i, t := range tenants {
		schemas[i] = t.schema
	}
	fmt.Fprintf(r.log, "   migrate: nothing pending ...")
	start := time.Now()
	if err := checkApplied(r.migrator.MigrateTenants(ctx, schemas, r.cfg.MigrateJobs, nil), 0); err != nil {
		return mt, err
	}
	mt.NothingPendingS = round3(time.Since(start).Seconds())

	m, err := migrate.New(r.url(appSetup), r.pool)
	if err != nil {
		return mt, err
	}
	if m.Tenant, err = withPending(r.migrator.Tenant); err != nil {
		return mt, err
	}
	fmt.Fprintf(r.log, " %.2f s; one pending ...", mt.NothingPendingS)
	start = time.Now()
	if err := checkApplied(m.MigrateTenants(ctx, schemas, r.cfg.MigrateJobs, nil), 1); err != nil {
		return mt, err
	}
	mt.OnePendingS = round3(time.Since(start).Seconds())
	fmt.Fprintf(r.log, " %.2f s\n", mt.OnePendingS)

	start = time.Now()
	if err := r.undoPending(ctx, tenants); err != nil {
		return mt, fmt.Errorf("undo the pending migration: %w", err)
	}
	mt.UndoS = round3(time.Since(start).Seconds())
	return mt, nil
}

// checkApplied returns the failures of a MigrateTenants run, or an error if
// a tenant did not apply exactly want migrations.
func checkApplied(results []migrate.Result, want int) error {
	var errs []error
	for _, res := range results {
		switch {
		case res.Err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", res.Schema, res.Err))
		case res.Applied != want:
			errs = append(errs, fmt.Errorf("%s: applied %d migrations, expected %d", res.Schema, res.Applied, want))
		}
		if len(errs) == 5 {
			errs = append(errs, errors.New("..."))
			break
		}
	}
	return errors.Join(errs...)
}

// withPending returns the tenant migrations of base plus pendingFile.
func withPending(base fs.FS) (fs.FS, error) {
	files := fstest.MapFS{pendingFile: {Data: []byte(pendingSQL)}}
	err := fs.WalkDir(base, "tenant", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(base, path)
		files[path] = &fstest.MapFile{Data: b}
		return err
	})
	return files, err
}

// undoPending reverts pendingFile in every tenant: its column and its
// version row, bulkBatch tenants per transaction (db.InSpan), which at
// 100,000 tenants takes a fraction of one transaction per tenant.
func (r *runner) undoPending(ctx context.Context, tenants []*tenant) error {
	// The product's record of each tenant's versions (public.tenant_migrations)
	// goes back with the schema, so that the next tenant count's "nothing
	// pending" finds these tenants up to date, as a real migrate leaves them.
	versions, err := migrate.Versions(dbmate.Tenant, "tenant")
	if err != nil {
		return err
	}
	batches := (len(tenants) + bulkBatch - 1) / bulkBatch
	return forEach(ctx, r.cfg.MigrateJobs, batches, func(ctx context.Context, b int) error {
		return db.InSpan(ctx, r.pool, pgx.TxOptions{}, func(sp *db.Span) error {
			for _, t := range tenants[b*bulkBatch : min(len(tenants), (b+1)*bulkBatch)] {
				if _, err := sp.Tenant(ctx, t.schema); err != nil {
					return err
				}
				if _, err := sp.Tx().Exec(ctx, "ALTER TABLE items DROP COLUMN bench_note", pgx.QueryExecModeExec); err != nil {
					return fmt.Errorf("%s: %w", t.schema, err)
				}
				if _, err := sp.Tx().Exec(ctx, "DELETE FROM schema_migrations WHERE version = $1", pgx.QueryExecModeExec, pendingVersion); err != nil {
					return fmt.Errorf("%s: %w", t.schema, err)
				}
				if err := publicdb.New(sp.Tx()).SetTenantMigrations(ctx, versions); err != nil {
					return fmt.Errorf("%s: %w", t.schema, err)
				}
			}
			return nil
		})
	})
}
