package server_test

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
)

// nodeOf returns the "host:port" holding schema's shards, from citus_shards.
func (e *env) nodeOf(schema string) string {
	e.t.Helper()
	var host string
	var port, nodes int
	require.NoError(e.t, e.db.Pool.QueryRow(e.t.Context(), `SELECT min(nodename), min(nodeport), count(DISTINCT (nodename, nodeport))
		FROM citus_shards WHERE citus_table_type = 'schema' AND split_part(table_name::text, '.', 1) = $1`, schema).
		Scan(&host, &port, &nodes))
	require.Equal(e.t, 1, nodes, "%s lives whole on one node", schema)
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// TestAdminClusterWithoutCitus: on plain PostgreSQL the tenant JSON has no
// node, the pages no node column or move form, and a move is refused.
func TestAdminClusterWithoutCitus(t *testing.T) {
	if len(dbtest.CitusWorkers()) > 0 {
		t.Skip("on Citus")
	}
	e := newEnv(t)
	tok := e.adminToken()
	move := func(schema string, body any) req {
		return req{method: "POST", host: public, path: "/api/admin/tenants/" + schema + "/move/", bearer: tok, body: body}
	}
	r := e.do(req{method: "GET", host: public, path: "/api/admin/tenants/school1/", bearer: tok})
	require.Equal(t, http.StatusOK, r.status)
	assert.NotContains(t, r.json(t), "node")
	r = e.do(req{method: "GET", host: public, path: "/api/admin/tenants/", bearer: tok})
	assert.NotContains(t, string(r.body), `"node"`)
	e.run(t, []scenario{
		{"ErrNotCitus", move("school1", map[string]any{"node": "10.0.0.2:5432"}), http.StatusConflict,
			map[string]any{"detail": "Citus is not installed in this database: cluster commands need a Citus coordinator."}},
		{"ErrNodeRequired", move("school1", map[string]any{}), http.StatusBadRequest,
			map[string]any{"node": []any{"This field is required."}}},
		{"ErrBadSchema", move("Not-A-Schema", map[string]any{"node": "10.0.0.2:5432"}), http.StatusNotFound, nil},
		{"ErrNoToken", req{method: "POST", host: public, path: "/api/admin/tenants/school1/move/",
			body: map[string]any{"node": "10.0.0.2:5432"}}, http.StatusUnauthorized, nil},
	})
	e.t = t // run left its last subtest there

	e.superuser("ui", suPassword)
	b := newBrowser(t, e.srv.URL)
	csrf := b.signIn("ui", suPassword)
	p := b.get("/admin/tenants/school1/")
	require.Equal(t, http.StatusOK, p.status)
	assert.NotContains(t, p.body, "tenant-node")
	assert.NotContains(t, p.body, "move-form")
	assert.NotContains(t, b.get("/admin/tenants/").body, "<th>Node</th>")
	p = b.post("/admin/tenants/school1/move/", url.Values{"csrf_token": {csrf}, "node": {"10.0.0.2:5432"}})
	assert.Equal(t, http.StatusConflict, p.status)
	assert.Contains(t, p.body, "Citus is not installed in this database")
}

// TestAdminClusterOnCitus runs on a Citus cluster only: the tenant JSON and
// page show the tenant's node; the API and the page's form move it.
func TestAdminClusterOnCitus(t *testing.T) {
	workers := dbtest.CitusWorkers()
	if len(workers) < 2 {
		t.Skip("not on a Citus cluster with two workers (TEST_CITUS_WORKERS)")
	}
	dbtest.LockCitusMoves(t)
	e := newEnv(t)
	tok := e.adminToken()
	other := func(addr string) string {
		if addr == workers[0] {
			return workers[1]
		}
		return workers[0]
	}
	move := func(schema string, body any) req {
		return req{method: "POST", host: public, path: "/api/admin/tenants/" + schema + "/move/", bearer: tok, body: body}
	}

	here := e.nodeOf("school1")
	r := e.do(req{method: "GET", host: public, path: "/api/admin/tenants/school1/", bearer: tok})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.Equal(t, here, r.json(t)["node"])
	r = e.do(req{method: "GET", host: public, path: "/api/admin/tenants/", bearer: tok})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	for _, res := range r.json(t)["results"].([]any) {
		tj := res.(map[string]any)
		assert.Equal(t, e.nodeOf(tj["schema_name"].(string)), tj["node"])
	}

	t.Run("API", func(t *testing.T) {
		e.t = t
		to := other(here)
		r := e.do(move("school1", map[string]any{"node": to}))
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		assert.Equal(t, to, r.json(t)["node"])
		assert.Equal(t, "school1", r.json(t)["schema_name"])
		assert.Equal(t, to, e.nodeOf("school1"))
		assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.users WHERE username = 'demo'"))

		e.exec("INSERT INTO clients (schema_name, name) VALUES ('pending', 'Pending')")
		e.run(t, []scenario{
			{"ErrNotPlaced", move("pending", map[string]any{"node": here}), http.StatusConflict,
				map[string]any{"detail": "The tenant's schema is on no node (not distributed, or still being created): there is nothing to move."}},
			{"ErrSameNode", move("school1", map[string]any{"node": to}), http.StatusBadRequest,
				map[string]any{"node": []any{"Tenant school1 already lives on node " + to + "."}}},
			{"ErrUnknownNode", move("school1", map[string]any{"node": "127.0.0.1:1"}), http.StatusBadRequest, nil},
			{"ErrNotHostPort", move("school1", map[string]any{"node": "nohost"}), http.StatusBadRequest,
				map[string]any{"node": []any{`"nohost" is not a node's host:port (such as 10.0.0.2:5432).`}}},
			{"ErrUnknownTenant", move("ghost", map[string]any{"node": here}), http.StatusNotFound,
				map[string]any{"detail": "Not found."}},
		})
		e.t = t // run left its last subtest there
		assert.Equal(t, to, e.nodeOf("school1"), "nothing moved")

		// Back, blocking writes, as a form.
		r = e.do(req{method: "POST", host: public, path: "/api/admin/tenants/school1/move/", bearer: tok,
			body: "node=" + url.QueryEscape(here) + "&block_writes=true", ctype: "application/x-www-form-urlencoded"})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		assert.Equal(t, here, e.nodeOf("school1"))
	})

	t.Run("UI", func(t *testing.T) {
		e.t = t
		e.superuser("ui", suPassword)
		b := newBrowser(t, e.srv.URL)
		csrf := b.signIn("ui", suPassword)
		assert.Contains(t, b.get("/admin/tenants/").body, "<th>Node</th>")
		p := b.get("/admin/tenants/school2/")
		require.Equal(t, http.StatusOK, p.status)
		from := e.nodeOf("school2")
		to := other(from)
		assert.Contains(t, p.body, `<dd id="tenant-node"><code>`+from+`</code></dd>`)
		assert.Contains(t, p.body, `id="move-form"`)
		assert.Contains(t, p.body, `<option value="`+to+`"`)
		assert.NotContains(t, p.body, `<option value="`+from+`"`, "its own node is no target")

		// The existing CSRF protection guards the form.
		p = b.post("/admin/tenants/school2/move/", url.Values{"csrf_token": {"forged"}, "node": {to}})
		assert.Equal(t, http.StatusForbidden, p.status)
		assert.Equal(t, from, e.nodeOf("school2"))

		p = b.post("/admin/tenants/school2/move/", url.Values{"csrf_token": {csrf}, "node": {"127.0.0.1:1"}})
		assert.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, "Node 127.0.0.1:1 is not in the cluster")
		assert.Equal(t, from, e.nodeOf("school2"))

		p = b.post("/admin/tenants/school2/move/", url.Values{"csrf_token": {csrf}, "node": {to}})
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		assert.Equal(t, "/admin/tenants/school2/#node", p.location())
		assert.Equal(t, to, e.nodeOf("school2"))
		p = b.get("/admin/tenants/school2/")
		assert.Contains(t, p.body, "Moved tenant school2 from "+from+" to "+to+".")
		assert.Contains(t, p.body, `<dd id="tenant-node"><code>`+to+`</code></dd>`)
	})
}
