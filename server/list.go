package server

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The query parameters of every paginated list, as DRF's
// PageNumberPagination (with page_size_query_param and max_page_size),
// SearchFilter and OrderingFilter read them.

// maxPageSize caps ?page_size= (DRF's max_page_size): a larger one means
// this many.
const maxPageSize = 100

// maxOrderingKeys is how many ?ordering= fields a list sorts by; the SQL
// compares each key slot with the fields' names, so it has this many slots.
const maxOrderingKeys = 3

// listQuery is a list request's parsed parameters.
type listQuery struct {
	// page is the page number from 1; with last, it is decided once the
	// number of results is known.
	page int64
	last bool
	size int64
	// patterns are ILIKE patterns, escaped, one per search term; every one
	// must match one of the list's search fields.
	patterns []string
	// order holds the ordering keys ("name", "-created_at"), each a field of
	// the list's whitelist; "" in unused slots.
	order [maxOrderingKeys]string
	// links are the parameters next/previous keep: search, ordering and
	// page_size as given.
	links url.Values
}

// defaultOrder reports whether the list keeps its default order.
func (q listQuery) defaultOrder() bool { return q.order[0] == "" }

// offset is the OFFSET of the page.
func (q listQuery) offset() int64 { return (q.page - 1) * q.size }

// parseList reads ?page=, ?page_size=, ?search= and ?ordering= for a list
// whose default page holds defaultSize entries and that sorts by the given
// fields. It returns errInvalidPage for a page that is not a positive
// number nor "last"; like DRF, it ignores a page_size that is not a
// positive number and ordering fields it does not know.
func parseList(r *http.Request, defaultSize int64, fields []string) (listQuery, error) {
	vals := r.URL.Query()
	q := listQuery{page: 1, size: defaultSize}
	keep := func(k string, v []string) string {
		if q.links == nil {
			q.links = url.Values{}
		}
		q.links.Set(k, v[len(v)-1])
		return v[len(v)-1]
	}
	switch p := vals.Get("page"); p {
	case "":
	case "last":
		q.last = true
	default:
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 1 || n > maxPage {
			return listQuery{}, errInvalidPage
		}
		q.page = n
	}
	if v, ok := vals["page_size"]; ok {
		if n, err := strconv.ParseInt(keep("page_size", v), 10, 64); err == nil && n > 0 {
			q.size = min(n, maxPageSize)
		}
	}
	if v, ok := vals["search"]; ok {
		q.patterns = searchPatterns(keep("search", v))
	}
	if v, ok := vals["ordering"]; ok {
		n := 0
		for _, key := range strings.Split(keep("ordering", v), ",") {
			key = strings.TrimSpace(key)
			if n == maxOrderingKeys || !slices.Contains(fields, strings.TrimPrefix(key, "-")) {
				continue
			}
			q.order[n] = key
			n++
		}
	}
	return q, nil
}

// likeEscaper makes % _ and \ plain characters in a LIKE pattern whose
// ESCAPE is \.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// searchPatterns splits a search as DRF's SearchFilter does (on commas and
// white space, NULs removed) into case-insensitive substring patterns, in
// which % _ and \ stand for themselves.
func searchPatterns(search string) []string {
	search = strings.ReplaceAll(strings.ToValidUTF8(search, ""), "\x00", "")
	terms := strings.Fields(strings.ReplaceAll(search, ",", " "))
	patterns := make([]string, len(terms))
	for i, t := range terms {
		patterns[i] = "%" + likeEscaper.Replace(t) + "%"
	}
	return patterns
}

// pageOf builds q's page from fetch, which returns up to lim rows from off
// and the number of all matches (0 for an empty page). For ?page=last it
// first fetches one row, for the number.
func pageOf[T any](r *http.Request, q listQuery, fetch func(lim int32, off int64) ([]T, int64, error)) (page[T], error) {
	if q.last {
		_, total, err := fetch(1, 0)
		if err != nil {
			return page[T]{}, err
		}
		q.page = q.lastPage(total)
	}
	results, total, err := fetch(int32(q.size), q.offset())
	if err != nil {
		return page[T]{}, err
	}
	return newPage(r, q, total, results)
}

// lastPage is the number of the last page of total results (1 when empty).
func (q listQuery) lastPage(total int64) int64 {
	return max(1, (total+q.size-1)/q.size)
}

// page is DRF's pagination envelope.
type page[T any] struct {
	Count    int64   `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

// newPage builds the envelope of q's page of a list of total entries; an
// empty page past the first is errInvalidPage.
func newPage[T any](r *http.Request, q listQuery, total int64, results []T) (page[T], error) {
	if len(results) == 0 && q.page > 1 {
		return page[T]{}, errInvalidPage
	}
	out := page[T]{Count: total, Results: results}
	if q.page*q.size < total {
		out.Next = q.pageURL(r, q.page+1)
	}
	if q.page > 1 {
		out.Previous = q.pageURL(r, q.page-1)
	}
	return out, nil
}

// pageURL is the absolute URL of another page of the same list, with only
// the parameters that still apply; as in DRF, page 1 carries no page.
func (q listQuery) pageURL(r *http.Request, n int64) *string {
	scheme := requestScheme(r)
	v := url.Values{}
	for k, vs := range q.links {
		v[k] = vs
	}
	if n > 1 {
		v.Set("page", strconv.FormatInt(n, 10))
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: v.Encode()}
	s := u.String()
	return &s
}
