package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/migrate"
)

// migrateCommand applies pending migrations to the public schema and to
// tenant schemas.
func migrateCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "migrate",
		Usage: "apply pending migrations: the public schema, then every tenant",
		Description: "Without flags, migrates the public schema and then every tenant, --jobs at a time.\n" +
			"A failing tenant does not stop the others; the exit status is non-zero if any failed.",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "shared", Usage: "migrate the public (shared) schema"},
			&ucli.BoolFlag{Name: "tenants", Usage: "migrate every tenant"},
			&ucli.StringSliceFlag{Name: "schema", Usage: "migrate only this tenant (repeatable)"},
			&ucli.IntFlag{Name: "jobs", Value: 4, Usage: "tenants migrated at once"},
		},
		Commands: []*ucli.Command{statusCommand(inv)},
		Action: action(func(ctx context.Context, cmd *ucli.Command) error {
			return inv.migrate(ctx, cmd.Bool("shared"), cmd.Bool("tenants"), cmd.StringSlice("schema"), cmd.Int("jobs"))
		}),
	}
}

func (inv *invocation) migrate(ctx context.Context, shared, tenants bool, names []string, jobs int) error {
	if jobs < 1 {
		return usageErrorf("--jobs must be at least 1, not %d", jobs)
	}
	// Without --shared or --tenants, migrate whatever --schema leaves out:
	// everything, or with --schema only the named tenants.
	doPublic := shared || (!tenants && len(names) == 0)
	doTenants := tenants || len(names) > 0 || !shared

	var only []db.Schema
	for _, n := range names {
		s, err := db.ParseSchema(n)
		if err != nil {
			return fmt.Errorf("--schema: %w", err)
		}
		if !slices.Contains(only, s) {
			only = append(only, s)
		}
	}
	// A lock connection and a query connection per job, and one to spare.
	if err := inv.open(ctx); err != nil {
		return err
	}
	if doTenants {
		// Before anything is applied: a file the linter refuses stops the
		// whole run with one error rather than failing every tenant.
		if err := inv.migrator.LintTenants(); err != nil {
			return fmt.Errorf("%w; nothing was migrated", err)
		}
	}
	if doPublic {
		n, err := inv.migrator.MigratePublic(ctx)
		if err != nil {
			return fmt.Errorf("public schema: %w", err)
		}
		if n == 0 {
			fmt.Fprintln(inv.out(), "public schema: up to date")
		} else {
			fmt.Fprintf(inv.out(), "public schema: applied %s\n", plural(n, "migration"))
		}
	}
	if !doTenants {
		return nil
	}

	removed, err := inv.svc.RemoveStale(ctx)
	for _, s := range removed {
		fmt.Fprintf(inv.out(), "removed %s: a tenant left half-made by an interrupted tenant create\n", s)
	}
	if err != nil {
		return fmt.Errorf("remove half-made tenants: %w", err)
	}

	schemas, err := inv.readySchemas(ctx)
	if err != nil {
		return err
	}
	if len(only) > 0 {
		var missing []string
		for _, s := range only {
			if !slices.Contains(schemas, s) {
				missing = append(missing, fmt.Sprintf("%q", s.String()))
			}
		}
		switch len(missing) {
		case 0:
		case 1:
			return fmt.Errorf("--schema: tenant %s not found", missing[0])
		default:
			return fmt.Errorf("--schema: tenants %s not found", strings.Join(missing, ", "))
		}
		schemas = only
	}
	return inv.migrateTenants(ctx, schemas, jobs)
}

