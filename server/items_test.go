package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestItemsCRUD(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	item := func(method, path string, body any) req {
		return req{method: method, host: school1, path: path, body: body, bearer: tok}
	}

	r := e.do(item("POST", "/api/items/", map[string]string{"name": "  Chalk  ", "description": "White"}))
	require.Equal(t, 201, r.status, "%s", r.body)
	created := r.json(t)
	id := int64(created["id"].(float64))
	assert.Equal(t, "Chalk", created["name"], "surrounding whitespace is trimmed")
	assert.Equal(t, "demo", created["created_by_username"])
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.items i JOIN school1.users u ON u.id = i.created_by WHERE i.name = 'Chalk' AND u.username = 'demo'"))
	path := fmt.Sprintf("/api/items/%d/", id)

	long := strings.Repeat("x", 201)
	e.run(t, []scenario{
		{"OKGet", item("GET", path, nil), 200, map[string]any{"name": "Chalk", "description": "White"}},
		{"OKGetNoSlash", item("GET", strings.TrimSuffix(path, "/"), nil), 200, nil},
		{"OKCreateNoDescription", item("POST", "/api/items", map[string]string{"name": "Board"}), 201, map[string]any{"description": ""}},
		{"ErrNameRequired", item("POST", "/api/items/", map[string]string{"description": "x"}), 400, map[string]any{"name": []any{"This field is required."}}},
		{"ErrNameBlank", item("POST", "/api/items/", map[string]string{"name": ""}), 400, map[string]any{"name": []any{"This field may not be blank."}}},
		{"ErrNameNull", item("POST", "/api/items/", map[string]any{"name": nil}), 400, map[string]any{"name": []any{"This field may not be null."}}},
		{"ErrNameNotString", item("POST", "/api/items/", map[string]any{"name": []int{1}}), 400, map[string]any{"name": []any{"Not a valid string."}}},
		{"ErrNameTooLong", item("POST", "/api/items/", map[string]string{"name": long}), 400, map[string]any{"name": []any{"Ensure this field has no more than 200 characters."}}},
		{"ErrNULByte", item("POST", "/api/items/", map[string]string{"name": "a\x00b"}), 400, map[string]any{"name": []any{"Null characters are not allowed."}}},
		{"ErrDescriptionNULByte", item("POST", "/api/items/", map[string]string{"name": "a", "description": "\x00"}), 400, nil},
		{"ErrBadJSON", req{method: "POST", host: school1, path: "/api/items/", body: `{"name": "x"`, ctype: "application/json", bearer: tok}, 400, nil},
		{"OKUntypedBodyIgnored", req{method: "POST", host: school1, path: "/api/items/", body: `{"name": "x"}`, bearer: tok}, 400, map[string]any{"name": []any{"This field is required."}}},
		{"ErrMediaType", req{method: "POST", host: school1, path: "/api/items/", body: "name=x", ctype: "text/plain", bearer: tok}, 415, nil},
		{"OKPut", item("PUT", path, map[string]string{"name": "Chalk box", "description": "Box"}), 200, map[string]any{"name": "Chalk box", "description": "Box"}},
		{"ErrPutNameRequired", item("PUT", path, map[string]string{"description": "only"}), 400, map[string]any{"name": []any{"This field is required."}}},
		{"OKPatchDescription", item("PATCH", path, map[string]string{"description": "Patched"}), 200, map[string]any{"name": "Chalk box", "description": "Patched"}},
		{"OKPatchName", item("PATCH", path, map[string]string{"name": "Renamed"}), 200, map[string]any{"name": "Renamed", "description": "Patched"}},
		{"ErrPatchBlankName", item("PATCH", path, map[string]string{"name": ""}), 400, nil},
		{"ErrGetUnknown", item("GET", "/api/items/999999/", nil), 404, map[string]any{"detail": "Not found."}},
		{"ErrGetNonNumeric", item("GET", "/api/items/abc/", nil), 404, map[string]any{"detail": "Not found."}},
		{"ErrGetNegative", item("GET", "/api/items/-1/", nil), 404, map[string]any{"detail": "Not found."}},
		{"ErrGetHuge", item("GET", "/api/items/99999999999999999999999/", nil), 404, nil},
		{"ErrPutUnknown", item("PUT", "/api/items/999999/", map[string]string{"name": "x"}), 404, nil},
		{"ErrPatchUnknown", item("PATCH", "/api/items/999999/", map[string]string{"name": "x"}), 404, nil},
		{"OKDelete", item("DELETE", path, nil), 204, nil},
		{"ErrDeleteAgain", item("DELETE", path, nil), 404, map[string]any{"detail": "Not found."}},
		{"ErrGetDeleted", item("GET", path, nil), 404, nil},
		{"ErrNoToken", req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "x"}}, 401, nil},
	})
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school1.items WHERE id = $1", id))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.items"), "only Board remains; failed requests wrote nothing")
}

