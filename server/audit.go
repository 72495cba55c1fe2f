package server

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// The audit log's reading API: GET /api/audit/, newest first, with DRF's
// CursorPagination (next/previous links carrying an opaque cursor, no
// count) and filters. Reading the log is not itself recorded.

// auditPageSize is a page's entries unless ?page_size= says otherwise, up
// to maxAuditPageSize.
const (
	auditPageSize    = 50
	maxAuditPageSize = 200
)

// auditEntryJSON is an entry of the log as the API shows it.
type auditEntryJSON struct {
	ID            int64           `json:"id"`
	CreatedAt     apiTime         `json:"created_at"`
	Actor         auditActorJSON  `json:"actor"`
	Action        string          `json:"action"`
	Target        auditTargetJSON `json:"target"`
	ClientAddress string          `json:"client_address"`
	RequestID     string          `json:"request_id"`
	Changes       *audit.Changes  `json:"changes"`
}

// auditActorJSON is who made a change; ID is null for an actor without
// one (tenantctl, the system).
type auditActorJSON struct {
	Type string `json:"type"`
	ID   *int64 `json:"id"`
	Name string `json:"name"`
}

// auditTargetJSON is what a change was made to; ID is null for an entry
// without a target id (a failed sign-in with an unknown username).
type auditTargetJSON struct {
	Type string  `json:"type"`
	ID   *string `json:"id"`
}

func newAuditEntryJSON(e tenantdb.AuditLog) (auditEntryJSON, error) {
	changes, err := audit.ParseChanges(e.Changes)
	if err != nil {
		return auditEntryJSON{}, err
	}
	out := auditEntryJSON{
		ID: e.ID, CreatedAt: apiTime(e.CreatedAt),
		Actor:  auditActorJSON{Type: e.ActorType, ID: e.ActorID, Name: e.ActorName},
		Action: e.Action, Target: auditTargetJSON{Type: e.TargetType},
		ClientAddress: e.ClientAddr, RequestID: e.RequestID, Changes: changes,
	}
	if e.TargetID != "" {
		out.Target.ID = &e.TargetID
	}
	return out, nil
}

// cursorPage is DRF's CursorPagination envelope.
type cursorPage[T any] struct {
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

// auditCursor is a position in the log: the entries older than the entry
// id (a next link), or, reverse, those newer (a previous link).
type auditCursor struct {
	id      int64
	reverse bool
}

// errInvalidCursor is DRF's answer to a cursor it did not write.
var errInvalidCursor = errDetail(http.StatusNotFound, "Invalid cursor")

// encode returns the cursor as the opaque ?cursor= value: like DRF's, the
// base64 of a query string ("r=1&p=42").
func (c auditCursor) encode() string {
	v := "p=" + strconv.FormatInt(c.id, 10)
	if c.reverse {
		v = "r=1&" + v
	}
	return base64.RawURLEncoding.EncodeToString([]byte(v))
}

// parseAuditCursor reads ?cursor=; it returns errInvalidCursor for a value
// encode did not write.
func parseAuditCursor(s string) (auditCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return auditCursor{}, errInvalidCursor
	}
	v, err := url.ParseQuery(string(raw))
	if err != nil {
		return auditCursor{}, errInvalidCursor
	}
	id, err := strconv.ParseInt(v.Get("p"), 10, 64)
	if err != nil || id < 1 || (v.Get("r") != "" && v.Get("r") != "1") {
		return auditCursor{}, errInvalidCursor
	}
	return auditCursor{id: id, reverse: v.Get("r") == "1"}, nil
}

// actorTypes are the values of ?actor_type=.
var actorTypes = []string{audit.ActorUser, audit.ActorAPIKey, audit.ActorSuperuser, audit.ActorSystem}

