package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// Builtin registers the product's own jobs.
func Builtin(ws *river.Workers, pool *pgxpool.Pool) {
	AddTenantWorker(ws, pool, purgeRefreshTokens)
}

// PurgeRefreshTokensArgs deletes a tenant's expired refresh tokens, which
// nothing else removes. Enqueue it for every tenant with ForEachTenant.
type PurgeRefreshTokensArgs struct {
	TenantArgs
}

// Kind is the job's name in River's tables and in tenantctl jobs list.
func (PurgeRefreshTokensArgs) Kind() string { return "tenant.purge_refresh_tokens" }

func purgeRefreshTokens(ctx context.Context, _ *river.Job[PurgeRefreshTokensArgs], q *tenantdb.Queries) error {
	_, err := q.DeleteExpiredRefreshTokens(ctx)
	return err
}
