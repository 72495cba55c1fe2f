package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/provision"
)

// dateLayout is the YYYY-MM-DD form of --paid-until and of dates printed.
const dateLayout = "2006-01-02"

// tenantCommand groups the tenant subcommands.
func tenantCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:   "tenant",
		Usage:  "create, list, update, delete and restore tenants; export, import and clone them",
		Action: groupAction,
		Commands: []*ucli.Command{
			tenantCreateCommand(inv),
			tenantListCommand(inv),
			tenantUpdateCommand(inv),
			tenantDeleteCommand(inv),
			tenantRestoreCommand(inv),
			tenantMoveCommand(inv),
			tenantExportCommand(inv),
			tenantImportCommand(inv),
			tenantCloneCommand(inv),
		},
	}
}

func tenantCreateCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "create",
		Usage: "create a tenant: its schema, migrated, its primary domain and optionally its first (staff) user",
		Description: "All or nothing: if any step fails, nothing of the tenant is left behind.\n" +
			"With --admin-username and no password flag, the password is asked for on the terminal.",
		Flags: append([]ucli.Flag{
			schemaFlag(),
			&ucli.StringFlag{Name: "name", Usage: "the tenant's display name", Required: true},
			&ucli.StringFlag{Name: "domain", Usage: "the tenant's primary domain, such as acme.example.com", Required: true},
			&ucli.StringFlag{Name: "paid-until", Usage: "the `date` the tenant has paid until, as YYYY-MM-DD"},
			&ucli.BoolFlag{Name: "on-trial", Usage: "mark the tenant as on trial"},
			&ucli.StringFlag{Name: "admin-username", Usage: "create this staff user in the tenant"},
			&ucli.StringFlag{Name: "admin-email", Usage: "the admin user's email"},
		}, passwordFlags("admin-password", "admin user's")...),
		Action: action(inv.tenantCreate),
	}
}

func (inv *invocation) tenantCreate(ctx context.Context, cmd *ucli.Command) error {
	p := provision.TenantParams{
		Schema:  cmd.String("schema"),
		Name:    cmd.String("name"),
		Domain:  cmd.String("domain"),
		OnTrial: cmd.Bool("on-trial"),
	}
	if cmd.IsSet("paid-until") {
		d, err := time.Parse(dateLayout, cmd.String("paid-until"))
		if err != nil {
			return fmt.Errorf("--paid-until: %q is not a date in the form YYYY-MM-DD", cmd.String("paid-until"))
		}
		p.PaidUntil = &d
	}
	if cmd.IsSet("admin-username") {
		p.Admin = &provision.UserParams{Username: cmd.String("admin-username"), Email: cmd.String("admin-email"), Staff: true}
		if err := checkPasswordFlags(cmd, "admin-password"); err != nil {
			return err
		}
	} else {
		for _, f := range []string{"admin-email", "admin-password", "admin-password-stdin"} {
			if cmd.IsSet(f) {
				return usageErrorf("--%s needs --admin-username", f)
			}
		}
	}
	// Check the cheap things before asking for a password, so a typo in the
	// schema name is not reported only after the user typed it twice.
	if _, err := db.ParseSchema(p.Schema); err != nil {
		return &provision.FieldError{Field: "schema_name", Message: err.Error()}
	}
	if _, err := provision.ParseDomain(p.Domain); err != nil {
		return err
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	if p.Admin != nil {
		pw, err := inv.password(ctx, cmd, "admin-password", "the admin user")
		if err != nil {
			return err
		}
		p.Admin.Password = pw
	}

	c, err := inv.svc.CreateTenant(ctx, p)
	if err != nil {
		return err
	}
	domain, _ := provision.ParseDomain(p.Domain)
	msg := fmt.Sprintf("created tenant %s (%s) at %s", c.SchemaName, c.Name, domain)
	if p.Admin != nil {
		msg += " with admin user " + p.Admin.Username
	}
	fmt.Fprintln(inv.out(), msg)
	return nil
}

func tenantListCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "list",
		Usage: "list the tenants with their domains",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "json", Usage: "print a JSON array"},
		},
		Action: action(func(ctx context.Context, cmd *ucli.Command) error {
			return inv.tenantList(ctx, cmd.Bool("json"))
		}),
	}
}

