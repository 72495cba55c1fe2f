package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/dbtest"
)

// TestThrottleWindow: the database's count of a key (public.signin_attempt)
// refuses attempts past the limit until the key's window ends, says how
// long to wait, takes refused attempts back, starts a new window from one
// attempt, and prunes keys whose window ended.
func TestThrottleWindow(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	// attempt counts one attempt of each key, with limit 3 and a 1 s window.
	attempt := func(keys ...[]byte) int32 {
		t.Helper()
		limits := make([]int32, len(keys))
		for i := range limits {
			limits[i] = 3
		}
		row, err := db.InPublicV(ctx, d.Pool, func(q *publicdb.Queries) (publicdb.StartSuperuserSignInRow, error) {
			return q.StartSuperuserSignIn(ctx, publicdb.StartSuperuserSignInParams{Keys: keys, Limits: limits, WindowSecs: 1, Username: "nobody"})
		})
		require.NoError(t, err)
		return row.WaitSeconds
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		require.NoError(t, d.Pool.QueryRow(ctx, sql, args...).Scan(&n))
		return n
	}
	k, other := throttleKey("k"), throttleKey("other")
	for range 3 {
		require.Zero(t, attempt(k))
	}
	assert.Equal(t, int32(1), attempt(k), "blocked for the rest of the 1 s window")
	assert.Equal(t, int32(1), attempt(k, other), "one key over its limit refuses the attempt")
	assert.Equal(t, 3, count("SELECT attempts FROM signin_attempts WHERE key = $1", k), "refused attempts are taken back")
	assert.Equal(t, 0, count("SELECT attempts FROM signin_attempts WHERE key = $1", other), "on every key")
	for i := range 20 {
		attempt(throttleKey("stale", string(rune('a'+i))))
	}
	require.Equal(t, 22, count("SELECT count(*) FROM signin_attempts"))

	time.Sleep(1100 * time.Millisecond)
	assert.Zero(t, attempt(k), "a new window")
	assert.Equal(t, 1, count("SELECT attempts FROM signin_attempts WHERE key = $1", k), "starts from one attempt")
	assert.Equal(t, 22-8, count("SELECT count(*) FROM signin_attempts"), "each attempt prunes up to 8 ended windows (k's was started afresh first)")
	for range 3 {
		attempt(k)
	}
	assert.Equal(t, 1, count("SELECT count(*) FROM signin_attempts"), "until none is left")

	// A key counted in a long window is not pruned by attempts counted in
	// short ones once a short window has passed: each row ends with its own.
	long := throttleKey("long")
	_, err := d.Pool.Exec(ctx, "SELECT public.signin_attempt(ARRAY[$1::bytea], ARRAY[1], 3600)", long)
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond)
	for range 3 {
		attempt(throttleKey("short"))
	}
	assert.Equal(t, 1, count("SELECT count(*) FROM signin_attempts WHERE key = $1", long), "the hour's count stays")
	var wait int
	require.NoError(t, d.Pool.QueryRow(ctx, "SELECT public.signin_attempt(ARRAY[$1::bytea], ARRAY[1], 3600)", long).Scan(&wait))
	assert.Greater(t, wait, 3500, "still refused for most of the hour")
}

func TestSignInKeys(t *testing.T) {
	from := func(addr string) *http.Request { return &http.Request{RemoteAddr: addr} }
	tn := tenant{ID: 7}
	a := tenantSignIn(from("192.0.2.1:1234"), tn, "demo")
	assert.Equal(t, a, tenantSignIn(from("192.0.2.1:5678"), tn, "demo"), "the port does not matter")
	b := tenantSignIn(from("192.0.2.1:1"), tn, "other")
	assert.NotEqual(t, a.keys[0], b.keys[0], "another account")
	assert.Equal(t, a.keys[1], b.keys[1], "the same address")
	c := tenantSignIn(from("192.0.2.2:1"), tn, "demo")
	assert.NotEqual(t, a.keys[0], c.keys[0], "the same account from another address")
	assert.NotEqual(t, a.keys[1], c.keys[1])
	assert.NotEqual(t, a.keys[0], tenantSignIn(from("192.0.2.1:1"), tenant{ID: 8}, "demo").keys[0], "another tenant")
	assert.NotEqual(t, a.keys[0], adminSignIn(from("192.0.2.1:1"), "demo").keys[0], "a superuser of the same name")
	assert.Equal(t, a.keys[1], adminSignIn(from("192.0.2.1:1"), "root").keys[1], "admin sign-ins share the address's count")
	v6 := adminSignIn(from("[2001:db8:1:2::1]:1"), "root")
	assert.Equal(t, v6, adminSignIn(from("[2001:db8:1:2:ffff::9]:1"), "root"), "an IPv6 /64 is one address")
	assert.NotEqual(t, v6.keys[1], adminSignIn(from("[2001:db8:1:3::1]:1"), "root").keys[1])
	assert.Equal(t, tenantSignIn(from("[::ffff:192.0.2.1]:1"), tn, "demo"), a, "an IPv4-mapped address is the IPv4 one")
	assert.NotEqual(t, throttleKey("ab", "c"), throttleKey("a", "bc"), "parts are delimited")
}
