package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/provision"
)

// apikeyCommand manages a tenant's API keys (the same keys as
// /api/api-keys/): for an operator who sets up a machine's access, or
// revokes a leaked key, without signing in as the tenant's user.
func apikeyCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:   "apikey",
		Usage:  "manage a tenant's API keys",
		Action: groupAction,
		Commands: []*ucli.Command{
			{
				Name:  "create",
				Usage: "create an API key acting as a user of a tenant; prints the key, once",
				Description: "The key is printed on stdout and shown nowhere again: only its hash is stored.\n" +
					"It acts as the user (with their role, while they are active), limited by --scope.",
				Flags: []ucli.Flag{
					schemaFlag(),
					&ucli.StringFlag{Name: "username", Usage: "the user the key acts as", Required: true},
					&ucli.StringFlag{Name: "name", Usage: "what the key is for", Required: true},
					&ucli.StringFlag{Name: "scope", Usage: "read or read_write", Required: true},
					&ucli.StringFlag{Name: "expires-at", Usage: "when the key stops working (RFC 3339); never if not given"},
				},
				Action: action(inv.apikeyCreate),
			},
			{
				Name:  "list",
				Usage: "list a tenant's API keys not revoked (prefixes, never the keys)",
				Flags: []ucli.Flag{
					schemaFlag(),
					&ucli.BoolFlag{Name: "json", Usage: "print a JSON array"},
				},
				Action: action(inv.apikeyList),
			},
			{
				Name:  "revoke",
				Usage: "revoke an API key of a tenant: it is refused from the next request on",
				Flags: []ucli.Flag{
					schemaFlag(),
					&ucli.Int64Flag{Name: "id", Usage: "the key's id (apikey list)", Required: true},
				},
				Action: action(inv.apikeyRevoke),
			},
		},
	}
}

func (inv *invocation) apikeyCreate(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	if err := checkSchema(schema); err != nil {
		return err
	}
	p := provision.APIKeyParams{Username: cmd.String("username"), Name: cmd.String("name"), Scope: cmd.String("scope")}
	if s := cmd.String("expires-at"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return &provision.FieldError{Field: "expires_at", Message: "not an RFC 3339 time, e.g. 2027-06-30T00:00:00Z"}
		}
		p.ExpiresAt = &t
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	k, key, err := inv.svc.CreateAPIKey(ctx, schema, p)
	if err != nil {
		return notFound(err, "tenant", schema)
	}
	fmt.Fprintf(inv.errOut(), "created API key %d (%s, scope %s) in tenant %s; it is shown only now:\n", k.ID, k.Name, k.Scope, schema)
	fmt.Fprintln(inv.out(), key)
	return nil
}

func (inv *invocation) apikeyList(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	if err := checkSchema(schema); err != nil {
		return err
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	keys, err := inv.svc.ListAPIKeys(ctx, schema)
	if err != nil {
		return notFound(err, "tenant", schema)
	}
	if cmd.Bool("json") {
		if keys == nil {
			keys = []provision.APIKey{}
		}
		return writeJSON(inv.out(), keys)
	}
	tw := tabwriter.NewWriter(inv.out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPE\tCREATED BY\tCREATED\tEXPIRES\tLAST USED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, k.Scope, k.CreatedBy,
			k.CreatedAt.Local().Format(dateLayout), dateOrDash(k.ExpiresAt), dateOrDash(k.LastUsedAt))
	}
	return tw.Flush()
}

func (inv *invocation) apikeyRevoke(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	if err := checkSchema(schema); err != nil {
		return err
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	id := cmd.Int64("id")
	k, err := inv.svc.RevokeAPIKey(ctx, schema, id)
	if err != nil {
		return notFound(err, "API key", fmt.Sprintf("%d of tenant %s", id, schema))
	}
	fmt.Fprintf(inv.out(), "revoked API key %d (%s) of tenant %s\n", k.ID, k.Name, schema)
	return nil
}
