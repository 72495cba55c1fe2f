// Package server is the HTTP side: routing by Host to a tenant or the public
// site, authentication, the tenant API, and the admin.
package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/config"
)

// Run serves HTTP on cfg.ListenAddr until ctx ends, then shuts down
// gracefully, letting in-flight requests finish.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, pool *pgxpool.Pool) error {
	return errors.New("not implemented yet")
}
