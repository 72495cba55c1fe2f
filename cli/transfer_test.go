package cli_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/dbtest"
)

// initMigration is the first tenant migration's file.
func initMigration(t *testing.T) []byte {
	raw, err := fs.ReadFile(dbmate.Tenant, "tenant/20250101000000_init.sql")
	require.NoError(t, err)
	return raw
}

// TestTenantExportImport: export writes an archive file (or stdout),
// import creates the tenant from it in another database or next to the
// original, and every refusal is one line, exit 1, with nothing written.
func TestTenantExportImport(t *testing.T) {
	t.Parallel()
	src := dbtest.New(t)
	a := newApp(t, src)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com",
		"--admin-username", "boss", "--admin-password", "Correct-horse-7")
	a.ok("user", "create", "--schema", "acme", "--username", "member1", "--password", "Velvet-Canyon-58")
	dir := t.TempDir()
	file := filepath.Join(dir, "acme.tenant")

	t.Run("ErrExportUnknown", func(t *testing.T) {
		wantErr(t, a.run("tenant", "export", "--schema", "ghost", "-o", file), 1, `tenant "ghost" not found`)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, "no file, not even a temporary one")
	})
	t.Run("ErrExportToTerminal", func(t *testing.T) {
		r := a.runWith(runOpts{stdoutTTY: true}, "tenant", "export", "--schema", "acme", "-o", "-")
		wantErr(t, r, 2, "refusing to write an archive to a terminal")
	})
	t.Run("OKExport", func(t *testing.T) {
		out := a.ok("tenant", "export", "--schema", "acme", "--output", file).stdout
		// 9 tables (with audit_log, api_keys and the webhook tables); 4 rows:
		// the 2 users and the audit entries of their creation.
		assert.Regexp(t, `^exported tenant acme to .*acme\.tenant: 9 tables, 4 rows, \d+\.\d kB\n$`, out)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 1)
	})

	dst := dbtest.New(t)
	b := newApp(t, dst)
	t.Run("ErrImportUsage", func(t *testing.T) {
		wantErr(t, b.run("tenant", "import"), 2, "missing FILE")
		wantErr(t, b.run("tenant", "import", file, "other"), 2, `unexpected argument "other"`)
		wantErr(t, b.run("tenant", "import", filepath.Join(dir, "nope")), 1, "no such file or directory")
		wantErr(t, b.runWith(runOpts{term: typing()}, "tenant", "import", "-"), 2, "refusing to read an archive from a terminal")
		wantErr(t, b.run("tenant", "import", file, "--schema", "Bad"), 1, "schema_name: invalid schema name")
		wantErr(t, b.run("tenant", "import", file, "--domain", "localhost"), 1, "public site's host")
	})
	t.Run("ErrImportNewer", func(t *testing.T) {
		old := newApp(t, dst)
		old.tenantFS = fstest.MapFS{"tenant/20250101000000_init.sql": {Data: initMigration(t)}}
		wantErr(t, old.run("tenant", "import", file), 1,
			"the archive is newer than this tenantctl: its tenant schema has migration ")
		assert.Zero(t, leftovers(t, dst, "acme"))
	})
	t.Run("ErrImportDamaged", func(t *testing.T) {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		cut := filepath.Join(dir, "cut.tenant")
		require.NoError(t, os.WriteFile(cut, raw[:len(raw)*2/3], 0o600))
		wantErr(t, b.run("tenant", "import", cut), 1, "the archive is damaged: it ends early (truncated)")
		assert.Zero(t, leftovers(t, dst, "acme"))
	})
	t.Run("OKImport", func(t *testing.T) {
		out := b.ok("tenant", "import", file).stdout
		assert.Regexp(t, `^imported tenant acme at acme\.example\.com: 9 tables, 4 rows, `, out)
		assert.Equal(t, 2, count(t, dst, "SELECT count(*) FROM acme.users"))
		assert.Contains(t, b.ok("tenant", "list").stdout, "acme.example.com")
		assert.Contains(t, b.ok("status").stdout, "acme")
	})
	t.Run("ErrImportTaken", func(t *testing.T) {
		wantErr(t, b.run("tenant", "import", file), 1, `schema_name: A tenant with schema "acme" already exists.; nothing was imported`)
		wantErr(t, b.run("tenant", "import", file, "--schema", "acme2"), 1, `domain: The domain "acme.example.com" is already in use.; nothing was imported`)
		assert.Zero(t, leftovers(t, dst, "acme2"))
	})
	t.Run("OKImportNextToOriginal", func(t *testing.T) {
		out := b.ok("tenant", "import", file, "--schema", "acme2", "--name", "ACME two", "--domain", "acme2.example.com").stdout
		assert.Regexp(t, `^imported tenant acme2 at acme2\.example\.com: `, out)
		assert.Equal(t, 1, count(t, dst, "SELECT count(*) FROM clients WHERE schema_name = 'acme2' AND name = 'ACME two'"))
	})
	t.Run("OKStdoutToStdin", func(t *testing.T) {
		r := a.ok("tenant", "export", "--schema", "acme", "-o", "-")
		assert.Regexp(t, `^exported tenant acme: 9 tables, 4 rows, `, r.stderr)
		out := b.runWith(runOpts{stdin: r.stdout}, "tenant", "import", "-", "--schema", "acme3", "--domain", "acme3.example.com")
		require.NoError(t, out.err)
		assert.Equal(t, 2, count(t, dst, "SELECT count(*) FROM acme3.users"))
	})
}

// TestTenantClone copies a tenant within its database, by default to
// <schema>.TENANT_BASE_DOMAIN.
func TestTenantClone(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com",
		"--admin-username", "boss", "--admin-password", "Correct-horse-7")

	wantErr(t, a.run("tenant", "clone", "--from", "acme", "--schema", "acme"), 2, "--schema must differ from --from")
	wantErr(t, a.run("tenant", "clone", "--from", "ghost", "--schema", "copy"), 1, `tenant "ghost" not found; nothing was imported`)
	assert.Zero(t, leftovers(t, d, "copy"))
	wantErr(t, a.run("tenant", "clone", "--from", "acme", "--schema", "copy", "--domain", "acme.example.com"), 1, "is already in use")
	assert.Zero(t, leftovers(t, d, "copy"))

	out := a.ok("tenant", "clone", "--from", "acme", "--schema", "acme_copy").stdout
	// The owner and the audit entry of their creation.
	assert.Regexp(t, `^cloned tenant acme to acme_copy at acme-copy\.localhost: 9 tables, 2 rows, `, out)
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM acme_copy.users WHERE username = 'boss' AND role = 'owner'"))

	a.env["TENANT_BASE_DOMAIN"] = "tenants.example.com"
	out = a.ok("tenant", "clone", "--from", "acme", "--schema", "third").stdout
	assert.Regexp(t, `^cloned tenant acme to third at third\.tenants\.example\.com: `, out)
}
