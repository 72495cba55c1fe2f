package cli_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantctl/tenantctl/dbtest"
)

// TestMigrateRefusesLintedMigration: `migrate` lints the tenant migrations
// before applying any; a refused one stops the run with its file, line and
// rule, and every schema stays as it was.
func TestMigrateRefusesLintedMigration(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	addUnmigratedTenants(t, d, 2)
	a.tenantFS = withMigrations(t, map[string]string{
		"20990101000000_audit.sql": "CREATE TABLE audit (id int);\n\nCREATE TRIGGER audit_t AFTER INSERT ON users\n  FOR EACH ROW EXECUTE FUNCTION audit();",
	})

	for _, args := range [][]string{{"migrate"}, {"migrate", "--tenants", "--jobs", "2"}, {"migrate", "--schema", "t01"}} {
		r := a.run(args...)
		wantErr(t, r, 1, "refused by the tenant migration linter (Citus could not run it): "+
			"20990101000000_audit.sql:4: trigger: CREATE TRIGGER is refused: ")
		assert.Contains(t, r.err.Error(), "in the application")
		assert.True(t, strings.HasSuffix(r.err.Error(), "; nothing was migrated"), r.err.Error())
		assert.NotContains(t, r.stdout, "migrated")
	}
	assert.Zero(t, count(t, d, "SELECT count(*) FROM pg_tables WHERE schemaname IN ('t00', 't01')"), "nothing applied")

	// --shared alone does not touch the tenants: it still runs.
	a.ok("migrate", "--shared")
}
