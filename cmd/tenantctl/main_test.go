package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
)

// TestMain lets the tests run this package's main as a real child process
// (signals, exit codes): the test binary re-executes itself with
// TENANTCTL_RUN_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("TENANTCTL_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tenantctl returns the command running tenantctl with args against d.
func tenantctl(d *dbtest.DB, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TENANTCTL_RUN_MAIN=1", "DATABASE_URL="+d.URL, "DATABASE_DIRECT_URL="+d.URL,
		"LOG_FORMAT=text", "LOG_LEVEL=warn", "APP_ENV=test",
		// A race-enabled child otherwise sleeps a second at exit.
		"GORACE=atexit_sleep_ms=0")
	cmd.Stdin = strings.NewReader("")
	return cmd
}

// TestKilledTenantCreate kills `tenant create` (SIGKILL) at points spread
// over its whole run. Whatever step it died in, the half-made tenant is never
// routable, and the next `migrate` or `tenant create` cleans it up or
// completes it.
func TestKilledTenantCreate(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	args := []string{"tenant", "create", "--schema", "killme", "--name", "Kill Me", "--domain", "killme.localhost",
		"--admin-username", "admin", "--admin-password", "Harbour-Lamp-71"}
	routable := func() bool {
		_, err := db.InPublicV(ctx, d.Pool, func(q *publicdb.Queries) (publicdb.ResolveDomainRow, error) {
			return q.ResolveDomain(ctx, "killme.localhost")
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return false
		}
		require.NoError(t, err)
		return true
	}
	complete := func() bool {
		var n int
		err := d.Pool.QueryRow(ctx, "SELECT count(*) FROM killme.users WHERE username = 'admin' AND is_staff").Scan(&n)
		return err == nil && n == 1
	}
	// Time one whole run, then kill runs at points spread over that span,
	// whatever this machine's speed.
	start := time.Now()
	var out bytes.Buffer
	full := tenantctl(d, args...)
	full.Stdout, full.Stderr = &out, &out
	require.NoError(t, full.Run(), out.String())
	span := time.Since(start)
	del := tenantctl(d, "tenant", "delete", "--schema", "killme", "--yes")
	require.NoError(t, del.Run())

	// Kills spread over the measured span; on a loaded machine a run can
	// take longer than the measured one, so past the span the kills go on
	// (up to three spans) until two different states were seen.
	const kills = 12
	states := map[string]int{}
	for i := 0; ; i++ {
		delay := span * time.Duration(i+1) / kills
		if (i >= kills && len(states) > 1) || delay > 3*span {
			break
		}
		cmd := tenantctl(d, args...)
		require.NoError(t, cmd.Start())
		time.Sleep(delay)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()

		var state string
		err := d.Pool.QueryRow(ctx, "SELECT state FROM clients WHERE schema_name = 'killme'").Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			state = "absent"
		} else {
			require.NoError(t, err)
		}
		states[state]++
		if state == "ready" {
			assert.True(t, complete(), "a ready tenant is complete (kill after %v)", delay)
			assert.True(t, routable())
		} else {
			assert.False(t, routable(), "a %s tenant must not be routable (kill after %v)", state, delay)
		}

		// Recover, alternately through migrate and through tenant create.
		if state != "ready" {
			var out bytes.Buffer
			var recover *exec.Cmd
			if i%2 == 0 {
				recover = tenantctl(d, "migrate")
			} else {
				recover = tenantctl(d, args...)
			}
			recover.Stdout, recover.Stderr = &out, &out
			require.NoError(t, recover.Run(), "recovery after kill at %v: %s", delay, out.String())
			if i%2 == 0 {
				var n int
				require.NoError(t, d.Pool.QueryRow(ctx, "SELECT count(*) FROM clients WHERE schema_name = 'killme'").Scan(&n))
				assert.Zero(t, n, "migrate removes the half-made tenant")
				assert.Zero(t, schemaCount(t, d, "killme"))
				out.Reset()
				create := tenantctl(d, args...)
				create.Stdout, create.Stderr = &out, &out
				require.NoError(t, create.Run(), out.String())
			}
			assert.True(t, complete() && routable(), "recovered after kill at %v", delay)
		}
		var del bytes.Buffer
		cleanup := tenantctl(d, "tenant", "delete", "--schema", "killme", "--yes")
		cleanup.Stdout, cleanup.Stderr = &del, &del
		require.NoError(t, cleanup.Run(), del.String())
	}
	t.Logf("a whole tenant create took %v; states seen after kills: %v", span, states)
	assert.Greater(t, len(states), 1, "the kills must land in different steps to test anything")
}

func schemaCount(t *testing.T, d *dbtest.DB, schema string) int {
	var n int
	require.NoError(t, d.Pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n))
	return n
}

