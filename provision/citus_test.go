package provision_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/provision"
)

// TestTenantsSpreadOverWorkers runs on a Citus cluster only (go tool task
// test:citus): every tenant schema is a distributed schema, placed whole on
// one worker, and the tenants land on more than one worker; public and
// river stay on the coordinator.
func TestTenantsSpreadOverWorkers(t *testing.T) {
	if len(dbtest.CitusWorkers()) == 0 {
		t.Skip("not on Citus (TEST_CITUS_WORKERS unset)")
	}
	svc, d := newService(t)
	var schemas []string
	for i := range 6 {
		s := fmt.Sprintf("spread%d", i)
		schemas = append(schemas, s)
		_, err := svc.CreateTenant(t.Context(), provision.TenantParams{Schema: s, Name: s, Domain: s + ".example.com",
			Admin: &provision.UserParams{Username: "boss", Password: "Harbour-Lamp-71"}})
		require.NoError(t, err)
	}
	assert.Equal(t, len(schemas), count(t, d, "SELECT count(*) FROM citus_schemas WHERE schema_name::text = ANY ($1)", schemas),
		"every tenant schema is distributed")
	assert.Zero(t, count(t, d, "SELECT count(*) FROM citus_schemas WHERE schema_name::text IN ('public', 'river')"),
		"public and river stay on the coordinator")
	for _, s := range schemas {
		assert.Equal(t, 1, count(t, d, `SELECT count(DISTINCT (nodename, nodeport)) FROM citus_shards
			WHERE citus_table_type = 'schema' AND table_name::text LIKE $1 || '.%'`, s), "%s lives whole on one node", s)
	}
	assert.Greater(t, count(t, d, `SELECT count(DISTINCT (nodename, nodeport)) FROM citus_shards
		WHERE citus_table_type = 'schema' AND split_part(table_name::text, '.', 1) = ANY ($1)`, schemas), 1,
		"the tenants land on more than one worker")
}
