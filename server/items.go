package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

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

type itemPage struct {
	Count    int64      `json:"count"`
	Next     *string    `json:"next"`
	Previous *string    `json:"previous"`
	Results  []itemJSON `json:"results"`
}

// listItems answers GET /api/items/?page=N: 20 a page, newest first, with
// absolute next/previous links. A page past the end is a 404.
func (s *Server) listItems(w http.ResponseWriter, r *http.Request, a auth) error {
	page := int64(1)
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 1 || n > maxPage {
			return errInvalidPage
		}
		page = n
	}
	ctx := r.Context()
	return a.read(ctx, w, func(q *tenantdb.Queries, _ tenantdb.User) (response, error) {
		rows, err := q.ListItems(ctx, tenantdb.ListItemsParams{Lim: pageSize, Off: (page - 1) * pageSize})
		if err != nil {
			return response{}, err
		}
		if len(rows) == 0 && page > 1 {
			return response{}, errInvalidPage
		}
		out := itemPage{Results: make([]itemJSON, len(rows))}
		for i, it := range rows {
			out.Results[i] = newItemJSON(it.ID, it.Name, it.Description, it.CreatedBy, it.CreatedByUsername, it.CreatedAt, it.UpdatedAt)
			out.Count = it.Total
		}
		if page*pageSize < out.Count {
			out.Next = pageURL(r, page+1)
		}
		if page > 1 {
			out.Previous = pageURL(r, page-1)
		}
		return response{http.StatusOK, out}, nil
	})
}

// pageURL is the absolute URL of another page of the same list, as DRF
// builds it: page 1 carries no page parameter.
func pageURL(r *http.Request, page int64) *string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	q := r.URL.Query()
	if page == 1 {
		q.Del("page")
	} else {
		q.Set("page", strconv.FormatInt(page, 10))
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	s := u.String()
	return &s
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
		it, err := q.CreateItem(ctx, tenantdb.CreateItemParams{Name: *in.name, Description: description, CreatedBy: &u.ID})
		if err != nil {
			return response{}, err
		}
		return response{http.StatusCreated, newItemJSON(it.ID, it.Name, it.Description, it.CreatedBy, it.CreatedByUsername, it.CreatedAt, it.UpdatedAt)}, nil
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
	return a.read(ctx, w, func(q *tenantdb.Queries, _ tenantdb.User) (response, error) {
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
		return a.tx(ctx, w, func(q *tenantdb.Queries, _ tenantdb.User) (response, error) {
			// One UPDATE that keeps absent fields, so concurrent PATCHes of
			// different fields do not undo each other.
			it, err := q.UpdateItem(ctx, tenantdb.UpdateItemParams{ID: id, Name: in.name, Description: in.description})
			if err != nil {
				return response{}, err
			}
			return response{http.StatusOK, newItemJSON(it.ID, it.Name, it.Description, it.CreatedBy, it.CreatedByUsername, it.CreatedAt, it.UpdatedAt)}, nil
		})
	}
}

func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, _ tenantdb.User) (response, error) {
		n, err := q.DeleteItem(ctx, id)
		if err != nil {
			return response{}, err
		}
		if n == 0 {
			return response{}, errNotFound
		}
		return response{status: http.StatusNoContent}, nil
	})
}

type profileJSON struct {
	ID           int64   `json:"id"`
	Username     string  `json:"username"`
	Email        string  `json:"email"`
	TenantSchema string  `json:"tenant_schema"`
	IsStaff      bool    `json:"is_staff"`
	DateJoined   apiTime `json:"date_joined"`
}

// profile answers GET /api/profile/: the signed-in user and their tenant.
func (s *Server) profile(w http.ResponseWriter, r *http.Request, a auth) error {
	return a.read(r.Context(), w, func(_ *tenantdb.Queries, u tenantdb.User) (response, error) {
		return response{http.StatusOK, profileJSON{
			ID: u.ID, Username: u.Username, Email: u.Email, TenantSchema: a.tenant.Schema.String(),
			IsStaff: u.IsStaff, DateJoined: apiTime(u.DateJoined),
		}}, nil
	})
}
