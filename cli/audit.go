package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// auditBatch is how many entries one statement of tenantctl audit reads.
const auditBatch = 1000

// auditCommand prints a tenant's audit log.
func auditCommand(inv *invocation) *ucli.Command {
	return &ucli.Command{
		Name:  "audit",
		Usage: "print a tenant's audit log, newest first",
		Description: "Prints the entries of the tenant's audit log that match every filter given, newest\n" +
			"first: a table (TIME, ACTOR, ACTION, TARGET, CHANGES) or, with --json, a JSON\n" +
			"array of entries as GET /api/audit/ shows them.",
		Flags: []ucli.Flag{
			schemaFlag(),
			&ucli.IntFlag{Name: "limit", Value: 50, Usage: "print at most this many entries (0: all)"},
			&ucli.StringFlag{Name: "action", Usage: "only these actions: comma-separated, each exact (item.created) or a prefix (auth.*)"},
			&ucli.StringFlag{Name: "actor-type", Usage: "only entries by this kind of actor: user, api_key, superuser or system"},
			&ucli.StringFlag{Name: "target-type", Usage: "only entries about this kind of target (item, user, ...)"},
			&ucli.StringFlag{Name: "target-id", Usage: "only entries about the target with this id"},
			&ucli.StringFlag{Name: "since", Usage: "only entries created at or after this time (RFC 3339, or a date)"},
			&ucli.StringFlag{Name: "until", Usage: "only entries created at or before this time (RFC 3339, or a date)"},
			&ucli.BoolFlag{Name: "json", Usage: "print a JSON array"},
		},
		Action: action(inv.auditList),
	}
}

// auditFilter reads the filter flags; a bad value is a usage error.
func auditFilter(cmd *ucli.Command) (audit.Filter, error) {
	f := audit.Filter{ActorType: cmd.String("actor-type"), TargetType: cmd.String("target-type"), TargetID: cmd.String("target-id")}
	for _, a := range strings.Split(cmd.String("action"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			f.Actions = append(f.Actions, a)
		}
	}
	switch f.ActorType {
	case "", audit.ActorUser, audit.ActorAPIKey, audit.ActorSuperuser, audit.ActorSystem:
	default:
		return f, usageErrorf("--actor-type: %q is not user, api_key, superuser or system", f.ActorType)
	}
	for _, b := range []struct {
		flag string
		to   **time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := cmd.String(b.flag); v != "" {
			t, err := audit.ParseTime(v)
			if err != nil {
				return f, usageErrorf("--%s: %q is not a time such as 2026-12-07T10:00:00Z or a date such as 2026-12-07", b.flag, v)
			}
			*b.to = &t
		}
	}
	if cmd.Int("limit") < 0 {
		return f, usageErrorf("--limit: %d is not 0 (all) or a positive number", cmd.Int("limit"))
	}
	return f, nil
}

// auditJSON is one entry of audit --json, as GET /api/audit/ shows it.
type auditJSON struct {
	ID            int64          `json:"id"`
	CreatedAt     time.Time      `json:"created_at"`
	Actor         auditActor     `json:"actor"`
	Action        string         `json:"action"`
	Target        auditTarget    `json:"target"`
	ClientAddress string         `json:"client_address"`
	RequestID     string         `json:"request_id"`
	Changes       *audit.Changes `json:"changes"`
}

type auditActor struct {
	Type string `json:"type"`
	ID   *int64 `json:"id"`
	Name string `json:"name"`
}

type auditTarget struct {
	Type string  `json:"type"`
	ID   *string `json:"id"`
}

func (inv *invocation) auditList(ctx context.Context, cmd *ucli.Command) error {
	schema := cmd.String("schema")
	if err := checkSchema(schema); err != nil {
		return err
	}
	f, err := auditFilter(cmd)
	if err != nil {
		return err
	}
	if err := inv.open(ctx); err != nil {
		return err
	}
	if _, err := inv.svc.GetTenant(ctx, schema); err != nil {
		return notFound(err, "tenant", schema)
	}
	s, err := db.Pinned(ctx, inv.pool, db.MustParseSchema(schema))
	if errors.Is(err, db.ErrTenantGone) {
		return fmt.Errorf("tenant %q is not ready (being created, or deleted): its log cannot be read", schema)
	}
	if err != nil {
		return err
	}
	limit := cmd.Int("limit")
	var rows []tenantdb.AuditLog
	var before int64
	// In batches, each a short transaction of its own, so that printing a
	// large log holds no transaction open.
	for limit == 0 || len(rows) < limit {
		n := auditBatch
		if limit > 0 {
			n = min(n, limit-len(rows))
		}
		batch, err := db.InTenantV(ctx, inv.pool, s, func(q *tenantdb.Queries) ([]tenantdb.AuditLog, error) {
			return audit.List(ctx, q, f, before, n)
		})
		if err != nil {
			return err
		}
		rows = append(rows, batch...)
		if len(batch) < n {
			break
		}
		before = batch[len(batch)-1].ID
	}
	if cmd.Bool("json") {
		out := make([]auditJSON, len(rows))
		for i, e := range rows {
			changes, err := audit.ParseChanges(e.Changes)
			if err != nil {
				return err
			}
			out[i] = auditJSON{ID: e.ID, CreatedAt: e.CreatedAt.UTC(), Actor: auditActor{Type: e.ActorType, ID: e.ActorID, Name: e.ActorName},
				Action: e.Action, Target: auditTarget{Type: e.TargetType}, ClientAddress: e.ClientAddr, RequestID: e.RequestID, Changes: changes}
			if e.TargetID != "" {
				out[i].Target.ID = &e.TargetID
			}
		}
		return writeJSON(inv.out(), out)
	}
	tw := tabwriter.NewWriter(inv.out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tCHANGES")
	for _, e := range rows {
		changes, err := audit.ParseChanges(e.Changes)
		if err != nil {
			return err
		}
		actor := e.ActorType + " " + e.ActorName
		if e.ActorName == "" && e.ActorID != nil {
			actor = fmt.Sprintf("%s #%d", e.ActorType, *e.ActorID)
		}
		target := strings.TrimSpace(e.TargetType + " " + e.TargetID)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.CreatedAt.UTC().Format(time.RFC3339), cell(actor), cell(e.Action),
			dash(target), dash(changes.Summary()))
	}
	return tw.Flush()
}
