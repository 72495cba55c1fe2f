package cli

import (
	"context"
	"fmt"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/telemetry"
)

// serveCommand runs the HTTP server.
func serveCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:        "serve",
		Usage:       "serve the HTTP API and the admin, and run background jobs, until interrupted",
		Description: "Migrates nothing: run tenantctl migrate first. Refuses to start with an unsafe\nconfiguration when APP_ENV=production. Runs up to WORKERS background jobs at\nonce; WORKERS=0 runs none (an API-only replica). In production it also needs\nSMTP_URL: email is sent by its workers.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "addr", Usage: "listen on this `address` instead of LISTEN_ADDR"},
		},
		Action: action(func(ctx context.Context, cmd *ucli.Command) error {
			cfg, err := inv.config()
			if err != nil {
				return err
			}
			if err := cfg.CheckProduction(); err != nil {
				return fmt.Errorf("refusing to serve: %w", err)
			}
			// The email job runs in serve's workers: in production its
			// email must reach an SMTP server, not the log.
			if err := cfg.CheckMail(); err != nil {
				return fmt.Errorf("refusing to serve: %w", err)
			}
			// Signup creates tenants this server must then answer for.
			if err := cfg.CheckSignup(); err != nil {
				return fmt.Errorf("refusing to serve: %w", err)
			}
			if cmd.IsSet("addr") {
				cfg.ListenAddr = cmd.String("addr")
			}
			if err := inv.open(ctx); err != nil {
				return err
			}
			// A server on an unmigrated database fails on every request;
			// say why once, up front, without refusing (a rolling deploy
			// may migrate from another host).
			if st, err := inv.migrator.PublicStatus(ctx); err != nil {
				inv.log.Warn("could not read the public schema's migration status", "error", err)
			} else if len(st.Pending) > 0 {
				inv.log.Warn("the public schema has pending migrations; run tenantctl migrate", "pending", len(st.Pending))
			}
			// Metrics (METRICS_ADDR) and traces (OTEL_EXPORTER_OTLP_ENDPOINT),
			// each off unless configured; stopped last, so that the spans
			// of the last requests and jobs are exported.
			tel, err := telemetry.Start(ctx, cfg, inv.log, inv.opts.Version)
			if err != nil {
				return err
			}
			defer func() {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				if err := tel.Shutdown(sctx); err != nil {
					inv.log.Error("stop telemetry", "error", err)
				}
			}()
			// The workers run alongside the server (none with WORKERS=0)
			// and stop after it: running jobs get a while to finish.
			q, err := inv.queue(ctx, cfg.Workers, tel)
			if err != nil {
				return err
			}
			if err := q.Start(context.WithoutCancel(ctx)); err != nil {
				return fmt.Errorf("start job workers: %w", err)
			}
			if cfg.Workers > 0 {
				inv.log.Info("job workers started", "workers", cfg.Workers)
			} else {
				inv.log.Info("job workers off (WORKERS=0)")
			}
			if cfg.SMTPURL == "" {
				inv.log.Info("email goes to the log (SMTP_URL unset)")
			} else {
				inv.log.Info("email goes to SMTP", "addr", cfg.SMTP.Addr())
			}
			serveErr := inv.opts.Serve(ctx, cfg, inv.log, inv.pool, tel)
			if err := q.Stop(30 * time.Second); err != nil {
				inv.log.Error("stop job workers", "error", err)
			} else if cfg.Workers > 0 {
				inv.log.Info("job workers stopped")
			}
			return serveErr
		}),
	}
}
