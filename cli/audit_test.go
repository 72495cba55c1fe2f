package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
)

// TestAudit: tenantctl audit prints a tenant's log newest first, as a table
// or JSON, limited and filtered; an unknown tenant or a bad flag is one
// line and exit 1 or 2.
func TestAudit(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com")
	_, err := d.Pool.Exec(t.Context(), `
		INSERT INTO acme.audit_log (created_at, actor_type, actor_id, actor_name, action, target_type, target_id, client_addr, request_id, changes)
		VALUES ('2026-01-01T10:00:00Z', 'user', 7, 'ann', 'item.created', 'item', '1', '10.0.0.1', 'req-1', '{"after": {"name": "Chalk"}}'),
		       ('2026-01-02T10:00:00Z', 'user', 7, 'ann', 'item.updated', 'item', '1', '10.0.0.1', 'req-2',
		        '{"before": {"name": "Chalk"}, "after": {"name": "Chalk box"}}'),
		       ('2026-01-03T10:00:00Z', 'superuser', 1, 'root', 'test.tenant_updated', 'tenant', 'acme', '', '', NULL),
		       ('2026-01-04T10:00:00Z', 'system', NULL, 'tenantctl', 'test.user_deleted', 'user', '9', '', '', '{"before": {"username": "bob"}}')`)
	require.NoError(t, err)

	t.Run("OKTable", func(t *testing.T) {
		r := a.ok("audit", "--schema", "acme", "--since", "2026-01-01", "--until", "2026-01-05")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 5, r.stdout)
		assert.Regexp(t, `^TIME\s+ACTOR\s+ACTION\s+TARGET\s+CHANGES$`, lines[0])
		assert.Regexp(t, `^2026-01-04T10:00:00Z\s+system tenantctl\s+test.user_deleted\s+user 9\s+username: was bob$`, lines[1])
		assert.Regexp(t, `^2026-01-03T10:00:00Z\s+superuser root\s+test.tenant_updated\s+tenant acme\s+-$`, lines[2])
		assert.Regexp(t, `^2026-01-02T10:00:00Z\s+user ann\s+item.updated\s+item 1\s+name: Chalk -> Chalk box$`, lines[3])
		assert.Regexp(t, `^2026-01-01T10:00:00Z\s+user ann\s+item.created\s+item 1\s+name: Chalk$`, lines[4])
	})
	t.Run("OKLimitAndFilters", func(t *testing.T) {
		r := a.ok("audit", "--schema", "acme", "--until", "2026-01-05", "--limit", "2")
		assert.Equal(t, 3, strings.Count(r.stdout, "\n"), r.stdout)
		assert.Contains(t, r.stdout, "test.user_deleted")
		assert.Contains(t, r.stdout, "test.tenant_updated")
		r = a.ok("audit", "--schema", "acme", "--action", "item.*")
		assert.Equal(t, 3, strings.Count(r.stdout, "\n"), r.stdout)
		r = a.ok("audit", "--schema", "acme", "--action", "item.created,test.user_deleted", "--actor-type", "user")
		assert.Equal(t, 2, strings.Count(r.stdout, "\n"), r.stdout)
		assert.Contains(t, r.stdout, "item.created")
		r = a.ok("audit", "--schema", "acme", "--target-type", "tenant", "--target-id", "acme")
		assert.Equal(t, 2, strings.Count(r.stdout, "\n"), r.stdout)
		r = a.ok("audit", "--schema", "acme", "--since", "2026-01-02T10:00:00Z", "--until", "2026-01-03T10:00:00Z", "--limit", "0")
		assert.Equal(t, 3, strings.Count(r.stdout, "\n"), "both bounds included: %s", r.stdout)
	})
	t.Run("OKJSON", func(t *testing.T) {
		r := a.ok("audit", "--schema", "acme", "--action", "item.updated,test.user_deleted", "--json")
		var got []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
		require.Len(t, got, 2)
		assert.Equal(t, "test.user_deleted", got[0]["action"])
		assert.Equal(t, map[string]any{"type": "system", "id": nil, "name": "tenantctl"}, got[0]["actor"])
		assert.Equal(t, map[string]any{"before": map[string]any{"username": "bob"}, "after": nil}, got[0]["changes"])
		assert.Equal(t, map[string]any{"type": "item", "id": "1"}, got[1]["target"])
		assert.Equal(t, "2026-01-02T10:00:00Z", got[1]["created_at"])
		assert.Equal(t, "10.0.0.1", got[1]["client_address"])
		assert.Equal(t, "req-2", got[1]["request_id"])
		r = a.ok("audit", "--schema", "acme", "--action", "nothing.here", "--json")
		assert.Equal(t, "[]\n", r.stdout)
	})
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"ErrUnknownTenant", []string{"--schema", "ghost"}, 1, `tenant "ghost" not found`},
		{"ErrInvalidSchema", []string{"--schema", "a;drop"}, 1, "schema_name: invalid schema name"},
		{"ErrNoSchema", nil, 2, "missing required flag --schema"},
		{"ErrSince", []string{"--schema", "acme", "--since", "yesterday"}, 2, `--since: "yesterday" is not a time`},
		{"ErrActorType", []string{"--schema", "acme", "--actor-type", "robot"}, 2, `--actor-type: "robot"`},
		{"ErrLimit", []string{"--schema", "acme", "--limit", "-1"}, 2, "--limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.run(append([]string{"audit"}, tc.args...)...)
			wantErr(t, r, tc.code, tc.msg)
			assert.NotContains(t, r.err.Error(), "\n", "one line")
		})
	}
}
