package server

// The tenant's audit log in the admin, as Django admin's history: the
// tenant page's "Recent actions", and the whole log, filtered, 50 entries
// a page, at /admin/tenants/{schema}/audit/.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// recentAudit is how many entries the tenant page shows.
const recentAudit = 20

// adminAuditEntry is an entry of the log as the admin shows it.
type adminAuditEntry struct {
	ID        int64
	CreatedAt time.Time
	// Actor is "type name" ("user demo", "superuser admin").
	ActorType, ActorName string
	ActorID              *int64
	Action               string
	TargetType, TargetID string
	ClientAddr           string
	RequestID            string
	// Changes is the changed fields on one line (audit.Changes.Summary).
	Changes string
}

// tenantAudit returns up to limit entries of schema's log matching f,
// older than the entry before (0: from the newest), newest first.
func (s *Server) tenantAudit(ctx context.Context, schema string, f audit.Filter, before int64, limit int) ([]adminAuditEntry, error) {
	sc, err := s.pinnedSchema(ctx, schema)
	if err != nil {
		return nil, err
	}
	// A transaction: audit.List sets how its statement is planned.
	rows, err := db.InTenantV(ctx, s.pool, sc, func(q *tenantdb.Queries) ([]tenantdb.AuditLog, error) {
		return audit.List(ctx, q, f, before, limit)
	})
	if err != nil {
		return nil, err
	}
	out := make([]adminAuditEntry, len(rows))
	for i, e := range rows {
		changes, err := audit.ParseChanges(e.Changes)
		if err != nil {
			return nil, err
		}
		out[i] = adminAuditEntry{ID: e.ID, CreatedAt: e.CreatedAt, ActorType: e.ActorType, ActorName: e.ActorName, ActorID: e.ActorID,
			Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, ClientAddr: e.ClientAddr, RequestID: e.RequestID,
			Changes: changes.Summary()}
	}
	return out, nil
}

// auditPageData is the page of the whole log.
type auditPageData struct {
	Schema, Name string
	Entries      []adminAuditEntry
	// Form holds the filters as given, and their errors.
	Form form
	// Older is the link to the next entries, "" on the last page; Filtered
	// tells that a filter or a position is applied (a link back to all).
	Older    string
	Filtered bool
}

// adminAuditUI shows a tenant's audit log: GET /admin/tenants/{schema}/audit/
// with the API's filters (action, actor_type, actor_id, target_type,
// target_id, since, until) and ?before=<id> for older entries.
func (s *Server) adminAuditUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := s.prov.DescribeTenant(ctx, schema)
	if err != nil {
		return err
	}
	vals := r.URL.Query()
	p := auditPageData{Schema: schema, Name: t.Name, Form: emptyForm()}
	for _, k := range []string{"action", "actor_type", "actor_id", "target_type", "target_id", "since", "until"} {
		p.Form.Values[k] = vals.Get(k)
		p.Filtered = p.Filtered || vals.Get(k) != ""
	}
	f, err := parseAuditFilter(vals)
	var ae *apiError
	if errors.As(err, &ae) {
		for k, msgs := range ae.body.(map[string][]string) {
			p.Form.Errors[k] = msgs[0]
		}
		return s.render(w, http.StatusBadRequest, sess, "audit", "Audit log of "+t.Name, p)
	}
	before, _ := strconv.ParseInt(vals.Get("before"), 10, 64)
	p.Filtered = p.Filtered || before > 0
	entries, err := s.tenantAudit(ctx, schema, f, max(before, 0), auditPageSize+1)
	if err != nil {
		return err
	}
	if len(entries) > auditPageSize {
		entries = entries[:auditPageSize]
		older := url.Values{}
		for k, v := range p.Form.Values {
			if v != "" {
				older.Set(k, v)
			}
		}
		older.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		p.Older = "?" + older.Encode()
	}
	p.Entries = entries
	return s.render(w, http.StatusOK, sess, "audit", "Audit log of "+t.Name, p)
}