// readySchemas lists the schemas of the tenants that are ready.
func (inv *invocation) readySchemas(ctx context.Context) ([]db.Schema, error) {
	names, err := db.InPublicV(ctx, inv.pool, func(q *publicdb.Queries) ([]string, error) {
		return q.ListClientSchemas(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	schemas := make([]db.Schema, 0, len(names))
	for _, n := range names {
		s, err := db.ParseSchema(n)
		if err != nil {
			// The clients table's CHECK makes this unreachable.
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		schemas = append(schemas, s)
	}
	return schemas, nil
}

// migrateTenants migrates schemas in parallel, reporting progress as it goes
// and a summary at the end. It returns an error if any tenant failed.
//
// Only the tenants not recorded as up to date are visited (see
// migrate.MigrateTenants), and the progress counts those. On a terminal one
// live line shows it; otherwise a line on stderr every few seconds gives
// the count and the rate, readable in a CI log, beside the per-tenant lines
// of the tenants that applied or failed.
func (inv *invocation) migrateTenants(ctx context.Context, schemas []db.Schema, jobs int) error {
	w, total := inv.out(), len(schemas)
	live := inv.opts.StdoutTerminal && total > 0
	every := inv.opts.ProgressInterval
	if every == 0 {
		every = 5 * time.Second
	}
	start := time.Now()
	last := start
	visited := false
	// MigrateTenants calls progress from one goroutine at a time.
	progress := func(p migrate.Progress) {
		r := p.Result
		visited = true
		rate := float64(p.Done) / max(time.Since(start).Seconds(), 1e-3)
		switch {
		case live:
			state := "ok"
			if r.Err != nil {
				state = "FAILED"
			}
			// \x1b[K clears what a longer previous line left behind.
			fmt.Fprintf(w, "\r[%d/%d] migrating tenants (%.0f/s)... %s %s\x1b[K", p.Done, p.Total, rate, r.Schema, state)
		case r.Err != nil:
			fmt.Fprintf(w, "[%d/%d] %s: FAILED: %s\n", p.Done, p.Total, r.Schema, oneLine(r.Err.Error()))
		case r.Applied > 0:
			fmt.Fprintf(w, "[%d/%d] %s: applied %s in %s\n", p.Done, p.Total, r.Schema, plural(r.Applied, "migration"), r.Duration.Round(time.Millisecond))
		}
		if !live && (time.Since(last) >= every || p.Done == p.Total) {
			last = time.Now()
			fmt.Fprintf(inv.errOut(), "migrating tenants: %d/%d visited (%.0f/s), %d up to date by public.tenant_migrations\n",
				p.Done, p.Total, rate, total-p.Total)
		}
	}
	results := inv.migrator.MigrateTenants(ctx, schemas, jobs, progress)
	if live && visited {
		fmt.Fprintln(w)
	}

	var applied, upToDate, interrupted int
	var failed []migrate.Result
	for _, r := range results {
		switch {
		case r.Err != nil && ctx.Err() != nil && errors.Is(r.Err, ctx.Err()):
			// Not failed, just not reached: listing each would bury the
			// real failures.
			interrupted++
		case r.Err != nil:
			failed = append(failed, r)
		case r.Applied > 0:
			applied += r.Applied
		default:
			upToDate++
		}
	}
	fmt.Fprintf(w, "migrated %s: %s, %d up to date, %d failed",
		plural(total, "tenant"), plural(applied, "applied migration"), upToDate, len(failed))
	if interrupted > 0 {
		fmt.Fprintf(w, ", %d not migrated (interrupted)", interrupted)
	}
	fmt.Fprintln(w)
	for _, r := range failed {
		fmt.Fprintf(w, "  FAILED %s: %s\n", r.Schema, oneLine(r.Err.Error()))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s failed", plural(len(failed), "tenant migration"))
	}
	return nil
}

// plural formats a count with its noun, adding an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// statusCommand shows each schema's migration state. It serves as
// `tenantctl status` and as `tenantctl migrate status`.
func statusCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "status",
		Usage: "show each schema's applied migration version and pending count, and flag drift",
		Description: "A tenant's versions are read from public.tenant_migrations, which migrate\n" +
			"keeps with every tenant migration: no tenant schema is read. --verify reads\n" +
			"every tenant's schema_migrations and reports DRIFT for each whose versions\n" +
			"differ from that record (changed behind the migrator's back), exiting with 4.\n" +
			"STATE is ok, pending, or DRIFT when a schema's history disagrees with the\n" +
			"migration files: a version no file has (unknown), or a file older than the\n" +
			"newest applied version that was never applied (out of order).\n" +
			"With --exit-code the exit status tells scripts the state: 0 all up to date,\n" +
			"3 migrations pending (provisioning tenants count as pending), 4 drift,\n" +
			"1 a schema could not be read.",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "json", Usage: "print JSON"},
			&ucli.BoolFlag{Name: "exit-code", Usage: "exit with 3 if migrations are pending, 4 on drift (for scripts and health checks)"},
			&ucli.BoolFlag{Name: "verify", Usage: "read every tenant schema and report those whose versions differ from public.tenant_migrations (exit 4)"},
		},
		Action: action(func(ctx context.Context, cmd *ucli.Command) error {
			return inv.status(ctx, cmd.Bool("json"), cmd.Bool("exit-code"), cmd.Bool("verify"))
		}),
	}
}

