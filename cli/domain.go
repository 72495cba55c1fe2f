package cli

import (
	"context"
	"fmt"

	ucli "github.com/urfave/cli/v3"
)

// domainCommand groups the domain mapping subcommands.
func domainCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:   "domain",
		Usage:  "map domains to tenants",
		Action: groupAction,
		Commands: []*ucli.Command{
			{
				Name:  "add",
				Usage: "map a domain to a tenant",
				Flags: []ucli.Flag{
					schemaFlag(),
					&ucli.StringFlag{Name: "domain", Usage: "the domain, such as www.acme.example.com", Required: true},
					&ucli.BoolFlag{Name: "primary", Usage: "make it the tenant's primary domain"},
				},
				Action: action(inv.domainAdd),
			},
			{
				Name:  "remove",
				Usage: "unmap a domain; if it was primary, the tenant's oldest other domain becomes primary",
				Flags: []ucli.Flag{
					&ucli.StringFlag{Name: "domain", Usage: "the domain", Required: true},
				},
				Action: action(inv.domainRemove),
			},
		},
	}
}

func (inv *invocation) domainAdd(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	if err := inv.open(ctx); err != nil {
		return err
	}
	d, err := inv.svc.AddDomain(ctx, schema, cmd.String("domain"), cmd.Bool("primary"))
	if err != nil {
		return notFound(err, "tenant", schema)
	}
	msg := fmt.Sprintf("added domain %s to tenant %s", d.Domain, schema)
	if d.IsPrimary {
		msg += " as its primary domain"
	}
	fmt.Fprintln(inv.out(), msg)
	return nil
}

func (inv *invocation) domainRemove(ctx context.Context, cmd *ucli.Command) error {
	domain := cmd.String("domain")
	if err := inv.open(ctx); err != nil {
		return err
	}
	if err := inv.svc.RemoveDomain(ctx, domain); err != nil {
		return notFound(err, "domain", domain)
	}
	fmt.Fprintf(inv.out(), "removed domain %s\n", domain)
	return nil
}
