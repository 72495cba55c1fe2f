package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// auditRow is one row of a tenant's audit_log, as a test reads it.
type auditRow struct {
	ActorType, ActorName, Action, TargetType, TargetID, ClientAddr, RequestID string
	ActorID                                                                   *int64
	Changes                                                                   map[string]map[string]any
}

// audits returns the entries of schema's audit log with action, oldest first.
func (e *env) audits(schema, action string) []auditRow {
	e.t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), fmt.Sprintf(`
		SELECT actor_type, actor_name, action, target_type, target_id, client_addr, request_id, actor_id, changes
		FROM %s.audit_log WHERE action = $1 ORDER BY id`, schema), action)
	require.NoError(e.t, err)
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var a auditRow
		var changes []byte
		require.NoError(e.t, rows.Scan(&a.ActorType, &a.ActorName, &a.Action, &a.TargetType, &a.TargetID, &a.ClientAddr, &a.RequestID, &a.ActorID, &changes))
		if changes != nil {
			require.NoError(e.t, json.Unmarshal(changes, &a.Changes))
		}
		out = append(out, a)
	}
	require.NoError(e.t, rows.Err())
	return out
}

// TestAuditItems: an item's creation, change and deletion are each recorded
// in the tenant's schema with the user, the item, the request and the
// changed fields; a refused change records nothing.
func TestAuditItems(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	r := e.do(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "Chalk", "description": "White"}, bearer: tok})
	require.Equal(t, 201, r.status, "%s", r.body)
	id := fmt.Sprint(int64(r.json(t)["id"].(float64)))
	created := e.audits("school1", "item.created")
	require.Len(t, created, 1)
	c := created[0]
	assert.Equal(t, "user", c.ActorType)
	assert.Equal(t, "demo", c.ActorName)
	assert.NotNil(t, c.ActorID)
	assert.Equal(t, "item", c.TargetType)
	assert.Equal(t, id, c.TargetID)
	assert.Equal(t, r.header.Get("X-Request-ID"), c.RequestID)
	assert.Equal(t, "127.0.0.1", c.ClientAddr)
	assert.Equal(t, map[string]map[string]any{"after": {"name": "Chalk", "description": "White"}}, c.Changes)

	path := "/api/items/" + id + "/"
	r = e.do(req{method: "PATCH", host: school1, path: path, body: map[string]string{"name": "Chalk box"}, bearer: tok})
	require.Equal(t, 200, r.status, "%s", r.body)
	updated := e.audits("school1", "item.updated")
	require.Len(t, updated, 1)
	assert.Equal(t, map[string]map[string]any{"before": {"name": "Chalk"}, "after": {"name": "Chalk box"}}, updated[0].Changes,
		"only the changed field, before and after")

	r = e.do(req{method: "PATCH", host: school1, path: path, body: map[string]string{"name": ""}, bearer: tok})
	require.Equal(t, 400, r.status)
	r = e.do(req{method: "DELETE", host: school1, path: "/api/items/999999/", bearer: tok})
	require.Equal(t, 404, r.status)
	assert.Len(t, e.audits("school1", "item.updated"), 1, "a refused change records nothing")
	assert.Empty(t, e.audits("school1", "item.deleted"))

	r = e.do(req{method: "DELETE", host: school1, path: path, bearer: tok})
	require.Equal(t, 204, r.status)
	deleted := e.audits("school1", "item.deleted")
	require.Len(t, deleted, 1)
	assert.Equal(t, map[string]map[string]any{"before": {"name": "Chalk box", "description": "White"}}, deleted[0].Changes)
	assert.Zero(t, e.count("SELECT count(*) FROM school2.audit_log WHERE action LIKE 'item.%'"), "nothing in another tenant's log")
}

