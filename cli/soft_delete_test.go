package cli_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/telemetry"
)

// TestTenantSoftDelete: delete --soft keeps the schema, data and domains
// but unroutes the tenant; list shows deleted_at; restore brings it back;
// a hard delete of a softly deleted tenant drops it.
func TestTenantSoftDelete(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com",
		"--admin-username", "boss", "--admin-password", "Correct-horse-7")
	routable := func() int {
		return count(t, d, "SELECT count(*) FROM domains d JOIN clients c ON c.id = d.client_id WHERE d.domain = 'acme.example.com' AND c.deleted_at IS NULL")
	}

	t.Run("ErrNotTerminal", func(t *testing.T) {
		wantErr(t, a.run("tenant", "delete", "--schema", "acme", "--soft"), 1, "refusing to delete without --yes when not on a terminal")
		assert.Equal(t, 1, routable())
	})
	t.Run("ErrConfirmationMismatch", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "acm\n", term: typing()}, "tenant", "delete", "--schema", "acme", "--soft")
		wantErr(t, r, 1, `confirmation "acm" does not match "acme"; nothing deleted`)
		assert.Contains(t, r.stderr, "can be restored")
		assert.Equal(t, 1, routable())
	})
	t.Run("ErrRestoreLive", func(t *testing.T) {
		wantErr(t, a.run("tenant", "restore", "--schema", "acme"), 1, "tenant acme is not deleted: there is nothing to restore")
	})
	t.Run("ErrRestoreUnknown", func(t *testing.T) {
		wantErr(t, a.run("tenant", "restore", "--schema", "ghost"), 1, `tenant "ghost" not found`)
		wantErr(t, a.run("tenant", "delete", "--schema", "ghost", "--soft", "--yes"), 1, `tenant "ghost" not found`)
	})
	t.Run("OKSoft", func(t *testing.T) {
		r := a.runWith(runOpts{stdin: "acme\n", term: typing()}, "tenant", "delete", "--schema", "acme", "--soft")
		require.NoError(t, r.err, r.stderr)
		assert.Contains(t, r.stdout, "deleted tenant acme (ACME) softly at ")
		assert.Contains(t, r.stdout, "tenantctl tenant restore --schema acme")
		assert.Zero(t, routable())
		// Schema, rows and domain stay.
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'acme'"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM acme.users WHERE username = 'boss'"))
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM domains WHERE domain = 'acme.example.com'"))
		// Every user's earlier tokens end.
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM acme.users WHERE tokens_valid_after IS NOT NULL"))

		wantErr(t, a.run("tenant", "delete", "--schema", "acme", "--soft", "--yes"), 1, "tenant acme is already deleted")

		out := a.ok("tenant", "list").stdout
		assert.Contains(t, out, "DELETED AT")
		assert.Regexp(t, `acme\.example\.com .* 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ`, out)
		var raw []map[string]any
		require.NoError(t, json.Unmarshal([]byte(a.ok("tenant", "list", "--json").stdout), &raw))
		require.Len(t, raw, 1)
		at, err := time.Parse(time.RFC3339Nano, raw[0]["deleted_at"].(string))
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), at, time.Minute)

		// A domain of a deleted tenant stays reserved.
		a.ok("tenant", "create", "--schema", "other", "--name", "Other", "--domain", "other.example.com")
		wantErr(t, a.run("domain", "add", "--schema", "other", "--domain", "acme.example.com"), 1, "already in use")
	})
	t.Run("OKRestore", func(t *testing.T) {
		assert.Equal(t, "restored tenant acme (ACME) at acme.example.com\n", a.ok("tenant", "restore", "--schema", "acme").stdout)
		assert.Equal(t, 1, routable())
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM acme.users WHERE username = 'boss'"))
		var raw []map[string]any
		require.NoError(t, json.Unmarshal([]byte(a.ok("tenant", "list", "--json").stdout), &raw))
		assert.Nil(t, raw[0]["deleted_at"])
		wantErr(t, a.run("tenant", "restore", "--schema", "acme"), 1, "is not deleted")
	})
	t.Run("OKHardAfterSoft", func(t *testing.T) {
		a.ok("tenant", "delete", "--schema", "acme", "--soft", "--yes")
		assert.Equal(t, "deleted tenant acme (ACME)\n", a.ok("tenant", "delete", "--schema", "acme", "--yes").stdout)
		assert.Zero(t, leftovers(t, d, "acme"))
		wantErr(t, a.run("tenant", "restore", "--schema", "acme"), 1, `tenant "acme" not found`)
	})
}

// TestPurgeDeletedJob: serve's daily purge job drops the tenants deleted
// softly longer ago than TENANT_RETENTION, and only those.
func TestPurgeDeletedJob(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.env["TENANT_RETENTION"] = "48h"
	for _, s := range []string{"old", "recent", "live"} {
		a.ok("tenant", "create", "--schema", s, "--name", s, "--domain", s+".example.com")
	}
	a.ok("tenant", "delete", "--schema", "old", "--soft", "--yes")
	a.ok("tenant", "delete", "--schema", "recent", "--soft", "--yes")
	_, err := d.Pool.Exec(t.Context(), "UPDATE clients SET deleted_at = now() - interval '49 hours' WHERE schema_name = 'old'")
	require.NoError(t, err)
	_, err = d.Pool.Exec(t.Context(), "UPDATE clients SET deleted_at = now() - interval '47 hours' WHERE schema_name = 'recent'")
	require.NoError(t, err)

	fake := func(context.Context, config.Config, *slog.Logger, *db.Pool, *telemetry.Telemetry) error {
		assert.Eventually(t, func() bool { return leftovers(t, d, "old") == 0 }, 20*time.Second, 50*time.Millisecond)
		assert.Eventually(t, func() bool {
			return count(t, d, "SELECT count(*) FROM river.river_job WHERE kind = 'tenants.purge_deleted' AND state = 'completed'") == 1
		}, 20*time.Second, 50*time.Millisecond)
		return nil
	}
	require.NoError(t, a.runWith(runOpts{serve: fake}, "serve").err)
	assert.Zero(t, leftovers(t, d, "old"))
	assert.Equal(t, 3, leftovers(t, d, "recent"), "schema, client row and domain of the recent one stay")
	assert.Equal(t, 3, leftovers(t, d, "live"))

	wantErr(t, newAppEnv(t, d, "TENANT_RETENTION", "0s").run("tenant", "list"), 1, "TENANT_RETENTION")
}

func newAppEnv(t *testing.T, d *dbtest.DB, k, v string) *app {
	a := newApp(t, d)
	a.env[k] = v
	return a
}
