package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// pageSize is the number of items a list page holds, as in the Django starter.
const pageSize = 20

// maxPage keeps OFFSET arithmetic far from overflow; no real page is this far.
const maxPage = 1 << 40

// itemJSON is the API's item: the response keys, fixed here so that a new
// column never becomes API by accident.
type itemJSON struct {
	ID                int64   `json:"id"`
	Name              string  `json:"name"`
	Description       string  `json:"description"`
	CreatedBy         *int64  `json:"created_by"`
	CreatedByUsername *string `json:"created_by_username"`
	CreatedAt         apiTime `json:"created_at"`
	UpdatedAt         apiTime `json:"updated_at"`
}

func newItemJSON(id int64, name, description string, createdBy *int64, username *string, created, updated time.Time) itemJSON {
	return itemJSON{
		ID: id, Name: name, Description: description, CreatedBy: createdBy, CreatedByUsername: username,
		CreatedAt: apiTime(created), UpdatedAt: apiTime(updated),
	}
}

// itemOrderings are the fields ?ordering= sorts items by.
var itemOrderings = []string{"id", "name", "created_at", "updated_at"}

// listItems answers GET /api/items/: 20 a page (?page_size= up to 100),
// newest first unless ?ordering= says otherwise, ?search= in the name and
// description, with absolute next/previous links. ?page=last is the last
// page; a page past the end is a 404.
func (s *Server) listItems(w http.ResponseWriter, r *http.Request, a auth) error {
	lq, err := parseList(r, pageSize, itemOrderings)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.read(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, itemsList); err != nil {
			return response{}, err
		}
		// A copy: a closure that does not change what it captures captures
		// a copy, which spares the hot path moving lq to the heap.
		lq := lq
		if lq.last {
			total, err := countItems(ctx, q, lq)
			if err != nil {
				return response{}, err
			}
			lq.page = lq.lastPage(total)
		}
		results, total, err := listItemsPage(ctx, q, lq)
		if err != nil {
			return response{}, err
		}
		out, err := newPage(r, lq, total, results)
		if err != nil {
			return response{}, err
		}
		return response{http.StatusOK, out}, nil
	})
}

// listItemsPage returns lq's page of items and the number of all matches
// (0 when the page is empty). The plain list, newest first and unfiltered,
// keeps its own query: it is the hot path.
func listItemsPage(ctx context.Context, q *tenantdb.Queries, lq listQuery) ([]itemJSON, int64, error) {
	var total int64
	if len(lq.patterns) == 0 && (lq.defaultOrder() || (lq.order[0] == "-created_at" && lq.order[1] == "")) {
		rows, err := q.ListItems(ctx, tenantdb.ListItemsParams{Lim: int32(lq.size), Off: lq.offset()})
		if err != nil {
			return nil, 0, err
		}
		out := make([]itemJSON, len(rows))
		for i, it := range rows {
			out[i] = newItemJSON(it.ID, it.Name, it.Description, it.CreatedBy, it.CreatedByUsername, it.CreatedAt, it.UpdatedAt)
			total = it.Total
		}
		return out, total, nil
	}
	rows, err := q.SearchItems(ctx, tenantdb.SearchItemsParams{
		Patterns: lq.patterns, O1: lq.order[0], O2: lq.order[1], O3: lq.order[2], Lim: int32(lq.size), Off: lq.offset(),
	})
	if err != nil {
		return nil, 0, err
	}
	out := make([]itemJSON, len(rows))
	for i, it := range rows {
		out[i] = newItemJSON(it.ID, it.Name, it.Description, it.CreatedBy, it.CreatedByUsername, it.CreatedAt, it.UpdatedAt)
		total = it.Total
	}
	return out, total, nil
}

// countItems is the number of items lq's search matches.
func countItems(ctx context.Context, q *tenantdb.Queries, lq listQuery) (int64, error) {
	if len(lq.patterns) == 0 {
		return q.CountItems(ctx)
	}
	rows, err := q.SearchItems(ctx, tenantdb.SearchItemsParams{Patterns: lq.patterns, Lim: 1})
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return rows[0].Total, nil
}

// itemInput is a validated item body. A nil field was absent (PATCH).
type itemInput struct {
	name        *string
	description *string
}

// decodeItem validates an item body. partial (PATCH) makes every field
// optional; otherwise name is required.
func decodeItem(r *http.Request, partial bool) (itemInput, error) {
	body, err := decodeObject(r, true)
	if err != nil {
		return itemInput{}, err
	}
	fe := fieldErrors{}
	var in itemInput
	if _, ok := body["name"]; ok || !partial {
		if v, ok := requiredString(fe, body, "name", 200); ok {
			in.name = &v
		}
	}
	if f := field(body, "description"); f.present {
		switch {
		case f.null:
			fe.add("description", "This field may not be null.")
		case f.invalid:
			fe.add("description", "Not a valid string.")
		case strings.ContainsRune(f.value, 0):
			fe.add("description", "Null characters are not allowed.")
		default:
			in.description = &f.value
		}
	}
	return in, fe.err()
}

