package bench

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHTTPClient drives the load's HTTP client against net/http's server:
// every framing the server chooses, the request as the server sees it, and
// connection reuse.
func TestHTTPClient(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, r.Method+" "+r.Host+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Content-Type")+" "+string(b))
		case "/chunked":
			// Larger than net/http buffers before it must choose chunking.
			_, _ = io.WriteString(w, strings.Repeat("x", 10_000))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		default:
			http.Error(w, "no such page", http.StatusNotFound)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newHTTPClient(strings.TrimPrefix(srv.URL, "http://"), 1, 5*time.Second)
	defer c.close()
	ctx := t.Context()

	status, body, err := c.do(ctx, request{method: "POST", path: "/echo", host: "acme.localhost", bearer: "tok", body: `{"a":1}`}, true)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `POST acme.localhost Bearer tok application/json {"a":1}`, string(body))

	status, body, err = c.do(ctx, request{method: "GET", path: "/chunked", host: "h"}, true)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, strings.Repeat("x", 10_000), string(body))

	status, body, err = c.do(ctx, request{method: "GET", path: "/chunked", host: "h"}, false)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.Nil(t, body, "a 2xx body is discarded unless kept")

	status, _, err = c.do(ctx, request{method: "DELETE", path: "/empty", host: "h"}, false)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, status)

	status, body, err = c.do(ctx, request{method: "GET", path: "/missing", host: "h"}, false)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "no such page\n", string(body), "an error's body is always kept")
	assert.EqualValues(t, 1, conns.Load(), "every response so far was framed: one kept-alive connection")

	status, body, err = c.do(ctx, request{method: "GET", path: "/close", host: "h"}, true)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "bye", string(body))
	_, _, err = c.do(ctx, request{method: "GET", path: "/echo", host: "h"}, false)
	require.NoError(t, err)
	assert.EqualValues(t, 2, conns.Load(), "Connection: close is honoured")
}

// TestReadResponseRefusesMalformed checks that answers the client cannot
// frame are errors, never a silent success.
func TestReadResponseRefusesMalformed(t *testing.T) {
	for name, raw := range map[string]string{
		"not HTTP":         "SSH-2.0-OpenSSH\r\n\r\n",
		"bad status":       "HTTP/1.1 2x0 OK\r\n\r\n",
		"bad length":       "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"short body":       "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
		"bad chunk":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"chunk without LF": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
		"truncated":        "HTTP/1.1 200 OK\r\nContent-Len",
		"header no colon":  "HTTP/1.1 200 OK\r\nBroken\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := readResponse(bufio.NewReader(strings.NewReader(raw)), true)
			assert.ErrorIs(t, err, errProtocol)
		})
	}
}