func TestItemsPagination(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	e.exec(`INSERT INTO school1.items (name, created_at) SELECT 'item ' || g, now() - make_interval(secs => 100 - g) FROM generate_series(1, 45) g`)
	list := func(query string) req {
		return req{method: "GET", host: school1, path: "/api/items/" + query, bearer: tok}
	}
	r := e.do(list(""))
	require.Equal(t, 200, r.status)
	page := r.json(t)
	assert.EqualValues(t, 45, page["count"])
	assert.Equal(t, "http://school1.localhost:8000/api/items/?page=2", page["next"])
	assert.Nil(t, page["previous"])
	results := page["results"].([]any)
	require.Len(t, results, 20)
	assert.Equal(t, "item 45", results[0].(map[string]any)["name"], "newest first")
	assert.Equal(t, "item 26", results[19].(map[string]any)["name"])

	page = e.do(list("?page=2")).json(t)
	assert.Equal(t, "http://school1.localhost:8000/api/items/?page=3", page["next"])
	assert.Equal(t, "http://school1.localhost:8000/api/items/", page["previous"], "page 1 has no page parameter, as in DRF")

	page = e.do(list("?page=3")).json(t)
	assert.Len(t, page["results"], 5)
	assert.Nil(t, page["next"])
	assert.Equal(t, "http://school1.localhost:8000/api/items/?page=2", page["previous"])

	t.Run("OKBehindTLSProxy", func(t *testing.T) {
		e.t = t
		rq := list("?page=2")
		rq.header = http.Header{"X-Forwarded-Proto": {"https"}}
		page := e.do(rq).json(t)
		assert.Equal(t, "https://school1.localhost:8000/api/items/?page=3", page["next"])
		assert.Equal(t, "https://school1.localhost:8000/api/items/", page["previous"])
	})

	e.run(t, []scenario{
		{"ErrPastEnd", list("?page=4"), 404, map[string]any{"detail": "Invalid page."}},
		{"ErrZero", list("?page=0"), 404, map[string]any{"detail": "Invalid page."}},
		{"ErrNotNumber", list("?page=abc"), 404, map[string]any{"detail": "Invalid page."}},
		{"ErrHuge", list("?page=99999999999999999999"), 404, map[string]any{"detail": "Invalid page."}},
		{"ErrLarge", list("?page=9223372036854775807"), 404, map[string]any{"detail": "Invalid page."}},
	})

	t.Run("OKEmpty", func(t *testing.T) {
		e.t = t
		r := e.do(req{method: "GET", host: school2, path: "/api/items/", bearer: e.demo(school2)})
		require.Equal(t, 200, r.status)
		assert.EqualValues(t, 0, r.json(t)["count"])
		assert.Equal(t, []any{}, r.json(t)["results"])
	})
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	tok1, tok2 := e.demo(school1), e.demo(school2)
	r := e.do(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "secret of school1"}, bearer: tok1})
	require.Equal(t, 201, r.status)
	id := int64(r.json(t)["id"].(float64))

	// school2 cannot see it by list or by id, nor change or delete it.
	r = e.do(req{method: "GET", host: school2, path: "/api/items/", bearer: tok2})
	assert.EqualValues(t, 0, r.json(t)["count"])
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		r = e.do(req{method: m, host: school2, path: fmt.Sprintf("/api/items/%d/", id), body: map[string]string{"name": "pwned"}, bearer: tok2})
		assert.Equal(t, 404, r.status, m)
	}
	// school1's token is refused on school2.
	r = e.do(req{method: "GET", host: school2, path: "/api/items/", bearer: tok1})
	assert.Equal(t, 403, r.status)
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.items WHERE name = 'secret of school1'"))
	assert.Equal(t, 0, e.count("SELECT count(*) FROM school2.items"))
}

// TestConcurrentTenants hammers several tenants at once over the shared
// pool: every tenant sees exactly its own rows, never another's.
func TestConcurrentTenants(t *testing.T) {
	e := newEnv(t)
	hosts := []string{school1, school2}
	for i := 3; i <= 4; i++ {
		_, err := e.prov.CreateTenant(t.Context(), provisionParams(i))
		require.NoError(t, err)
		hosts = append(hosts, fmt.Sprintf("school%d.localhost:8000", i))
	}
	tokens := map[string]string{}
	for _, h := range hosts {
		tokens[h] = e.demo(h)
	}
	const perTenant = 25
	var wg sync.WaitGroup
	errs := make(chan error, len(hosts)*perTenant*2)
	for _, h := range hosts {
		for i := range perTenant {
			wg.Go(func() {
				// send, not do: this is not the test's goroutine.
				r, _, _, err := e.send(req{method: "POST", host: h, path: "/api/items/", body: map[string]string{"name": fmt.Sprintf("%s #%d", h, i)}, bearer: tokens[h]})
				if err != nil || r.status != 201 {
					errs <- fmt.Errorf("create on %s: %d %s %v", h, r.status, r.body, err)
				}
				r, _, _, err = e.send(req{method: "GET", host: h, path: "/api/items/", bearer: tokens[h]})
				if err != nil || r.status != 200 {
					errs <- fmt.Errorf("list on %s: %d %v", h, r.status, err)
					return
				}
				var page struct{ Results []struct{ Name string } }
				if err := json.Unmarshal(r.body, &page); err != nil {
					errs <- fmt.Errorf("list on %s: %v", h, err)
					return
				}
				for _, it := range page.Results {
					if !strings.HasPrefix(it.Name, h+" #") {
						errs <- fmt.Errorf("%s saw %q", h, it.Name)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, h := range hosts {
		schema := fmt.Sprintf("school%d", i+1)
		assert.Equal(t, perTenant, e.count(fmt.Sprintf("SELECT count(*) FROM %s.items WHERE name LIKE $1", schema), h+" #%"))
		assert.Equal(t, perTenant, e.count(fmt.Sprintf("SELECT count(*) FROM %s.items", schema)))
	}
}