// parseAuditFilter reads the log's filters from query values, as
// django-filter would: an empty value is no filter; ?action= may repeat
// and hold commas, and "auth.*" is every action under auth. A bad value is
// a 400 naming its parameter.
func parseAuditFilter(vals url.Values) (audit.Filter, error) {
	var f audit.Filter
	fe := fieldErrors{}
	for _, v := range vals["action"] {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				f.Actions = append(f.Actions, a)
			}
		}
	}
	if t := vals.Get("actor_type"); t != "" {
		if !slices.Contains(actorTypes, t) {
			fe.add("actor_type", "Select a valid choice. "+t+" is not one of the available choices.")
		}
		f.ActorType = t
	}
	if v := vals.Get("actor_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fe.add("actor_id", "Enter a number.")
		}
		f.ActorID = &id
	}
	f.TargetType = vals.Get("target_type")
	f.TargetID = vals.Get("target_id")
	for _, p := range []struct {
		name string
		to   **time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := vals.Get(p.name); v != "" {
			t, err := audit.ParseTime(v)
			if err != nil {
				fe.add(p.name, "Enter a valid date/time.")
			}
			*p.to = &t
		}
	}
	return f, fe.err()
}

// auditPageSizeOf reads ?page_size= as DRF does: a value that is not a
// positive number is ignored, a larger one than the maximum is the maximum.
func auditPageSizeOf(vals url.Values) int {
	if n, err := strconv.Atoi(vals.Get("page_size")); err == nil && n > 0 {
		return min(n, maxAuditPageSize)
	}
	return auditPageSize
}

// listAudit answers GET /api/audit/ (owners and admins, and API keys of
// theirs): the tenant's log, newest first, a page of 50 (?page_size= up to
// 200), filtered by action, actor_type, actor_id, target_type, target_id,
// since and until.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, a auth) error {
	vals := r.URL.Query()
	f, err := parseAuditFilter(vals)
	if err != nil {
		return err
	}
	var cur *auditCursor
	if c := vals.Get("cursor"); c != "" {
		parsed, err := parseAuditCursor(c)
		if err != nil {
			return err
		}
		cur = &parsed
	}
	size := auditPageSizeOf(vals)
	ctx := r.Context()
	// A transaction: List sets how its statement is planned for the rest
	// of it.
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, auditList); err != nil {
			return response{}, err
		}
		var rows []tenantdb.AuditLog
		var err error
		if cur != nil && cur.reverse {
			rows, err = audit.ListNewer(ctx, q, f, cur.id, size+1)
		} else {
			var before int64
			if cur != nil {
				before = cur.id
			}
			rows, err = audit.List(ctx, q, f, before, size+1)
		}
		if err != nil {
			return response{}, err
		}
		out, err := newAuditPage(r, cur, size, rows)
		return response{http.StatusOK, out}, err
	})
}

// newAuditPage builds the page at cur (nil: the first) from up to size+1
// rows, in the order the query returned them (newest first, or oldest
// first for a reverse cursor): the extra row only tells that there are
// more.
func newAuditPage(r *http.Request, cur *auditCursor, size int, rows []tenantdb.AuditLog) (cursorPage[auditEntryJSON], error) {
	more := len(rows) > size
	rows = rows[:min(len(rows), size)]
	reverse := cur != nil && cur.reverse
	if reverse {
		slices.Reverse(rows)
	}
	out := cursorPage[auditEntryJSON]{Results: make([]auditEntryJSON, len(rows))}
	for i, row := range rows {
		e, err := newAuditEntryJSON(row)
		if err != nil {
			return out, err
		}
		out.Results[i] = e
	}
	// The next page starts after the oldest entry shown, the previous one
	// before the newest; on an empty page, both at the cursor's position.
	var newest, oldest int64
	if cur != nil {
		newest, oldest = cur.id, cur.id
	}
	if len(rows) > 0 {
		newest, oldest = rows[0].ID, rows[len(rows)-1].ID
	}
	// As DRF: going forward there is a previous page whenever a cursor was
	// given; going back, a next one always.
	if reverse && oldest > 0 || !reverse && more {
		out.Next = auditLink(r, auditCursor{id: oldest})
	}
	if reverse && more || !reverse && cur != nil && newest > 0 {
		out.Previous = auditLink(r, auditCursor{id: newest, reverse: true})
	}
	return out, nil
}

// auditLink is the absolute URL of the page at c, with the request's other
// parameters (filters, page_size) kept.
func auditLink(r *http.Request, c auditCursor) *string {
	v := r.URL.Query()
	v.Set("cursor", c.encode())
	u := url.URL{Scheme: requestScheme(r), Host: r.Host, Path: r.URL.Path, RawQuery: v.Encode()}
	s := u.String()
	return &s
}