// addAudits writes n entries of action into schema's log straight in SQL
// (faster than n requests), one a second apart ending at end, with actor
// user 42 and targets thing/1..n, and returns their ids, oldest first.
func (e *env) addAudits(schema, action string, n int, end time.Time) []int64 {
	e.t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), fmt.Sprintf(`
		INSERT INTO %s.audit_log (created_at, actor_type, actor_id, actor_name, action, target_type, target_id, changes)
		SELECT $1::timestamptz - make_interval(secs => $3 - i), 'user', 42, 'bulk', $2, 'thing', i::text,
		       jsonb_build_object('before', jsonb_build_object('n', i - 1), 'after', jsonb_build_object('n', i))
		FROM generate_series(1, $3::int) AS i
		ORDER BY i
		RETURNING id`, schema), end, action, n)
	require.NoError(e.t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(e.t, err)
	return ids
}

// auditPage is one page of GET /api/audit/ as a test reads it.
type auditPage struct {
	Next     *string          `json:"next"`
	Previous *string          `json:"previous"`
	Results  []map[string]any `json:"results"`
}

// auditGet fetches path (a path with its query, or an absolute next or
// previous link) as tok on host and returns the status and page.
func (e *env) auditGet(host, tok, path string) (int, auditPage, reply) {
	e.t.Helper()
	if u, err := url.Parse(path); err == nil && u.IsAbs() {
		require.Equal(e.t, host, u.Host, "links name the request's host")
		path = u.RequestURI()
	}
	r := e.do(req{method: "GET", host: host, path: path, bearer: tok})
	var p auditPage
	if r.status == 200 {
		require.NoError(e.t, json.Unmarshal(r.body, &p))
	}
	return r.status, p, r
}

// ids are the ids of a page's entries.
func (p auditPage) ids() []int64 {
	out := make([]int64, len(p.Results))
	for i, r := range p.Results {
		out[i] = int64(r["id"].(float64))
	}
	return out
}

