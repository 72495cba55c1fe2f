package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

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
