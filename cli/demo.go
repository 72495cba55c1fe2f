package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/provision"
)

// demoCommand makes the demo tenants, on a fresh database too.
func demoCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "demo",
		Usage: "create the demo tenants school1 and school2, each with user demo / demo123 (idempotent)",
		Description: "Refuses to run when APP_ENV=production. Adds the demo user only to tenants that\n" +
			"demo itself made: a tenant school1 or school2 made otherwise is left alone and\n" +
			"reported, and the exit status is 1.",
		Action: action(func(ctx context.Context, _ *ucli.Command) error {
			cfg, err := inv.config()
			if err != nil {
				return err
			}
			if cfg.Production() {
				return errors.New("refusing to run demo when APP_ENV=production: it makes tenants with the published password " + provision.DemoPassword)
			}
			if err := inv.open(ctx); err != nil {
				return err
			}
			// The public schema first, so that demo works on a fresh database.
			n, err := inv.migrator.MigratePublic(ctx)
			if err != nil {
				return fmt.Errorf("public schema: %w", err)
			}
			if n > 0 {
				fmt.Fprintf(inv.out(), "public schema: applied %s\n", plural(n, "migration"))
			}
			results, err := inv.svc.Demo(ctx)
			var skipped []string
			for _, r := range results {
				url := "http://" + r.Domain + urlPort(cfg.ListenAddr) + "/"
				switch r.Outcome {
				case provision.DemoCreated:
					fmt.Fprintf(inv.out(), "created %s (%s) with user %s / %s\n", r.Schema, url, provision.DemoUsername, provision.DemoPassword)
				case provision.DemoPresent:
					fmt.Fprintf(inv.out(), "%s already exists (%s); user %s present\n", r.Schema, url, provision.DemoUsername)
				case provision.DemoSkipped:
					fmt.Fprintf(inv.out(), "skipped %s: %s\n", r.Schema, r.Reason)
					skipped = append(skipped, r.Schema)
				}
			}
			if err != nil {
				return err
			}
			if len(skipped) > 0 {
				return fmt.Errorf("demo skipped %s: not made by tenantctl demo", strings.Join(skipped, " and "))
			}
			return nil
		}),
	}
}

// urlPort is the ":port" part of a URL to the server listening on addr
// (LISTEN_ADDR, such as ":8000" or "0.0.0.0:9000"), or "" for port 80.
func urlPort(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "80" {
		return ""
	}
	return ":" + port
}