func (s *Server) createItem(w http.ResponseWriter, r *http.Request, a auth) error {
	in, err := decodeItem(r, false)
	if err != nil {
		return err
	}
	description := ""
	if in.description != nil {
		description = *in.description
	}
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, itemsCreate); err != nil {
			return response{}, err
		}
		it, err := q.CreateItem(ctx, tenantdb.CreateItemParams{Name: *in.name, Description: description, CreatedBy: &u.ID})
		if err != nil {
			return response{}, err
		}
		out := newItemJSON(it.ID, it.Name, it.Description, it.CreatedBy, it.CreatedByUsername, it.CreatedAt, it.UpdatedAt)
		err = a.record(ctx, q, u, audit.Entry{
			Action: audit.ItemCreated, Target: audit.Of("item", it.ID),
			After: map[string]any{"name": it.Name, "description": it.Description}, Data: out,
		})
		return response{http.StatusCreated, out}, err
	})
}

// itemID reads the {id} path segment; anything but a positive integer names
// no item.
func itemID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil || id < 1 {
		return 0, errNotFound
	}
	return id, nil
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.read(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, itemsView); err != nil {
			return response{}, err
		}
		it, err := q.GetItem(ctx, id)
		if err != nil {
			return response{}, err
		}
		return response{http.StatusOK, newItemJSON(it.ID, it.Name, it.Description, it.CreatedBy, it.CreatedByUsername, it.CreatedAt, it.UpdatedAt)}, nil
	})
}

// updateItem answers PUT (partial=false: name required) and PATCH.
func (s *Server) updateItem(partial bool) func(w http.ResponseWriter, r *http.Request, a auth) error {
	return func(w http.ResponseWriter, r *http.Request, a auth) error {
		id, err := itemID(r)
		if err != nil {
			return err
		}
		in, err := decodeItem(r, partial)
		if err != nil {
			return err
		}
		ctx := r.Context()
		return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
			if err := a.allow(u, itemsUpdate); err != nil {
				return response{}, err
			}
			// One UPDATE that keeps absent fields, so concurrent PATCHes of
			// different fields do not undo each other.
			it, err := q.UpdateItem(ctx, tenantdb.UpdateItemParams{ID: id, Name: in.name, Description: in.description})
			if err != nil {
				return response{}, err
			}
			out := newItemJSON(it.ID, it.Name, it.Description, it.CreatedBy, it.CreatedByUsername, it.CreatedAt, it.UpdatedAt)
			err = a.record(ctx, q, u, audit.Entry{
				Action: audit.ItemUpdated, Target: audit.Of("item", it.ID),
				Before: map[string]any{"name": it.OldName, "description": it.OldDescription},
				After:  map[string]any{"name": it.Name, "description": it.Description},
				Data:   out,
			})
			return response{http.StatusOK, out}, err
		})
	}
}

func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, itemsDelete); err != nil {
			return response{}, err
		}
		it, err := q.DeleteItem(ctx, id)
		if err != nil {
			return response{}, err
		}
		err = a.record(ctx, q, u, audit.Entry{
			Action: audit.ItemDeleted, Target: audit.Of("item", it.ID),
			Before: map[string]any{"name": it.Name, "description": it.Description},
		})
		return response{status: http.StatusNoContent}, err
	})
}

type profileJSON struct {
	ID           int64   `json:"id"`
	Username     string  `json:"username"`
	Email        string  `json:"email"`
	TenantSchema string  `json:"tenant_schema"`
	IsStaff      bool    `json:"is_staff"`
	DateJoined   apiTime `json:"date_joined"`
	// Role is owner, admin or member (see permissions.go).
	Role          string `json:"role"`
	EmailVerified bool   `json:"email_verified"`
}

// profile answers GET /api/profile/: the signed-in user and their tenant.
func (s *Server) profile(w http.ResponseWriter, r *http.Request, a auth) error {
	return a.read(r.Context(), w, func(_ *tenantdb.Queries, u tenantdb.User) (response, error) {
		return response{http.StatusOK, profileJSON{
			ID: u.ID, Username: u.Username, Email: u.Email, TenantSchema: a.tenant.Schema.String(),
			IsStaff: u.IsStaff, DateJoined: apiTime(u.DateJoined), Role: u.Role, EmailVerified: u.EmailVerified,
		}}, nil
	})
}
