package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
)

// env is a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadSecretKey(t *testing.T) {
	t.Run("OKDevelopmentWithoutKey", func(t *testing.T) {
		c, err := Load(env(nil))
		require.NoError(t, err)
		assert.Equal(t, InsecureSecretKey, c.SecretKey)
		assert.NoError(t, c.CheckProduction(), "development serves with the default key")
	})
	t.Run("OKTestWithShortKey", func(t *testing.T) {
		c, err := Load(env(map[string]string{"APP_ENV": "test", "SECRET_KEY": "short"}))
		require.NoError(t, err)
		assert.NoError(t, c.CheckProduction())
	})
	t.Run("ErrProductionWithoutKey", func(t *testing.T) {
		c, err := Load(env(map[string]string{"APP_ENV": "production"}))
		require.NoError(t, err)
		assert.ErrorContains(t, c.CheckProduction(), "SECRET_KEY is the insecure development default")
	})
}

func TestCheckProduction(t *testing.T) {
	random := "3f1c9a4e8b7d2c6f0a1e5b9d3c7f2a8e6b4d0c9f1a3e5b7d9c2f4a6e8b0d1c3f" // openssl rand -hex 32 (not published anywhere)
	for _, tc := range []struct {
		name, key, err string
	}{
		{"OKRandomHex", random, ""},
		{"OKExactly32Bytes", random[:32], ""},
		{"ErrDevDefault", InsecureSecretKey, "insecure development default"},
		{"ErrOldComposeDefault", "insecure-compose-dev-secret-key-change-me", "published in tenantctl's repository"},
		{"ErrPlaceholder", "please-change-me-to-something-long-and-random", `placeholder (it contains "change-me")`},
		{"ErrPlaceholderCase", "ThisIsAnExampleKeyThatIsLongEnough1234", `placeholder (it contains "example")`},
		{"ErrShort", random[:31], "SECRET_KEY is 31 bytes, shorter than 32"},
		{"ErrShortMultibyte", strings.Repeat("é", 15), "SECRET_KEY is 30 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{Env: "production", SecretKey: tc.key}.CheckProduction()
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
			assert.Contains(t, err.Error(), "openssl rand -hex 32", "the error says how to fix it")
		})
	}
}

// runtimeFiles are the repository's files that people copy settings from.
var runtimeFiles = []string{"compose.yaml", ".env.example", "README.md", "SECURITY.md", "Dockerfile", "scripts"}

var (
	// keyAssignment is SECRET_KEY given a value: KEY=v, KEY: v, "KEY": "v",
	// -e KEY=v, export KEY=v, also inside ${...}.
	keyAssignment = regexp.MustCompile(`SECRET_KEY["']?\s*[:=]\s*["']?([^\s"'` + "`" + `]*)`)
	// hexKey and base64Key are random-looking literals, wherever they stand
	// (an example key in prose, a default under another name).
	hexKey    = regexp.MustCompile(`\b[0-9a-fA-F]{32,}\b`)
	base64Key = regexp.MustCompile(`[A-Za-z0-9+/_-]{32,}={0,2}`)
)

// literalKey returns the literal a SECRET_KEY assignment's value holds, if
// any: the default of ${SECRET_KEY:-default}, nothing for a substitution
// without one (${SECRET_KEY:?message}, ${SECRET_KEY}, $(openssl ...)).
func literalKey(v string) (string, bool) {
	if rest, ok := strings.CutPrefix(v, "${"); ok {
		name, def, ok := strings.Cut(strings.TrimSuffix(rest, "}"), "-")
		if !ok || strings.HasSuffix(name, ":?") || strings.HasSuffix(name, "?") {
			return "", false
		}
		return strings.TrimSuffix(def, "}"), def != ""
	}
	if strings.HasPrefix(v, "$") || v == "" {
		return "", false
	}
	return v, true
}

// looksRandom reports whether a base64-ish run mixes upper case, lower case
// and digits the way a generated key does (paths and identifiers do not).
func looksRandom(s string) bool {
	var upper, lower, digit int
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			upper++
		case r >= 'a' && r <= 'z':
			lower++
		case r >= '0' && r <= '9':
			digit++
		}
	}
	return upper >= 3 && lower >= 3 && digit >= 3
}

// repoKeys returns every key-looking value in the runtime files, by where
// it was found.
func repoKeys(t *testing.T) map[string]string {
	t.Helper()
	found := map[string]string{}
	for _, name := range runtimeFiles {
		err := filepath.WalkDir(filepath.Join("..", name), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				at := func(k string) { found[k] = path + ":" + strconv.Itoa(i+1) }
				for _, m := range keyAssignment.FindAllStringSubmatch(line, -1) {
					if k, ok := literalKey(m[1]); ok {
						at(k)
					}
				}
				for _, k := range hexKey.FindAllString(line, -1) {
					at(k)
				}
				for _, k := range base64Key.FindAllString(line, -1) {
					if looksRandom(k) {
						at(k)
					}
				}
			}
			return nil
		})
		require.NoError(t, err, name)
	}
	return found
}

