package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/transfer"
)

func tenantExportCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "export",
		Usage: "write a tenant (registry rows, domains, migration version, every table's rows) to an archive",
		Description: "The archive is one consistent snapshot, streamed (memory does not grow with the\n" +
			"tenant's size) and checksummed; tenant import reads it, into this database or another.\n" +
			"A failed export leaves no file behind.",
		Flags: []ucli.Flag{
			schemaFlag(),
			&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the archive to `FILE` (- for stdout)", Required: true},
		},
		Action: action(inv.tenantExport),
	}
}

func (inv *invocation) tenantExport(ctx context.Context, cmd *ucli.Command) error {
	schema, err := provision.ParseSchema(cmd.String("schema"))
	if err != nil {
		return err
	}
	out := cmd.String("output")
	if out == "-" && inv.opts.StdoutTerminal {
		return usageErrorf("refusing to write an archive to a terminal: redirect stdout, or give -o FILE")
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	var sum transfer.Summary
	if out == "-" {
		if sum, err = transfer.Export(ctx, inv.pool, schema, inv.out()); err != nil {
			return notFound(err, "tenant", schema.String())
		}
		// stdout is the archive: the summary goes to stderr.
		fmt.Fprintf(inv.errOut(), "exported tenant %s: %s\n", sum.Schema, describeSize(sum))
		return nil
	}
	// Into a temporary file beside FILE, renamed over it once complete: a
	// failed export leaves neither a partial archive nor a lost old one.
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	defer os.Remove(f.Name()) // after the rename, there is nothing left to remove
	sum, err = transfer.Export(ctx, inv.pool, schema, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return notFound(err, "tenant", schema.String())
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(inv.out(), "exported tenant %s to %s: %s\n", sum.Schema, out, describeSize(sum))
	return nil
}

func tenantImportCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:      "import",
		Usage:     "create a tenant from an archive of tenant export (- reads stdin)",
		ArgsUsage: "FILE",
		Description: "All or nothing, in one transaction: the tenant's registry rows, its schema at the\n" +
			"archive's migration version, its rows (ids kept), then its migrations up to this\n" +
			"tenantctl's newest. Refused when the schema or a domain is taken, when the archive\n" +
			"is newer than this tenantctl, or truncated or altered (its checksum is verified\n" +
			"before anything commits). --domain replaces the archive's domains (the first given\n" +
			"is primary): needed to import next to the original.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "schema", Usage: "the new tenant's schema name (default: the archive's)"},
			&ucli.StringFlag{Name: "name", Usage: "the new tenant's display name (default: the archive's)"},
			&ucli.StringSliceFlag{Name: "domain", Usage: "a domain of the new tenant in place of the archive's (repeat for several; the first is primary)"},
		},
		Action: inv.tenantImport,
	}
}

func (inv *invocation) tenantImport(ctx context.Context, cmd *ucli.Command) error {
	switch cmd.Args().Len() {
	case 0:
		return usageErrorf("missing FILE: the archive to import (- for stdin)")
	case 1:
	default:
		return usageErrorf("unexpected argument %q: import takes one FILE", cmd.Args().Get(1))
	}
	o, err := inv.transferOptions(cmd)
	if err != nil {
		return err
	}
	var in io.Reader = inv.opts.Stdin
	file := cmd.Args().First()
	if file == "-" && inv.opts.Terminal != nil {
		return usageErrorf("refusing to read an archive from a terminal: pipe one into stdin, or give its FILE")
	}
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err // "open FILE: no such file or directory"
		}
		defer f.Close()
		in = f
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	sum, err := transfer.Import(ctx, inv.pool, inv.migrator, in, o)
	if err != nil {
		return nothingImported(err)
	}
	fmt.Fprintf(inv.out(), "imported tenant %s at %s: %s\n", sum.Schema, strings.Join(sum.Domains, ","), describeImport(sum))
	return nil
}

// transferOptions reads the flags import and clone share.
func (inv *invocation) transferOptions(cmd *ucli.Command) (transfer.Options, error) {
	o := transfer.Options{Schema: cmd.String("schema"), Name: cmd.String("name"), Domains: cmd.StringSlice("domain")}
	if o.Schema != "" {
		if _, err := provision.ParseSchema(o.Schema); err != nil {
			return o, err
		}
	}
	if cmd.IsSet("name") {
		if err := provision.ValidateName(o.Name); err != nil {
			return o, err
		}
	}
	cfg, err := inv.config()
	if err != nil {
		return o, err
	}
	o.PublicHosts = cfg.PublicHosts
	for _, d := range o.Domains {
		if _, err := provision.TenantDomain(d, o.PublicHosts); err != nil {
			return o, err
		}
	}
	return o, nil
}

func tenantCloneCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "clone",
		Usage: "copy a tenant within this database under a new schema (export piped into import)",
		Description: "The copy has the source's rows and ids, and its own domain: --domain, or else\n" +
			"<schema>.TENANT_BASE_DOMAIN (underscores in the schema name become hyphens),\n" +
			"as self-service signup names its tenants. All or nothing, as tenant import.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "from", Usage: "the schema of the tenant to copy", Required: true},
			schemaFlag(),
			&ucli.StringFlag{Name: "name", Usage: "the copy's display name (default: the source's)"},
			&ucli.StringSliceFlag{Name: "domain", Usage: "a domain of the copy (repeat for several; the first is primary; default <schema>.TENANT_BASE_DOMAIN)"},
		},
		Action: action(inv.tenantClone),
	}
}

func (inv *invocation) tenantClone(ctx context.Context, cmd *ucli.Command) error {
	from, err := provision.ParseSchema(cmd.String("from"))
	if err != nil {
		return err
	}
	o, err := inv.transferOptions(cmd)
	if err != nil {
		return err
	}
	if o.Schema == from.String() {
		return usageErrorf("--schema must differ from --from: a clone is a new tenant")
	}
	if len(o.Domains) == 0 {
		cfg, _ := inv.config() // loaded by transferOptions
		d := strings.ReplaceAll(o.Schema, "_", "-") + "." + cfg.TenantBaseDomain
		if _, err := provision.TenantDomain(d, o.PublicHosts); err != nil {
			return fmt.Errorf("the default domain %s: %w; give one with --domain", d, err)
		}
		o.Domains = []string{d}
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	sum, err := transfer.Clone(ctx, inv.pool, inv.migrator, from, o)
	if err != nil {
		return nothingImported(notFound(err, "tenant", from.String()))
	}
	fmt.Fprintf(inv.out(), "cloned tenant %s to %s at %s: %s\n", from, sum.Schema, strings.Join(sum.Domains, ","), describeImport(sum))
	return nil
}

// nothingImported says, with err, that the import left nothing behind.
func nothingImported(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w; nothing was imported", err)
}

// describeSize is an archive's contents and size.
func describeSize(sum transfer.Summary) string {
	return fmt.Sprintf("%d tables, %d rows, %s", sum.Tables, sum.Rows, humanBytes(sum.Bytes))
}

// describeImport is what an import made.
func describeImport(sum transfer.Summary) string {
	s := describeSize(sum)
	if sum.Migrated > 0 {
		s += fmt.Sprintf("; %d newer migrations applied", sum.Migrated)
	}
	if sum.Deleted {
		s += fmt.Sprintf("; it was deleted softly, and still is (tenantctl tenant restore --schema %s)", sum.Schema)
	}
	return s
}

// humanBytes is n in B, kB, MB or GB (powers of 1000).
func humanBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
