package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/server"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeLogsAndShutsDown runs the real server on a socket: each request
// logs one structured line with its tenant, request id, user and status, and
// cancelling the context shuts the server down cleanly.
func TestServeLogsAndShutsDown(t *testing.T) {
	d := dbtest.New(t)
	_, err := provision.New(d.Pool, d.Migrator, password.NewHasher(1)).Demo(t.Context())
	require.NoError(t, err)
	cfg := testConfig(t)
	cfg.DatabaseURL, cfg.DatabaseDirectURL = d.URL, d.URL
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, cfg, log, d.Pool, nil) }()

	post := func(body string) *http.Response {
		rq, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/api/token/", strings.NewReader(body))
		rq.Host = "school1.localhost"
		rq.Header.Set("Content-Type", "application/json")
		rq.Header.Set("X-Request-ID", "req-123")
		resp, err := http.DefaultClient.Do(rq)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp := post(`{"username": "demo", "password": "demo123"}`)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "req-123", resp.Header.Get("X-Request-ID"))

	var line map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) {
			require.NoError(t, json.Unmarshal([]byte(l), &line))
		}
	}
	require.NotNil(t, line, "no request log line in %s", logs.String())
	assert.Equal(t, "school1", line["tenant"])
	assert.Equal(t, "req-123", line["request_id"])
	assert.EqualValues(t, 200, line["status"])
	assert.EqualValues(t, 1, line["user_id"])
	assert.Contains(t, line, "duration_ms")
	assert.NotContains(t, logs.String(), "demo123", "passwords never reach the logs")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not shut down")
	}
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err, "listener closed after shutdown")
}

// TestServeRefusesTwoLengths sends raw requests to the real server: one with
// both Transfer-Encoding and Content-Length is refused with 400 and the
// connection closed (RFC 9112 6.3), while chunked alone and Content-Length
// alone still work.
func TestServeRefusesTwoLengths(t *testing.T) {
	d := dbtest.New(t)
	cfg := testConfig(t)
	cfg.DatabaseURL, cfg.DatabaseDirectURL = d.URL, d.URL
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, cfg, slog.New(slog.DiscardHandler), d.Pool, nil) }()
	t.Cleanup(func() { cancel(); <-done })

	// raw sends one request on a fresh connection and returns the status
	// line, and whether the server closed the connection after answering.
	raw := func(t *testing.T, request string) (status string, closed bool) {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Write([]byte(request))
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.Status, resp.Close
	}
	body := `{"username":"x","password":"y"}`
	chunk := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	head := "POST /api/token/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"

	t.Run("ErrBoth", func(t *testing.T) {
		status, closed := raw(t, head+"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"+chunk)
		assert.Equal(t, "400 Bad Request", status)
		assert.True(t, closed, "the connection must be closed")
	})
	t.Run("ErrBothOtherOrder", func(t *testing.T) {
		status, closed := raw(t, head+"content-length: 4\r\ntransfer-encoding: chunked\r\n\r\n"+chunk)
		assert.Equal(t, "400 Bad Request", status)
		assert.True(t, closed)
	})
	t.Run("OKChunked", func(t *testing.T) {
		// The public host has no sign-in endpoint: 404, but framed and read.
		status, _ := raw(t, head+"Transfer-Encoding: chunked\r\n\r\n"+chunk)
		assert.Equal(t, "404 Not Found", status)
	})
	t.Run("OKContentLength", func(t *testing.T) {
		status, _ := raw(t, head+fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))+body)
		assert.Equal(t, "404 Not Found", status)
	})
}