// TestSIGTERMUnderLoad sends SIGTERM to `tenantctl serve` while clients keep
// it busy: requests in flight complete, no request that got an answer got a
// 5xx, and the process exits 0.
func TestSIGTERMUnderLoad(t *testing.T) {
	d := dbtest.New(t)
	_, err := provision.New(d.Pool, d.Migrator, password.NewHasher(1)).Demo(t.Context())
	require.NoError(t, err)
	srv := startServe(t, d)
	cmd, exited, logs := srv.cmd, srv.exited, srv.logs
	send := func(method, path, body, tok string) (*http.Response, error) {
		return srv.send(method, path, body, "Bearer "+tok)
	}
	resp, err := send("POST", "/api/token/", `{"username":"demo","password":"demo123"}`, "")
	require.NoError(t, err)
	var pair struct{ Access string }
	require.NoError(t, decodeJSON(resp, &pair))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var (
		mu       sync.Mutex
		answered = map[int]int{}
		refused  int
		wg       sync.WaitGroup
	)
	for w := range 16 {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				var resp *http.Response
				var err error
				switch n % 3 {
				case 0:
					resp, err = send("POST", "/api/items/", fmt.Sprintf(`{"name":"w%d-%d"}`, w, n), pair.Access)
				case 1:
					resp, err = send("GET", "/api/items/", "", pair.Access)
				default:
					resp, err = send("POST", "/api/token/", `{"username":"demo","password":"demo123"}`, "")
				}
				mu.Lock()
				if err != nil {
					refused++ // not accepted: the listener is closed
				} else {
					answered[resp.StatusCode]++
				}
				mu.Unlock()
				if err != nil {
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	time.Sleep(700 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		assert.NoError(t, err, "serve exits 0 after SIGTERM: %s", logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
	cancel()
	wg.Wait()
	t.Logf("answers by status: %v; refused after shutdown: %d", answered, refused)
	for status, n := range answered {
		assert.Less(t, status, 500, "%d requests got %d", n, status)
	}
	assert.Greater(t, answered[201]+answered[200], 20, "the load must actually run before the signal")
}

// served is a `tenantctl serve` child process.
type served struct {
	cmd    *exec.Cmd
	exited chan error
	logs   *lockedBuffer
	base   string
}

// startServe starts `tenantctl serve` on a free port of 127.0.0.1 against
// d and waits until it answers; it is killed at the test's end.
func startServe(t *testing.T, d *dbtest.DB) *served {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	s := &served{logs: &lockedBuffer{}, exited: make(chan error, 1), base: "http://" + addr}
	s.cmd = tenantctl(d, "serve", "--addr", addr)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	require.NoError(t, s.cmd.Start())
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := s.send("GET", "/health/", "", "")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// send sends a request to school1.localhost with the Authorization header
// authz (none if "" or "Bearer ").
func (s *served) send(method, path, body, authz string) (*http.Response, error) {
	rq, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	rq.Host = "school1.localhost"
	if body != "" {
		rq.Header.Set("Content-Type", "application/json")
	}
	if authz != "" && authz != "Bearer " {
		rq.Header.Set("Authorization", authz)
	}
	return http.DefaultClient.Do(rq)
}

// TestAPIKeyRevokedAcrossProcesses runs two tenantctl serve processes on
// one database: a key created and revoked through one is refused by the
// other from its next request on (every request reads the key's row; no
// process caches it).
func TestAPIKeyRevokedAcrossProcesses(t *testing.T) {
	d := dbtest.New(t)
	_, err := provision.New(d.Pool, d.Migrator, password.NewHasher(1)).Demo(t.Context())
	require.NoError(t, err)
	a, b := startServe(t, d), startServe(t, d)

	resp, err := a.send("POST", "/api/token/", `{"username":"demo","password":"demo123"}`, "")
	require.NoError(t, err)
	var pair struct{ Access string }
	require.NoError(t, decodeJSON(resp, &pair))
	resp, err = a.send("POST", "/api/api-keys/", `{"name":"ci","scope":"read"}`, "Bearer "+pair.Access)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var key struct {
		ID  int64
		Key string
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&key))
	resp.Body.Close()

	status := func(s *served, method, path, authz string) int {
		resp, err := s.send(method, path, "", authz)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, status(b, "GET", "/api/items/", "Api-Key "+key.Key), "the other process accepts the key")
	require.Equal(t, http.StatusNoContent, status(a, "DELETE", fmt.Sprintf("/api/api-keys/%d/", key.ID), "Bearer "+pair.Access))
	assert.Equal(t, http.StatusUnauthorized, status(b, "GET", "/api/items/", "Api-Key "+key.Key), "refused by the other process at once")
	assert.Equal(t, http.StatusUnauthorized, status(a, "GET", "/api/items/", "Api-Key "+key.Key))
}

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
