package cli_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/dbtest"
)

// cliAudit is one entry of acme's audit log.
type cliAudit struct {
	actorType, actorName, targetType, targetID string
	actorID                                    *int64
	changes                                    map[string]map[string]any
}

// acmeAudits returns acme's entries of action, oldest first.
func acmeAudits(t *testing.T, d *dbtest.DB, action string) []cliAudit {
	t.Helper()
	rows, err := d.Pool.Query(t.Context(), `SELECT actor_type, actor_name, target_type, target_id, actor_id, changes
		FROM acme.audit_log WHERE action = $1 ORDER BY id`, action)
	require.NoError(t, err)
	defer rows.Close()
	var out []cliAudit
	for rows.Next() {
		var a cliAudit
		var changes []byte
		require.NoError(t, rows.Scan(&a.actorType, &a.actorName, &a.targetType, &a.targetID, &a.actorID, &changes))
		if changes != nil {
			require.NoError(t, json.Unmarshal(changes, &a.changes))
		}
		out = append(out, a)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestAuditRecordCLI: what tenantctl changes in a tenant is recorded in the
// tenant's log by the system actor "tenantctl" (no superuser signs in to
// the CLI: its operator has the database), with the changed fields and
// never a password.
func TestAuditRecordCLI(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com")
	const pw = "Correct-horse-7"
	a.ok("user", "create", "--schema", "acme", "--username", "ann", "--email", "ann@example.com", "--password", pw)
	a.ok("user", "update", "--schema", "acme", "--username", "ann", "--role", "admin")
	a.ok("tenant", "update", "--schema", "acme", "--name", "ACME Inc")
	a.ok("domain", "add", "--schema", "acme", "--domain", "www.acme.example.com")
	a.ok("domain", "remove", "--domain", "www.acme.example.com")
	a.ok("user", "delete", "--schema", "acme", "--username", "ann", "--yes")

	var annID string
	for _, c := range []struct {
		action, target, id string
		after              map[string]any
	}{
		{audit.UserCreated, "user", "", map[string]any{"username": "ann", "email": "ann@example.com", "role": "member",
			"is_staff": false, "is_active": true, "email_verified": false}},
		{audit.UserUpdated, "user", "", map[string]any{"role": "admin", "is_staff": true}},
		{audit.TenantUpdated, "tenant", "", map[string]any{"name": "ACME Inc"}},
		{audit.DomainAdded, "domain", "www.acme.example.com", map[string]any{"domain": "www.acme.example.com", "is_primary": false}},
		{audit.DomainRemoved, "domain", "www.acme.example.com", nil},
		{audit.UserDeleted, "user", "", nil},
	} {
		t.Run(c.action, func(t *testing.T) {
			got := acmeAudits(t, d, c.action)
			require.Len(t, got, 1)
			e := got[0]
			assert.Equal(t, "system", e.actorType)
			assert.Equal(t, "tenantctl", e.actorName)
			assert.Nil(t, e.actorID)
			assert.Equal(t, c.target, e.targetType)
			if c.id != "" {
				assert.Equal(t, c.id, e.targetID)
			}
			if c.target == "user" {
				if annID == "" {
					annID = e.targetID
				}
				assert.Equal(t, annID, e.targetID, "the same user throughout")
			}
			if c.after != nil {
				assert.Equal(t, c.after, e.changes["after"])
			}
		})
	}
	assert.Zero(t, count(t, d, "SELECT count(*) FROM acme.audit_log WHERE changes::text LIKE '%' || $1 || '%'", pw))

	a.ok("tenant", "delete", "--schema", "acme", "--soft", "--yes")
	a.ok("tenant", "restore", "--schema", "acme")
	assert.Len(t, acmeAudits(t, d, audit.TenantDeleted), 1)
	assert.Len(t, acmeAudits(t, d, audit.TenantRestored), 1)
}