// TestRepoKeysRefused finds every key-looking value in the files people
// copy settings from, and checks that production refuses each: a key
// written into the docs or compose.yaml is public, and must not sign
// production tokens. A new example key makes this fail until it is added
// to publishedSecretKeys (or removed).
func TestRepoKeysRefused(t *testing.T) {
	keys := repoKeys(t)
	for k, where := range keys {
		err := Config{Env: "production", SecretKey: k}.CheckProduction()
		assert.Error(t, err, "%s: production accepts the key %q found there", where, k)
	}
	t.Run("ScannerFindsKeys", func(t *testing.T) {
		// The scanner's own check: each form of a literal key is found.
		for _, line := range []string{
			"SECRET_KEY=abc123",
			"    SECRET_KEY: ${SECRET_KEY:-abc123}",
			`docker run -e SECRET_KEY="abc123" tenantctl`,
			`{"SECRET_KEY": "abc123"}`,
		} {
			m := keyAssignment.FindStringSubmatch(line)
			require.NotNil(t, m, line)
			k, ok := literalKey(m[1])
			assert.True(t, ok && k == "abc123", "%s: found %q", line, k)
		}
		for _, line := range []string{
			"SECRET_KEY: ${SECRET_KEY:?set SECRET_KEY}",
			"SECRET_KEY=$(openssl rand -hex 32)",
			"SECRET_KEY=",
		} {
			m := keyAssignment.FindStringSubmatch(line)
			require.NotNil(t, m, line)
			_, ok := literalKey(m[1])
			assert.False(t, ok, "%s is no literal", line)
		}
		assert.True(t, hexKey.MatchString("key 3f1c9a4e8b7d2c6f0a1e5b9d3c7f2a8e here"))
		assert.True(t, looksRandom("q8ZrT2vXk9LmP4wYb7NcJ5sHd3GfA6Ue"))
		assert.False(t, looksRandom("TestAdminUISecureCookieInProduction"))
	})
}

// TestRuntimeFilesHoldNoKey: compose.yaml and .env.example, the files people
// run with, give SECRET_KEY no literal value; compose refuses to start
// without one.
func TestRuntimeFilesHoldNoKey(t *testing.T) {
	for _, name := range []string{"compose.yaml", ".env.example"} {
		b, err := os.ReadFile(filepath.Join("..", name))
		require.NoError(t, err)
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range keyAssignment.FindAllStringSubmatch(line, -1) {
				k, ok := literalKey(m[1])
				assert.False(t, ok, "%s:%d gives SECRET_KEY the literal %q", name, i+1, k)
			}
		}
	}
	b, err := os.ReadFile("../compose.yaml")
	require.NoError(t, err)
	assert.Contains(t, string(b), "SECRET_KEY: ${SECRET_KEY:?", "compose fails fast when SECRET_KEY is unset")
}

func TestLoadWorkers(t *testing.T) {
	c, err := Load(env(nil))
	require.NoError(t, err)
	assert.Equal(t, 10, c.Workers)
	c, err = Load(env(map[string]string{"WORKERS": "0"}))
	require.NoError(t, err)
	assert.Equal(t, 0, c.Workers, "an API-only replica")
	_, err = Load(env(map[string]string{"WORKERS": "-1"}))
	assert.EqualError(t, err, `WORKERS: "-1" is not a whole number of at least 0`)
}

func TestLoadRoutingCache(t *testing.T) {
	c, err := Load(env(nil))
	require.NoError(t, err)
	assert.Equal(t, 100_000, c.RoutingCacheHosts)
	assert.Equal(t, 10_000, c.RoutingCacheUnknownHosts)
	c, err = Load(env(map[string]string{"ROUTING_CACHE_HOSTS": "250000", "ROUTING_CACHE_UNKNOWN_HOSTS": "1"}))
	require.NoError(t, err)
	assert.Equal(t, 250_000, c.RoutingCacheHosts)
	assert.Equal(t, 1, c.RoutingCacheUnknownHosts)
	_, err = Load(env(map[string]string{"ROUTING_CACHE_HOSTS": "0", "ROUTING_CACHE_UNKNOWN_HOSTS": "many"}))
	assert.EqualError(t, err, `ROUTING_CACHE_HOSTS: "0" is not a whole number of at least 1`+"\n"+
		`ROUTING_CACHE_UNKNOWN_HOSTS: "many" is not a whole number of at least 1`)
}