// TestAuditAPI: GET /api/audit/ shows owners and admins their tenant's log,
// newest first; its cursors walk every entry once, forwards and back; each
// filter narrows it; bad filters and cursors are refused as DRF would; and
// another tenant's entries never show.
func TestAuditAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	end := time.Now().Add(-time.Hour).Truncate(time.Second)
	bulk := e.addAudits("school1", "test.bulk", 130, end)
	e.addAudits("school2", "test.other", 5, end)
	r := e.do(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "Chalk"}, bearer: tok})
	require.Equal(t, 201, r.status, "%s", r.body)
	itemID := fmt.Sprint(int64(r.json(t)["id"].(float64)))
	r = e.do(req{method: "PATCH", host: school1, path: "/api/items/" + itemID + "/", body: map[string]string{"name": "Chalk box"}, bearer: tok})
	require.Equal(t, 200, r.status, "%s", r.body)
	all := e.auditIDs("school1")
	require.GreaterOrEqual(t, len(all), 132)

	t.Run("OKNewestFirst", func(t *testing.T) {
		status, p, raw := e.auditGet(school1, tok, "/api/audit/")
		require.Equal(t, 200, status, "%s", raw.body)
		assert.Nil(t, p.Previous)
		require.NotNil(t, p.Next)
		require.Len(t, p.Results, 50, "50 a page by default")
		assert.Equal(t, all[:50], p.ids())
		updated := p.Results[0]
		assert.Equal(t, "item.updated", updated["action"])
		assert.Equal(t, map[string]any{"type": "item", "id": itemID}, updated["target"])
		actor := updated["actor"].(map[string]any)
		assert.Equal(t, "user", actor["type"])
		assert.Equal(t, "demo", actor["name"])
		assert.NotNil(t, actor["id"])
		assert.Equal(t, "127.0.0.1", updated["client_address"])
		assert.Equal(t, r.header.Get("X-Request-ID"), updated["request_id"])
		assert.Equal(t, map[string]any{"before": map[string]any{"name": "Chalk"}, "after": map[string]any{"name": "Chalk box"}}, updated["changes"])
		created := p.Results[1]
		assert.Equal(t, "item.created", created["action"])
		assert.Equal(t, map[string]any{"before": nil, "after": map[string]any{"name": "Chalk", "description": ""}}, created["changes"])
		assert.Equal(t, all, e.auditIDs("school1"), "reading the log records nothing")
	})

	t.Run("OKCursorWalk", func(t *testing.T) {
		var seen []int64
		var pages []auditPage
		next := "/api/audit/?page_size=17"
		for next != "" {
			status, p, raw := e.auditGet(school1, tok, next)
			require.Equal(t, 200, status, "%s", raw.body)
			assert.Equal(t, len(pages) > 0, p.Previous != nil, "page %d: a previous link after the first", len(pages))
			seen = append(seen, p.ids()...)
			pages = append(pages, p)
			next = ""
			if p.Next != nil {
				assert.Contains(t, *p.Next, "page_size=17", "links keep the parameters")
				next = *p.Next
			}
			require.Less(t, len(pages), 20)
		}
		assert.Equal(t, all, seen, "every entry once, newest first, no gaps")
		// Back from the last page to the first by the previous links.
		var back []int64
		p := pages[len(pages)-1]
		for i := len(pages) - 2; i >= 0; i-- {
			require.NotNil(t, p.Previous)
			status, prev, raw := e.auditGet(school1, tok, *p.Previous)
			require.Equal(t, 200, status, "%s", raw.body)
			assert.Equal(t, pages[i].ids(), prev.ids(), "previous of page %d", i+1)
			assert.NotNil(t, prev.Next)
			back = append(prev.ids(), back...)
			p = prev
		}
		assert.Nil(t, p.Previous, "the first page again has no previous")
		assert.Equal(t, all[:len(back)], back)
	})

	t.Run("OKPageSizeCapped", func(t *testing.T) {
		status, p, _ := e.auditGet(school1, tok, "/api/audit/?page_size=1000")
		require.Equal(t, 200, status)
		assert.Len(t, p.Results, min(200, len(all)))
		status, p, _ = e.auditGet(school1, tok, "/api/audit/?page_size=x")
		require.Equal(t, 200, status)
		assert.Len(t, p.Results, 50, "a bad page_size is ignored")
	})

	t.Run("OKFilters", func(t *testing.T) {
		for _, c := range []struct {
			name, query string
			want        int
		}{
			{"Action", "action=test.bulk", 130},
			{"ActionList", "action=item.created,item.updated", 2},
			{"ActionRepeated", "action=item.created&action=test.bulk", 131},
			{"ActionPrefix", "action=item.*", 2},
			{"ActionNone", "action=item.deleted", 0},
			{"ActorType", "actor_type=user&action=test.*", 130},
			{"ActorID", "actor_id=42", 130},
			{"ActorTypeNone", "actor_type=superuser", 0},
			{"TargetType", "target_type=thing", 130},
			{"Target", "target_type=item&target_id=" + itemID, 2},
			{"TargetID", "target_id=7&target_type=thing", 1},
			{"Since", "action=test.bulk&since=" + url.QueryEscape(end.Add(-9*time.Second).Format(time.RFC3339)), 10},
			{"Until", "action=test.bulk&until=" + url.QueryEscape(end.Add(-120*time.Second).Format(time.RFC3339)), 10},
			{"Range", "since=" + url.QueryEscape(end.Add(-19*time.Second).Format(time.RFC3339)) +
				"&until=" + url.QueryEscape(end.Add(-10*time.Second).Format(time.RFC3339)), 10},
			{"Empty", "action=&actor_type=", len(all)},
		} {
			t.Run(c.name, func(t *testing.T) {
				var got []int64
				next := "/api/audit/?page_size=200&" + c.query
				for next != "" {
					status, p, raw := e.auditGet(school1, tok, next)
					require.Equal(t, 200, status, "%s", raw.body)
					got = append(got, p.ids()...)
					next = ""
					if p.Next != nil {
						next = *p.Next
					}
				}
				assert.Len(t, got, c.want)
			})
		}
		_, p, _ := e.auditGet(school1, tok, "/api/audit/?target_type=thing&target_id=7")
		require.Len(t, p.Results, 1)
		assert.Equal(t, map[string]any{"type": "thing", "id": "7"}, p.Results[0]["target"])
		assert.Contains(t, bulk, p.ids()[0])
		assert.Equal(t, map[string]any{"type": "user", "id": 42.0, "name": "bulk"}, p.Results[0]["actor"])
		_, p, _ = e.auditGet(school1, tok, "/api/audit/?action=test.bulk&page_size=5&since="+url.QueryEscape(end.Add(-9*time.Second).Format(time.RFC3339)))
		require.NotNil(t, p.Next)
		assert.Contains(t, *p.Next, "since=", "links keep the filters")
		_, p, _ = e.auditGet(school1, tok, *p.Next)
		assert.Len(t, p.Results, 5)
		assert.Nil(t, p.Next, "10 entries: two pages")
	})

	t.Run("ErrFilters", func(t *testing.T) {
		for _, c := range []struct{ query, body string }{
			{"since=yesterday", `{"since": ["Enter a valid date/time."]}`},
			{"until=2026-13-01", `{"until": ["Enter a valid date/time."]}`},
			{"actor_id=x", `{"actor_id": ["Enter a number."]}`},
			{"actor_type=robot", `{"actor_type": ["Select a valid choice. robot is not one of the available choices."]}`},
		} {
			r := e.do(req{method: "GET", host: school1, path: "/api/audit/?" + c.query, bearer: tok})
			assert.Equal(t, 400, r.status, c.query)
			assert.JSONEq(t, c.body, string(r.body), c.query)
		}
		for _, cursor := range []string{"x", "!!!", "cD0w", "cD1hYmM", "cj0yJnA9MQ"} {
			r := e.do(req{method: "GET", host: school1, path: "/api/audit/?cursor=" + cursor, bearer: tok})
			assert.Equal(t, 404, r.status, cursor)
			assert.JSONEq(t, `{"detail": "Invalid cursor"}`, string(r.body), cursor)
		}
		r := e.do(req{method: "GET", host: school1, path: "/api/audit/?since=2026-01-01", bearer: tok})
		assert.Equal(t, 200, r.status, "a date is a time: its midnight")
	})

	t.Run("ErrForbidden", func(t *testing.T) {
		e.addUser("school1", "teacher", "member")
		r := e.do(req{method: "GET", host: school1, path: "/api/audit/", bearer: e.signIn(school1, "teacher")})
		assert.Equal(t, 403, r.status)
		assert.JSONEq(t, `{"detail": "You do not have permission to perform this action."}`, string(r.body))
		e.addUser("school1", "head", "admin")
		r = e.do(req{method: "GET", host: school1, path: "/api/audit/", bearer: e.signIn(school1, "head")})
		assert.Equal(t, 200, r.status, "admins read the log")
		r = e.do(req{method: "GET", host: school1, path: "/api/audit/"})
		assert.Equal(t, 401, r.status)
		r = e.do(req{method: "GET", host: school2, path: "/api/audit/", bearer: tok})
		assert.Equal(t, 403, r.status, "a token of another tenant")
	})

	t.Run("OKOtherTenant", func(t *testing.T) {
		status, p, _ := e.auditGet(school2, e.demo(school2), "/api/audit/?page_size=200")
		require.Equal(t, 200, status)
		for _, r := range p.Results {
			assert.NotEqual(t, "test.bulk", r["action"])
			assert.NotEqual(t, "item.created", r["action"])
		}
		_, p, _ = e.auditGet(school2, e.demo(school2), "/api/audit/?action=test.other")
		assert.Len(t, p.Results, 5)
		_, p, _ = e.auditGet(school1, tok, "/api/audit/?action=test.other")
		assert.Empty(t, p.Results, "school2's entries never show in school1")
	})
}

// auditIDs are the ids of schema's log, newest first.
func (e *env) auditIDs(schema string) []int64 {
	e.t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), fmt.Sprintf(`SELECT id FROM %s.audit_log ORDER BY id DESC`, schema))
	require.NoError(e.t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(e.t, err)
	return ids
}
