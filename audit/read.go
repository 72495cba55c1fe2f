package audit

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// Filter selects entries of the log; its zero value selects all. Every
// field given must match.
type Filter struct {
	// Actions are exact actions ("item.created") or prefixes ending in
	// ".*" ("auth.*"); an entry matches if it matches one of them.
	Actions    []string
	ActorType  string
	ActorID    *int64
	TargetType string
	TargetID   string
	// Since and Until bound created_at, both included; nil is unbounded.
	Since, Until *time.Time
}

// likeEscaper makes % _ and \ plain characters in a LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// actions splits f.Actions into exact actions and LIKE patterns, each nil
// when empty (the query reads NULL as no filter).
func (f Filter) actions() (exact, prefixes []string) {
	for _, a := range f.Actions {
		if p, ok := strings.CutSuffix(a, "*"); ok {
			prefixes = append(prefixes, likeEscaper.Replace(p)+"%")
		} else {
			exact = append(exact, a)
		}
	}
	return exact, prefixes
}

// ParseTime reads a time bound of a filter: RFC 3339, or a date (its
// midnight, UTC).
func ParseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, v)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// List returns up to limit entries of q's log matching f, newest first,
// older than the entry beforeID (0: from the newest). It returns the
// database's errors.
func List(ctx context.Context, q *tenantdb.Queries, f Filter, beforeID int64, limit int) ([]tenantdb.AuditLog, error) {
	// Planned with its parameters: the filters not given drop out of the
	// plan, and those given use their indexes (sql/tenant/audit.sql).
	if err := q.UseCustomPlans(ctx); err != nil {
		return nil, err
	}
	exact, prefixes := f.actions()
	p := tenantdb.ListAuditParams{
		Actions: exact, ActionPrefixes: prefixes,
		ActorType: nonEmpty(f.ActorType), ActorID: f.ActorID,
		TargetType: nonEmpty(f.TargetType), TargetID: nonEmpty(f.TargetID),
		Since: f.Since, Until: f.Until, Lim: int32(limit),
	}
	if beforeID > 0 {
		p.BeforeID = &beforeID
	}
	return q.ListAudit(ctx, p)
}

// ListNewer returns up to limit entries of q's log matching f that are
// newer than the entry afterID, the oldest first (the page before a
// cursor). It returns the database's errors.
func ListNewer(ctx context.Context, q *tenantdb.Queries, f Filter, afterID int64, limit int) ([]tenantdb.AuditLog, error) {
	if err := q.UseCustomPlans(ctx); err != nil {
		return nil, err
	}
	exact, prefixes := f.actions()
	return q.ListAuditNewer(ctx, tenantdb.ListAuditNewerParams{
		AfterID: afterID, Actions: exact, ActionPrefixes: prefixes,
		ActorType: nonEmpty(f.ActorType), ActorID: f.ActorID,
		TargetType: nonEmpty(f.TargetType), TargetID: nonEmpty(f.TargetID),
		Since: f.Since, Until: f.Until, Lim: int32(limit),
	})
}

// Changes is an entry's changed fields: before and after, each nil when
// the change has none (a creation's before, a deletion's after).
type Changes struct {
	Before map[string]any `json:"before"`
	After  map[string]any `json:"after"`
}

// ParseChanges reads the changes column of an entry: nil for an entry
// without changes.
func ParseChanges(raw []byte) (*Changes, error) {
	if raw == nil {
		return nil, nil
	}
	var c Changes
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Summary is a one-line account of changes for a table or a page:
// "name: Chalk -> Chalk box" for a change, "name: Chalk" for a field set
// by a creation, "name: was Chalk" for one removed by a deletion; fields in
// name order.
func (c *Changes) Summary() string {
	if c == nil {
		return ""
	}
	keys := map[string]bool{}
	for k := range c.Before {
		keys[k] = true
	}
	for k := range c.After {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	parts := make([]string, 0, len(sorted))
	for _, k := range sorted {
		b, inB := c.Before[k]
		a, inA := c.After[k]
		switch {
		case inB && inA:
			parts = append(parts, k+": "+show(b)+" -> "+show(a))
		case inA:
			parts = append(parts, k+": "+show(a))
		default:
			parts = append(parts, k+": was "+show(b))
		}
	}
	return strings.Join(parts, ", ")
}

// show is a value as Summary writes it: JSON, but strings bare.
func show(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v) // a value read from JSON marshals
	return string(b)
}