// tenantJSON is one tenant of tenant list --json, with the keys and values
// of the admin API's tenant JSON.
type tenantJSON struct {
	ID            int64      `json:"id"`
	SchemaName    string     `json:"schema_name"`
	Name          string     `json:"name"`
	State         string     `json:"state"`
	OnTrial       bool       `json:"on_trial"`
	PaidUntil     *string    `json:"paid_until"`
	CreatedAt     time.Time  `json:"created_at"`
	PrimaryDomain *string    `json:"primary_domain"`
	Domains       []string   `json:"domains"`
	DeletedAt     *time.Time `json:"deleted_at"`
}

// listPageSize is how many tenants tenant list reads at a time: its memory
// is one page's, however many tenants there are.
const listPageSize = 1000

// eachTenantPage calls fn with every tenant, by schema name, a page at a
// time, each page read in a transaction of its own (keyset on the schema
// name, so a tenant created or deleted meanwhile shifts nothing).
func (inv *invocation) eachTenantPage(ctx context.Context, fn func([]publicdb.ListClientsAfterRow) error) error {
	after := ""
	for {
		rows, err := db.InPublicV(ctx, inv.pool, func(q *publicdb.Queries) ([]publicdb.ListClientsAfterRow, error) {
			return q.ListClientsAfter(ctx, publicdb.ListClientsAfterParams{After: after, Lim: listPageSize})
		})
		if err != nil || len(rows) == 0 {
			return err
		}
		if err := fn(rows); err != nil {
			return err
		}
		if len(rows) < listPageSize {
			return nil
		}
		after = rows[len(rows)-1].SchemaName
	}
}

