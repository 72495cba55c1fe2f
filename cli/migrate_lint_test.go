package cli_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantctl/tenantctl/dbtest"
)

// TestMigrateRefusesLintedMigration: `migrate` lints the pending tenant
// migrations before applying any; a refused one fails every tenant that has
// it pending with its file, line and rule, and leaves their schemas as they
// were.
func TestMigrateRefusesLintedMigration(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	addUnmigratedTenants(t, d, 2)
	a.tenantFS = withMigrations(t, map[string]string{
		"20990101000000_audit.sql": "CREATE TABLE audit (id int);\n\nCREATE TRIGGER audit_t AFTER INSERT ON users\n  FOR EACH ROW EXECUTE FUNCTION audit();",
	})

	r := a.run("migrate", "--tenants")
	wantErr(t, r, 1, "2 tenant migrations failed")
	assert.Equal(t, [4]int{2, 0, 0, 2}, summary(t, r.stdout))
	assert.Regexp(t, `(?m)^  FAILED t00: refused by the tenant migration linter \(Citus could not run it\): `+
		`20990101000000_audit\.sql:4: trigger: CREATE TRIGGER is refused: .*in the application.*$`, r.stdout)
	assert.Zero(t, count(t, d, "SELECT count(*) FROM pg_tables WHERE schemaname IN ('t00', 't01')"), "nothing applied")
}
