package server_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/server"
)

// serveReal runs server.Serve on a real socket, as `tenantctl serve` does,
// and returns its address.
func serveReal(t *testing.T) string {
	d := dbtest.New(t)
	_, err := provision.New(d.Pool, d.Migrator, password.NewHasher(1)).Demo(t.Context())
	require.NoError(t, err)
	cfg := testConfig(t)
	cfg.DatabaseURL, cfg.DatabaseDirectURL = d.URL, d.URL
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Serve(ctx, ln, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), d.Pool, nil)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// TestConnectionLimits checks the server's own limits on a real socket:
// oversized headers get 431, and a client that never finishes its headers
// is cut off by the read-header timeout instead of holding a connection.
func TestConnectionLimits(t *testing.T) {
	addr := serveReal(t)

	t.Run("ErrHeadersTooLarge", func(t *testing.T) {
		rq, _ := http.NewRequest("GET", "http://"+addr+"/health/", nil)
		rq.Host = "localhost"
		rq.Header.Set("X-Padding", strings.Repeat("a", 128<<10))
		resp, err := http.DefaultClient.Do(rq)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	})

	t.Run("ErrSlowHeaders", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.Write([]byte("GET /health/ HTTP/1.1\r\nHost: localhost\r\nX-Slow: "))
		require.NoError(t, err)
		start := time.Now()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
		_, err = bufio.NewReader(conn).ReadString('\n')
		assert.Error(t, err, "the server hangs up on a client that never finishes its headers")
		assert.Less(t, time.Since(start), 20*time.Second)
	})
}

// FuzzTenantResolution sends arbitrary Host headers and paths through the
// whole handler, tenant resolution and routing included, against a real
// database with two tenants: no input may produce a 5xx or a panic.
func FuzzTenantResolution(f *testing.F) {
	for _, s := range [][2]string{
		{"school1.localhost:8000", "/api/items/"}, {"SCHOOL1.LOCALHOST", "/api/profile"}, {"school1.localhost.", "/api/token/"},
		{"localhost", "/"}, {"[::1]:8000", "/health/"}, {"evil.com", "/"}, {"school1.localhost:99999", "/api/items/1/"},
		{"x.localhost", "/api/items/%00/"}, {"", "/"}, {"school2.localhost", "/api/items/-1"}, {"a..localhost", "/admin/"},
	} {
		f.Add(s[0], s[1])
	}
	d := dbtest.New(f)
	hasher := password.NewHasher(1)
	_, err := provision.New(d.Pool, d.Migrator, hasher).Demo(f.Context())
	require.NoError(f, err)
	cfg, err := testConfigTB(f)
	require.NoError(f, err)
	cfg.DatabaseURL, cfg.DatabaseDirectURL = d.URL, d.URL
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	h := server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), d.Pool, hasher, nil)
	f.Fuzz(func(t *testing.T, host, path string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		rq, err := http.NewRequest("GET", "http://localhost"+path, nil)
		if err != nil {
			return // not a request a client could send
		}
		rq.Host = host
		rq.Header.Set("Authorization", "Bearer x")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, rq)
		if w.Code >= 500 {
			t.Fatalf("Host %q path %q: %d %s", host, path, w.Code, w.Body)
		}
	})
}
