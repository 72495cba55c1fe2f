package server

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
)

// A request with both Transfer-Encoding and Content-Length is how request
// smuggling starts: a proxy in front may frame it by one header and this
// server by the other. RFC 9112 (6.3) lets a server refuse it; we answer
// 400 and close the connection. net/http drops Content-Length from such a
// request before any handler runs, so the check reads the request's header
// as it arrived: the listener keeps the last bytes read on each connection.

// rawTail bounds what a connection keeps: a whole header (MaxHeaderBytes)
// plus what net/http's reader may have read past it.
const rawTail = 64<<10 + 8<<10

// framingListener wraps every accepted connection in a recordingConn.
type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c}, nil
}

// recordingConn remembers the last rawTail bytes read from it.
type recordingConn struct {
	net.Conn
	mu   sync.Mutex
	tail []byte
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.tail = append(c.tail, p[:n]...)
		if len(c.tail) > rawTail {
			c.tail = append(c.tail[:0], c.tail[len(c.tail)-rawTail:]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

type connKey struct{}

// withConn is the http.Server's ConnContext.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if rc, ok := c.(*recordingConn); ok {
		return context.WithValue(ctx, connKey{}, rc)
	}
	return ctx
}

// sentBothLengths reports whether r, which net/http decoded as chunked,
// arrived with a Content-Length header too: the raw header of r is the last
// one on its connection that starts with r's request line.
func sentBothLengths(r *http.Request) bool {
	if len(r.TransferEncoding) == 0 {
		return false
	}
	rc, ok := r.Context().Value(connKey{}).(*recordingConn)
	if !ok {
		return false
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	start := bytes.LastIndex(rc.tail, []byte(r.Method+" "+r.RequestURI+" "))
	if start < 0 {
		return false
	}
	head := rc.tail[start:]
	if end := bytes.Index(head, []byte("\r\n\r\n")); end >= 0 {
		head = head[:end]
	}
	for _, line := range bytes.Split(head, []byte("\n")) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")) {
			return true
		}
	}
	return false
}
