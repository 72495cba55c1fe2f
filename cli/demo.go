package cli

import (
	"context"
	"fmt"

	ucli "github.com/urfave/cli/v3"
)

// demoCommand makes the demo tenants, on a fresh database too.
func demoCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "demo",
		Usage: "create the demo tenants school1 and school2, each with user demo / demo123 (idempotent)",
		Action: action(func(ctx context.Context, _ *ucli.Command) error {
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
			report, err := inv.svc.Demo(ctx)
			for _, line := range report {
				fmt.Fprintln(inv.out(), line)
			}
			return err
		}),
	}
}
