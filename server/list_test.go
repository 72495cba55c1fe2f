package server_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listCase is one list request and what its page must hold.
type listCase struct {
	name     string
	query    string
	status   int
	count    int      // -1: not checked
	names    []string // the results' names, in order; nil: not checked
	next     any      // nil, or the absolute URL
	previous any
}

// checkList runs cases against the list at host+path; name is the key
// that names a result.
func (e *env) checkList(t *testing.T, host, path, bearer, name string, cases []listCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.do(req{method: "GET", host: host, path: path + c.query, bearer: bearer})
			require.Equal(t, c.status, r.status, "%s", r.body)
			if c.status != 200 {
				assert.Equal(t, "Invalid page.", r.json(t)["detail"])
				return
			}
			page := r.json(t)
			if c.count >= 0 {
				assert.EqualValues(t, c.count, page["count"])
			}
			if c.names != nil {
				var got []string
				for _, it := range page["results"].([]any) {
					got = append(got, it.(map[string]any)[name].(string))
				}
				assert.Equal(t, c.names, got)
			}
			assert.Equal(t, c.next, page["next"], "next")
			assert.Equal(t, c.previous, page["previous"], "previous")
		})
	}
}

func TestItemsListParams(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	e.exec(`INSERT INTO school1.items (name, description, created_at)
		SELECT 'item ' || lpad(g::text, 3, '0'), CASE WHEN g % 2 = 1 THEN 'odd' ELSE 'even' END, now() - make_interval(secs => 200 - g)
		FROM generate_series(1, 110) g`)
	e.exec(`INSERT INTO school1.items (name, description, created_at) VALUES
		('100% pure', 'special', now() - interval '1003 seconds'),
		('under_score', '', now() - interval '1002 seconds'),
		('Chalk', 'White board', now() - interval '1001 seconds')`)
	const u = "http://school1.localhost:8000/api/items/"
	e.checkList(t, school1, "/api/items/", tok, "name", []listCase{
		{"OKDefault", "", 200, 113, nil, u + "?page=2", nil},
		{"OKSearchName", "?search=CHALK", 200, 1, []string{"Chalk"}, nil, nil},
		{"OKSearchDescription", "?search=white", 200, 1, []string{"Chalk"}, nil, nil},
		{"OKSearchPercentIsLiteral", "?search=%25", 200, 1, []string{"100% pure"}, nil, nil},
		{"OKSearchUnderscoreIsLiteral", "?search=_", 200, 1, []string{"under_score"}, nil, nil},
		{"OKSearchBackslashIsLiteral", "?search=%5C", 200, 0, []string(nil), nil, nil},
		{"OKSearchTermsAllMatch", "?search=odd+item&page_size=50", 200, 55, nil, u + "?page=2&page_size=50&search=odd+item", nil},
		{"OKSearchTermsByComma", "?search=item,00", 200, 10, nil, nil, nil},
		{"OKSearchEmpty", "?search=", 200, 113, nil, u + "?page=2&search=", nil},
		{"OKSearchNothing", "?search=zzz", 200, 0, []string(nil), nil, nil},
		{"ErrSearchNothingPage2", "?search=zzz&page=2", 404, -1, nil, nil, nil},
		{"OKOrderingName", "?ordering=name&page_size=4", 200, 113, []string{"100% pure", "Chalk", "item 001", "item 002"},
			u + "?ordering=name&page=2&page_size=4", nil},
		{"OKOrderingNameDesc", "?ordering=-name&page_size=2", 200, 113, []string{"under_score", "item 110"}, u + "?ordering=-name&page=2&page_size=2", nil},
		{"OKOrderingIDDesc", "?ordering=-id&page_size=1", 200, 113, []string{"Chalk"}, u + "?ordering=-id&page=2&page_size=1", nil},
		{"OKOrderingCreatedAt", "?ordering=created_at&page_size=2", 200, 113, []string{"100% pure", "under_score"}, u + "?ordering=created_at&page=2&page_size=2", nil},
		{"OKOrderingDefaultSpelledOut", "?ordering=-created_at&page_size=1", 200, 113, []string{"item 110"}, u + "?ordering=-created_at&page=2&page_size=1", nil},
		{"OKOrderingUnknownIgnored", "?ordering=bogus&page_size=1", 200, 113, []string{"item 110"}, u + "?ordering=bogus&page=2&page_size=1", nil},
		{"OKOrderingNotWhitelisted", "?ordering=description&page_size=1", 200, 113, []string{"item 110"}, u + "?ordering=description&page=2&page_size=1", nil},
		{"OKOrderingUnknownThenKnown", "?ordering=bogus,+-id&page_size=1", 200, 113, []string{"Chalk"}, u + "?ordering=bogus%2C+-id&page=2&page_size=1", nil},
		{"OKOrderingTwoKeys", "?ordering=-updated_at,name&page_size=3", 200, 113, []string{"100% pure", "Chalk", "under_score"},
			u + "?ordering=-updated_at%2Cname&page=2&page_size=3", nil},
		{"OKOrderingTwoKeysOtherWay", "?ordering=updated_at,-name&page_size=2", 200, 113, []string{"item 110", "item 109"},
			u + "?ordering=updated_at%2C-name&page=2&page_size=2", nil},
		{"OKOrderingWithSearch", "?search=item&ordering=name&page=2&page_size=50", 200, 110, nil,
			u + "?ordering=name&page=3&page_size=50&search=item", u + "?ordering=name&page_size=50&search=item"},
		{"OKPageSize", "?page_size=5", 200, 113, []string{"item 110", "item 109", "item 108", "item 107", "item 106"}, u + "?page=2&page_size=5", nil},
		{"OKPageSizeCapped", "?page_size=1000", 200, 113, nil, u + "?page=2&page_size=1000", nil},
		{"OKPageSizeZeroIsDefault", "?page_size=0", 200, 113, nil, u + "?page=2&page_size=0", nil},
		{"OKPageSizeNotANumber", "?page_size=abc&page=6", 200, 113, nil, nil, u + "?page=5&page_size=abc"},
		{"OKPageLast", "?page=last", 200, 113, nil, nil, u + "?page=5"},
		{"OKPageLastWithSize", "?page=last&page_size=50", 200, 113, nil, nil, u + "?page=2&page_size=50"},
		{"OKPageLastWithSearch", "?page=last&search=chalk", 200, 1, []string{"Chalk"}, nil, nil},
		{"OKOtherParamsDropped", "?foo=bar&page=2", 200, 113, nil, u + "?page=3", u},
		{"ErrPageZero", "?page=0", 404, -1, nil, nil, nil},
		{"ErrPageLastish", "?page=Last", 404, -1, nil, nil, nil},
	})

	t.Run("OKPageCapHolds100", func(t *testing.T) {
		e.t = t
		r := e.do(req{method: "GET", host: school1, path: "/api/items/?page_size=1000", bearer: tok})
		require.Equal(t, 200, r.status)
		assert.Len(t, r.json(t)["results"], 100)
	})
	t.Run("OKLastPageOfEmptyList", func(t *testing.T) {
		e.t = t
		r := e.do(req{method: "GET", host: school2, path: "/api/items/?page=last", bearer: e.demo(school2)})
		require.Equal(t, 200, r.status)
		assert.EqualValues(t, 0, r.json(t)["count"])
	})
}