func (inv *invocation) tenantList(ctx context.Context, asJSON bool) error {
	if err := inv.open(ctx); err != nil {
		return err
	}
	w := bufio.NewWriter(inv.out())
	var err error
	if asJSON {
		err = inv.tenantListJSON(ctx, w)
	} else {
		err = inv.tenantListText(ctx, w)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// tenantListJSON streams the tenants as writeJSON prints a []tenantJSON,
// byte for byte, one element at a time.
func (inv *invocation) tenantListJSON(ctx context.Context, w io.Writer) error {
	n := 0
	err := inv.eachTenantPage(ctx, func(rows []publicdb.ListClientsAfterRow) error {
		for _, t := range rows {
			j := tenantJSON{
				ID: t.ID, SchemaName: t.SchemaName, Name: t.Name, State: t.State, OnTrial: t.OnTrial,
				CreatedAt: t.CreatedAt.UTC(), Domains: append([]string{}, t.Domains...),
			}
			if t.PaidUntil != nil {
				d := t.PaidUntil.Format(dateLayout)
				j.PaidUntil = &d
			}
			if t.PrimaryDomain != "" {
				j.PrimaryDomain = &t.PrimaryDomain
			}
			if t.DeletedAt != nil {
				d := t.DeletedAt.UTC()
				j.DeletedAt = &d
			}
			// An element of an indented array: its lines indented once
			// more, after "[" or the previous element's ",".
			b, err := json.MarshalIndent(j, "  ", "  ")
			if err != nil {
				return err
			}
			sep := ",\n  "
			if n == 0 {
				sep = "[\n  "
			}
			n++
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	end := "\n]\n"
	if n == 0 {
		end = "[]\n"
	}
	_, err = io.WriteString(w, end)
	return err
}

// listHeader is tenant list's header row, one cell per column.
var listHeader = []string{"NAME", "SCHEMA", "DOMAINS", "CREATED", "TRIAL", "PAID UNTIL", "DELETED AT"}

// tenantListText streams the tenants as a table laid out as a
// text/tabwriter (padding 2) would lay it out, without holding every row as
// a tabwriter does: the widths of the columns that vary are read from the
// database first.
func (inv *invocation) tenantListText(ctx context.Context, w io.Writer) error {
	wd, err := db.InPublicV(ctx, inv.pool, func(q *publicdb.Queries) (publicdb.ClientListWidthsRow, error) {
		return q.ClientListWidths(ctx)
	})
	if err != nil {
		return err
	}
	// Every column but the last is as wide as its widest cell plus 2; the
	// fixed ones hold a date (10), yes or no, or a date or "-".
	widths := []int{int(wd.Name), int(wd.SchemaName), int(wd.Domains), len(dateLayout), len("yes"), len(dateLayout)}
	for i := range widths {
		widths[i] = max(widths[i], utf8.RuneCountInString(listHeader[i])) + 2
	}
	row := func(cells ...string) error {
		var b strings.Builder
		for i, c := range cells[:len(cells)-1] {
			b.WriteString(c)
			// A cell wider than its column (a tenant renamed since the
			// widths were read) pushes the rest of its row only.
			b.WriteString(strings.Repeat(" ", max(0, widths[i]-utf8.RuneCountInString(c))))
		}
		b.WriteString(cells[len(cells)-1])
		b.WriteByte('\n')
		_, err := io.WriteString(w, b.String())
		return err
	}
	if err := row(listHeader...); err != nil {
		return err
	}
	return inv.eachTenantPage(ctx, func(rows []publicdb.ListClientsAfterRow) error {
		for _, t := range rows {
			name := t.Name
			if t.State != "ready" {
				name += " (provisioning)"
			}
			trial, paid, deleted := "no", "-", "-"
			if t.OnTrial {
				trial = "yes"
			}
			if t.PaidUntil != nil {
				paid = t.PaidUntil.Format(dateLayout)
			}
			if t.DeletedAt != nil {
				deleted = t.DeletedAt.UTC().Format(time.RFC3339)
			}
			if err := row(cell(name), t.SchemaName, strings.Join(t.Domains, ","), t.CreatedAt.Local().Format(dateLayout), trial, paid, deleted); err != nil {
				return err
			}
		}
		return nil
	})
}

// cell makes text safe for one tabwriter cell: tabs and newlines would
// break the columns.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func tenantUpdateCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "update",
		Usage: "change a tenant's name, paid-until date or trial flag; only the flags given change",
		Flags: []ucli.Flag{
			schemaFlag(),
			&ucli.StringFlag{Name: "name", Usage: "the tenant's new display name"},
			&ucli.StringFlag{Name: "paid-until", Usage: "the `date` the tenant has paid until, as YYYY-MM-DD; \"\" clears it"},
			&ucli.BoolFlag{Name: "on-trial", Usage: "whether the tenant is on trial (--on-trial=false ends the trial)"},
		},
		Action: action(inv.tenantUpdate),
	}
}

func (inv *invocation) tenantUpdate(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	var ch provision.TenantChanges
	if cmd.IsSet("name") {
		n := cmd.String("name")
		ch.Name = &n
	}
	if cmd.IsSet("on-trial") {
		b := cmd.Bool("on-trial")
		ch.OnTrial = &b
	}
	if cmd.IsSet("paid-until") {
		if v := cmd.String("paid-until"); v == "" {
			ch.ClearPaidUntil = true
		} else {
			d, err := time.Parse(dateLayout, v)
			if err != nil {
				return fmt.Errorf("--paid-until: %q is not a date in the form YYYY-MM-DD (or \"\" to clear it)", v)
			}
			ch.PaidUntil = &d
		}
	}
	if ch == (provision.TenantChanges{}) {
		return usageErrorf("nothing to change: give --name, --paid-until or --on-trial")
	}
	if _, err := db.ParseSchema(schema); err != nil {
		return &provision.FieldError{Field: "schema_name", Message: err.Error()}
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	c, err := inv.svc.UpdateTenant(ctx, schema, ch)
	if err != nil {
		return notFound(err, "tenant", schema)
	}
	trial, paid := "no", "-"
	if c.OnTrial {
		trial = "yes"
	}
	if c.PaidUntil != nil {
		paid = c.PaidUntil.Format(dateLayout)
	}
	fmt.Fprintf(inv.out(), "updated tenant %s (%s): on trial %s, paid until %s\n", c.SchemaName, c.Name, trial, paid)
	return nil
}

func tenantDeleteCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "delete",
		Usage: "delete a tenant: drop its schema with all its data, and its domains (--soft: can be undone)",
		Description: "Asks to type the schema name to confirm, unless --yes is given.\n" +
			"Refuses without --yes when stdin is not a terminal.\n" +
			"With --soft the tenant stops answering (its hosts answer 404) and its sign-ins end,\n" +
			"but its schema, data and domains are kept for TENANT_RETENTION (default 30 days):\n" +
			"tenant restore brings it back; the daily purge job then deletes it permanently.",
		Flags: []ucli.Flag{
			schemaFlag(),
			&ucli.BoolFlag{Name: "soft", Usage: "unroute the tenant and keep its data for TENANT_RETENTION (undo with tenant restore)"},
			&ucli.BoolFlag{Name: "yes", Usage: "do not ask for confirmation"},
		},
		Action: action(inv.tenantDelete),
	}
}

func (inv *invocation) tenantDelete(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	if _, err := db.ParseSchema(schema); err != nil {
		return &provision.FieldError{Field: "schema_name", Message: err.Error()}
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	c, err := inv.svc.GetTenant(ctx, schema)
	if err != nil {
		return notFound(err, "tenant", schema)
	}
	soft := cmd.Bool("soft")
	if soft && c.DeletedAt != nil {
		return fmt.Errorf("tenant %s is already deleted (on %s); restore it with tenant restore, or delete it permanently without --soft",
			c.SchemaName, c.DeletedAt.UTC().Format(time.RFC3339))
	}
	if !cmd.Bool("yes") {
		if inv.opts.Terminal == nil {
			return errors.New("refusing to delete without --yes when not on a terminal")
		}
		if soft {
			fmt.Fprintf(inv.errOut(), "This deletes tenant %s (%s): its hosts stop answering and its sign-ins end; its data is kept and can be restored until the retention ends.\n", c.SchemaName, c.Name)
		} else {
			fmt.Fprintf(inv.errOut(), "This permanently deletes tenant %s (%s): its schema with all of its data, and its domains.\n", c.SchemaName, c.Name)
		}
		fmt.Fprintf(inv.errOut(), "Type the schema name to confirm: ")
		typed, err := inv.readLine(ctx)
		if err != nil {
			return fmt.Errorf("confirmation: %w", err)
		}
		if strings.TrimSpace(typed) != c.SchemaName {
			return fmt.Errorf("confirmation %q does not match %q; nothing deleted", strings.TrimSpace(typed), c.SchemaName)
		}
	}
	if soft {
		t, err := inv.svc.SoftDeleteTenant(ctx, schema)
		if err != nil {
			return notFound(err, "tenant", schema)
		}
		fmt.Fprintf(inv.out(), "deleted tenant %s (%s) softly at %s; restore it with: tenantctl tenant restore --schema %s\n",
			t.Schema, t.Name, t.DeletedAt.UTC().Format(time.RFC3339), t.Schema)
		return nil
	}
	if err := inv.svc.DeleteTenant(ctx, schema); err != nil {
		return notFound(err, "tenant", schema)
	}
	fmt.Fprintf(inv.out(), "deleted tenant %s (%s)\n", c.SchemaName, c.Name)
	return nil
}

func tenantRestoreCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "restore",
		Usage: "restore a tenant deleted with --soft: its hosts answer again, with its data",
		Description: "Sign-ins made before the deletion stay ended: its users sign in again.\n" +
			"Fails for a tenant that is not deleted or not known.",
		Flags:  []ucli.Flag{schemaFlag()},
		Action: action(inv.tenantRestore),
	}
}

func (inv *invocation) tenantRestore(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	if _, err := db.ParseSchema(schema); err != nil {
		return &provision.FieldError{Field: "schema_name", Message: err.Error()}
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	t, err := inv.svc.RestoreTenant(ctx, schema)
	if errors.Is(err, provision.ErrTenantLive) {
		return fmt.Errorf("tenant %s is not deleted: there is nothing to restore", schema)
	}
	if err != nil {
		return notFound(err, "tenant", schema)
	}
	fmt.Fprintf(inv.out(), "restored tenant %s (%s) at %s\n", t.Schema, t.Name, strings.Join(t.Domains, ","))
	return nil
}
