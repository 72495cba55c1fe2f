package cli_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/token"
)

// TestAPIKeyCommands: apikey create prints the key once and stores its
// hash; list shows prefixes; revoke revokes; each change is audited as
// tenantctl's.
func TestAPIKeyCommands(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.ok("tenant", "create", "--schema", "acme", "--name", "ACME", "--domain", "acme.example.com")
	a.runWith(runOpts{stdin: "user-pass-1\n"}, "user", "create", "--schema", "acme", "--username", "ann", "--password-stdin", "--role", "admin")
	count := func(sql string, args ...any) int {
		var n int
		require.NoError(t, d.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
		return n
	}

	r := a.ok("apikey", "create", "--schema", "acme", "--username", "ann", "--name", "CI", "--scope", "read",
		"--expires-at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	key := strings.TrimSpace(r.stdout)
	assert.Regexp(t, regexp.MustCompile(`^tk_live_[0-9a-z]+_[a-z2-7]{52}$`), key)
	assert.Contains(t, r.stderr, "shown only now")
	tid, _ := token.APIKeyTenant(key)
	assert.Equal(t, count("SELECT id FROM clients WHERE schema_name = 'acme'"), int(tid), "the key names its tenant")
	assert.Equal(t, 1, count("SELECT count(*) FROM acme.api_keys WHERE key_hash = $1 AND scope = 'read' AND expires_at IS NOT NULL", token.HashAPIKey(key)))
	assert.Equal(t, 1, count("SELECT count(*) FROM acme.audit_log WHERE action = 'api_key.created' AND actor_type = 'system' AND actor_name = 'tenantctl'"))

	r = a.ok("apikey", "list", "--schema", "acme", "--json")
	var keys []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &keys))
	require.Len(t, keys, 1)
	assert.Equal(t, "CI", keys[0]["name"])
	assert.True(t, strings.HasPrefix(key, keys[0]["prefix"].(string)))
	assert.NotContains(t, r.stdout, key)
	r = a.ok("apikey", "list", "--schema", "acme")
	assert.Contains(t, r.stdout, keys[0]["prefix"].(string))

	id := strconv.Itoa(int(keys[0]["id"].(float64)))
	r = a.ok("apikey", "revoke", "--schema", "acme", "--id", id)
	assert.Equal(t, "revoked API key "+id+" (CI) of tenant acme\n", r.stdout)
	assert.Equal(t, 1, count("SELECT count(*) FROM acme.audit_log WHERE action = 'api_key.revoked' AND actor_name = 'tenantctl'"))
	assert.Equal(t, "[]\n", a.ok("apikey", "list", "--schema", "acme", "--json").stdout)

	t.Run("Errors", func(t *testing.T) {
		for _, c := range []struct {
			name string
			args []string
			want string
		}{
			{"ErrRevokedAlready", []string{"revoke", "--schema", "acme", "--id", id}, "not found"},
			{"ErrUnknownTenant", []string{"list", "--schema", "nope"}, "not found"},
			{"ErrUnknownUser", []string{"create", "--schema", "acme", "--username", "zed", "--name", "x", "--scope", "read"}, "username"},
			{"ErrScope", []string{"create", "--schema", "acme", "--username", "ann", "--name", "x", "--scope", "admin"}, "scope"},
			{"ErrExpiresPast", []string{"create", "--schema", "acme", "--username", "ann", "--name", "x", "--scope", "read", "--expires-at", "2020-01-01T00:00:00Z"}, "future"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := a.run(append([]string{"apikey"}, c.args...)...)
				require.Error(t, r.err)
				assert.Contains(t, r.err.Error(), c.want)
			})
		}
	})
}
