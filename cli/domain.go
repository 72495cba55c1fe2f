package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/provision"
)

// domainCommand groups the domain mapping subcommands.
func domainCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:   "domain",
		Usage:  "map domains to tenants, and list them",
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
				Name:  "list",
				Usage: "list the mapped domains, of every tenant or of one",
				Flags: []ucli.Flag{
					&ucli.StringFlag{Name: "schema", Usage: "only this tenant's domains"},
					&ucli.BoolFlag{Name: "json", Usage: "print a JSON array"},
				},
				Action: action(inv.domainList),
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

// domainJSON is one domain of domain list --json: the admin API's domain
// JSON with the tenant's schema.
type domainJSON struct {
	Domain     string    `json:"domain"`
	SchemaName string    `json:"schema_name"`
	IsPrimary  bool      `json:"is_primary"`
	CreatedAt  time.Time `json:"created_at"`
}

func (inv *invocation) domainList(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	if cmd.IsSet("schema") {
		if _, err := db.ParseSchema(schema); err != nil {
			return &provision.FieldError{Field: "schema_name", Message: err.Error()}
		}
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	domains, err := inv.svc.ListAllDomains(ctx, schema)
	if err != nil {
		return notFound(err, "tenant", schema)
	}
	if cmd.Bool("json") {
		out := make([]domainJSON, len(domains))
		for i, d := range domains {
			out[i] = domainJSON{Domain: d.Domain, SchemaName: d.Schema, IsPrimary: d.IsPrimary, CreatedAt: d.CreatedAt.UTC()}
		}
		return writeJSON(inv.out(), out)
	}
	tw := tabwriter.NewWriter(inv.out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tSCHEMA\tPRIMARY\tCREATED")
	for _, d := range domains {
		primary := "no"
		if d.IsPrimary {
			primary = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Domain, d.Schema, primary, d.CreatedAt.Local().Format(dateLayout))
	}
	return tw.Flush()
}