// schemaStatus is one row of status, and its JSON.
type schemaStatus struct {
	Schema     string   `json:"schema"`
	Version    *string  `json:"version"`
	Pending    int      `json:"pending"`
	PendingV   []string `json:"pending_versions"`
	Unknown    []string `json:"unknown_versions"`
	OutOfOrder []string `json:"out_of_order_versions"`
	// Unrecorded and Missing are what --verify found: versions in the
	// schema that public.tenant_migrations lacks, and versions it records
	// that the schema lacks.
	Unrecorded []string `json:"unrecorded_versions"`
	Missing    []string `json:"missing_versions"`
	// State is ok, pending, drift, provisioning or error.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

func newSchemaStatus(schema string, st migrate.Status, err error) schemaStatus {
	s := schemaStatus{Schema: schema, PendingV: []string{}, Unknown: []string{}, OutOfOrder: []string{},
		Unrecorded: []string{}, Missing: []string{}}
	if err != nil {
		s.State, s.Error = "error", oneLine(err.Error())
		return s
	}
	if v := st.Latest(); v != "" {
		s.Version = &v
	}
	s.Pending = len(st.Pending)
	s.PendingV = append(s.PendingV, st.Pending...)
	s.Unknown = append(s.Unknown, st.Unknown...)
	s.OutOfOrder = append(s.OutOfOrder, st.OutOfOrder...)
	switch {
	case st.Drift():
		s.State = "drift"
	case len(st.Pending) > 0:
		s.State = "pending"
	default:
		s.State = "ok"
	}
	return s
}

// compare sets the versions in which the schema's applied ones and the
// recorded ones differ, and makes a difference drift.
func (s *schemaStatus) compare(applied, recorded []string) {
	for _, v := range applied {
		if !slices.Contains(recorded, v) {
			s.Unrecorded = append(s.Unrecorded, v)
		}
	}
	for _, v := range recorded {
		if !slices.Contains(applied, v) {
			s.Missing = append(s.Missing, v)
		}
	}
	if len(s.Unrecorded) > 0 || len(s.Missing) > 0 {
		s.State = "drift"
	}
}

// stateText is the STATE column.
func (s schemaStatus) stateText() string {
	switch s.State {
	case "drift":
		var parts []string
		if len(s.Unknown) > 0 {
			parts = append(parts, "unknown "+versionsText(s.Unknown))
		}
		if len(s.OutOfOrder) > 0 {
			parts = append(parts, "out of order "+versionsText(s.OutOfOrder))
		}
		if len(s.Unrecorded) > 0 {
			parts = append(parts, "unrecorded "+versionsText(s.Unrecorded))
		}
		if len(s.Missing) > 0 {
			parts = append(parts, "recorded but missing "+versionsText(s.Missing))
		}
		return "DRIFT: " + strings.Join(parts, "; ")
	case "error":
		return "ERROR: " + s.Error
	}
	return s.State
}

func versionsText(vs []string) string {
	if len(vs) == 1 {
		return "version " + vs[0]
	}
	return "versions " + strings.Join(vs, ", ")
}

// verifyJobs is how many tenant schemas status --verify reads at once.
const verifyJobs = 4

func (inv *invocation) status(ctx context.Context, asJSON, exitCode, verify bool) error {
	if err := inv.open(ctx); err != nil {
		return err
	}
	pub, err := inv.migrator.PublicStatus(ctx)
	if err != nil {
		return fmt.Errorf("public schema: %w", err)
	}
	rows := []schemaStatus{newSchemaStatus("public", pub, nil)}
	// Before the first public migration there is no clients table to read.
	if len(pub.Applied) > 0 {
		tenants, err := inv.svc.ListTenants(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		recorded, err := inv.migrator.Recorded(ctx)
		if err != nil {
			return fmt.Errorf("read public.tenant_migrations: %w", err)
		}
		trows := make([]schemaStatus, len(tenants))
		next := make(chan int)
		var wg sync.WaitGroup
		for range verifyJobs {
			wg.Go(func() {
				for i := range next {
					t := tenants[i]
					if t.State != "ready" {
						// Its creator is still at work, or died: migrate removes it.
						trows[i] = schemaStatus{Schema: t.SchemaName, State: "provisioning", PendingV: []string{},
							Unknown: []string{}, OutOfOrder: []string{}, Unrecorded: []string{}, Missing: []string{}}
						continue
					}
					rec, ok := recorded[t.SchemaName]
					trows[i] = inv.tenantStatus(ctx, t.SchemaName, rec, ok, verify)
				}
			})
		}
		for i := range tenants {
			next <- i
		}
		close(next)
		wg.Wait()
		rows = append(rows, trows...)
	}

	var failed, pending, drifted int
	for _, r := range rows {
		switch r.State {
		case "error":
			failed++
		case "drift":
			drifted++
		case "pending", "provisioning":
			pending++
		}
	}
	if asJSON {
		enc := json.NewEncoder(inv.out())
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(inv.out(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SCHEMA\tVERSION\tPENDING\tSTATE")
		for _, r := range rows {
			v := "-"
			if r.Version != nil {
				v = *r.Version
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.Schema, v, r.Pending, r.stateText())
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	switch {
	case failed > 0:
		return errors.New(plural(failed, "schema") + " could not be read")
	case !exitCode && !verify:
	case drifted > 0:
		return exitError{msg: plural(drifted, "schema") + " drifted from the migration files or their record", code: ExitDrift}
	case !exitCode:
	case pending > 0:
		return exitError{msg: plural(pending, "schema") + " with pending migrations; run tenantctl migrate", code: ExitPending}
	}
	return nil
}

// tenantStatus is the row of a ready tenant: from rec, its recorded
// versions, when it has some (hasRec) and verify is not set; else from its
// schema, and then with verify compared with rec.
func (inv *invocation) tenantStatus(ctx context.Context, name string, rec []string, hasRec, verify bool) schemaStatus {
	s, err := db.ParseSchema(name)
	if err != nil {
		// The clients table's CHECK makes this unreachable.
		return newSchemaStatus(name, migrate.Status{}, err)
	}
	if hasRec && !verify {
		st, err := inv.migrator.RecordedStatus(rec)
		return newSchemaStatus(name, st, err)
	}
	st, err := inv.migrator.TenantStatus(ctx, s)
	row := newSchemaStatus(name, st, err)
	if err == nil && verify {
		row.compare(st.Applied, rec)
	}
	return row
}