func TestAdminListParams(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken()
	_, err := e.prov.CreateTenant(t.Context(), provisionParams(3))
	require.NoError(t, err)
	e.exec(`INSERT INTO school1.users (username, email, password_hash) VALUES
		('alice', 'alice@x.io', 'x'), ('bob', 'bob@x.io', 'x'), ('carol', 'carol@x.io', 'x')`)
	for _, d := range []string{"www.school1.localhost", "b.school1.localhost"} {
		r := e.do(req{method: "POST", host: public, path: "/api/admin/tenants/school1/domains/", body: map[string]string{"domain": d}, bearer: tok})
		require.Equal(t, 201, r.status, "%s", r.body)
	}

	t.Run("Tenants", func(t *testing.T) {
		const u = "http://localhost:8000/api/admin/tenants/"
		e.checkList(t, public, "/api/admin/tenants/", tok, "schema_name", []listCase{
			{"OKDefault", "", 200, 3, []string{"school1", "school2", "school3"}, nil, nil},
			{"OKOrderingDesc", "?ordering=-schema_name", 200, 3, []string{"school3", "school2", "school1"}, nil, nil},
			{"OKOrderingCreated", "?ordering=-created_at,bogus&page_size=1", 200, 3, []string{"school3"}, u + "?ordering=-created_at%2Cbogus&page=2&page_size=1", nil},
			{"OKSearchTerms", "?search=school+2", 200, 1, []string{"school2"}, nil, nil},
			{"OKSearchDomain", "?search=WWW.school1", 200, 1, []string{"school1"}, nil, nil},
			{"OKSearchLiteralPercent", "?search=%25", 200, 0, []string(nil), nil, nil},
			{"OKPageSize", "?page_size=1&ordering=name", 200, 3, []string{"school1"}, u + "?ordering=name&page=2&page_size=1", nil},
			{"OKPageLast", "?page=last&page_size=2", 200, 3, []string{"school3"}, nil, u + "?page_size=2"},
			{"ErrPagePastEnd", "?page=2", 404, -1, nil, nil, nil},
		})
	})
	t.Run("Users", func(t *testing.T) {
		const u = "http://localhost:8000/api/admin/tenants/school1/users/"
		e.checkList(t, public, "/api/admin/tenants/school1/users/", tok, "username", []listCase{
			{"OKDefault", "", 200, 4, []string{"alice", "bob", "carol", "demo"}, nil, nil},
			{"OKOrderingDesc", "?ordering=-username", 200, 4, []string{"demo", "carol", "bob", "alice"}, nil, nil},
			{"OKOrderingID", "?ordering=-id&page_size=1", 200, 4, []string{"carol"}, u + "?ordering=-id&page=2&page_size=1", nil},
			{"OKSearch", "?search=A", 200, 2, []string{"alice", "carol"}, nil, nil},
			{"OKSearchEmail", "?search=x.io,bob", 200, 1, []string{"bob"}, nil, nil},
			{"OKPageLast", "?page=last&page_size=3&search=", 200, 4, []string{"demo"}, nil, u + "?page_size=3&search="},
			{"ErrPage", "?page=x", 404, -1, nil, nil, nil},
		})
		r := e.do(req{method: "GET", host: public, path: "/api/admin/tenants/nobody/users/?ordering=-id", bearer: tok})
		assert.Equal(t, 404, r.status)
	})
	t.Run("Domains", func(t *testing.T) {
		for _, c := range []struct {
			name, query string
			want        []string
		}{
			{"OKDefaultPrimaryFirst", "", []string{"school1.localhost", "b.school1.localhost", "www.school1.localhost"}},
			{"OKOrdering", "?ordering=domain", []string{"b.school1.localhost", "school1.localhost", "www.school1.localhost"}},
			{"OKOrderingDesc", "?ordering=-domain", []string{"www.school1.localhost", "school1.localhost", "b.school1.localhost"}},
			{"OKOrderingUnknown", "?ordering=nope", []string{"school1.localhost", "b.school1.localhost", "www.school1.localhost"}},
			{"OKSearch", "?search=WWW", []string{"www.school1.localhost"}},
			{"OKSearchNone", "?search=school2", nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				r := e.do(req{method: "GET", host: public, path: "/api/admin/tenants/school1/domains/" + c.query, bearer: tok})
				require.Equal(t, 200, r.status, "%s", r.body)
				var ds []struct{ Domain string }
				require.NoError(t, json.Unmarshal(r.body, &ds))
				var got []string
				for _, d := range ds {
					got = append(got, d.Domain)
				}
				assert.Equal(t, c.want, got)
			})
		}
		r := e.do(req{method: "GET", host: public, path: "/api/admin/tenants/nobody/domains/?search=x", bearer: tok})
		assert.Equal(t, 404, r.status)
	})
}