func TestLoadPool(t *testing.T) {
	c, err := Load(env(nil))
	require.NoError(t, err)
	assert.Equal(t, db.Limits{Schemas: db.DefaultLimits.Schemas, Plans: db.DefaultLimits.Plans, TenantWait: time.Second}, c.DBLimits(),
		"the pool's size, parts and tenant cap are left to db.Open's defaults")
	c, err = Load(env(map[string]string{"DB_POOL_SIZE": "8", "DB_POOL_PARTS": "2", "DB_TENANT_MAX_CONNS": "3", "DB_TENANT_QUEUE_WAIT": "250ms"}))
	require.NoError(t, err)
	assert.Equal(t, db.Limits{Schemas: db.DefaultLimits.Schemas, Plans: db.DefaultLimits.Plans, Conns: 8, Parts: 2, TenantConns: 3, TenantWait: 250 * time.Millisecond}, c.DBLimits())
	for k, want := range map[string]string{
		"DB_POOL_SIZE":         `DB_POOL_SIZE: "0" is not a whole number of at least 1`,
		"DB_POOL_PARTS":        `DB_POOL_PARTS: "0" is not a whole number of at least 1`,
		"DB_TENANT_MAX_CONNS":  `DB_TENANT_MAX_CONNS: "0" is not a whole number of at least 1`,
		"DB_TENANT_QUEUE_WAIT": `DB_TENANT_QUEUE_WAIT: "0" is not a positive duration such as 15m or 168h`,
	} {
		_, err = Load(env(map[string]string{k: "0"}))
		assert.EqualError(t, err, want)
	}
}

func TestLoadMail(t *testing.T) {
	c, err := Load(env(nil))
	require.NoError(t, err)
	assert.Empty(t, c.SMTPURL, "development logs email")
	assert.Equal(t, DefaultMailFrom, c.MailFrom)

	c, err = Load(env(map[string]string{"SMTP_URL": "smtps://u:p@mx.example.com", "MAIL_FROM": "ACME <noreply@acme.example>"}))
	require.NoError(t, err)
	assert.Equal(t, "mx.example.com:465", c.SMTP.Addr())
	assert.Equal(t, "ACME <noreply@acme.example>", c.MailFrom)

	_, err = Load(env(map[string]string{"SMTP_URL": "http://u:s3cret@mx"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SMTP_URL: ")
	assert.NotContains(t, err.Error(), "s3cret", "the password is never in an error")

	_, err = Load(env(map[string]string{"MAIL_FROM": "not an address"}))
	assert.ErrorContains(t, err, "MAIL_FROM: ")
}

func TestCheckMail(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"DevelopmentLogs", nil, true},
		{"TestLogs", map[string]string{"APP_ENV": "test"}, true},
		{"ProductionSMTP", map[string]string{"APP_ENV": "production", "SMTP_URL": "smtp://mx:587"}, true},
		{"ErrProductionNoSMTP", map[string]string{"APP_ENV": "production"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(env(c.env))
			require.NoError(t, err)
			if c.ok {
				assert.NoError(t, cfg.CheckMail())
			} else {
				assert.ErrorContains(t, cfg.CheckMail(), "SMTP_URL is not set")
			}
		})
	}
}

func TestLoadAuditRetention(t *testing.T) {
	c, err := Load(env(nil))
	require.NoError(t, err)
	assert.Equal(t, 365*24*time.Hour, c.AuditRetention, "a year by default")
	for v, want := range map[string]time.Duration{
		"90d": 90 * 24 * time.Hour, "720h": 720 * time.Hour, "1h30m": 90 * time.Minute,
		"0": 0, "off": 0, "OFF": 0, "0s": 0, "0d": 0,
	} {
		c, err := Load(env(map[string]string{"AUDIT_RETENTION": v}))
		require.NoError(t, err, v)
		assert.Equal(t, want, c.AuditRetention, v)
	}
	for _, v := range []string{"-1h", "-3d", "a year", "12", "d", "1.5d", "99999999999999d"} {
		_, err := Load(env(map[string]string{"AUDIT_RETENTION": v}))
		assert.EqualError(t, err, `AUDIT_RETENTION: "`+v+`" is not a duration such as 365d or 8760h, or 0 (keep everything)`)
	}
}

func TestLoadWebhooks(t *testing.T) {
	c, err := Load(env(nil))
	require.NoError(t, err)
	assert.False(t, c.WebhookAllowPrivate, "private addresses are refused by default")
	assert.Equal(t, 10*time.Second, c.WebhookTimeout)

	c, err = Load(env(map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_TIMEOUT": "3s"}))
	require.NoError(t, err)
	assert.True(t, c.WebhookAllowPrivate)
	assert.Equal(t, 3*time.Second, c.WebhookTimeout)

	_, err = Load(env(map[string]string{"WEBHOOK_ALLOW_PRIVATE": "maybe"}))
	assert.ErrorContains(t, err, "WEBHOOK_ALLOW_PRIVATE: ")
	_, err = Load(env(map[string]string{"WEBHOOK_TIMEOUT": "0s"}))
	assert.ErrorContains(t, err, "WEBHOOK_TIMEOUT: ")
}
