package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// httpClient sends the load's requests over kept-alive HTTP/1.1
// connections it writes and reads itself, as wrk and similar load
// generators do. net/http's Transport hands every request to two goroutines
// per connection and back; on this benchmark's two shared cores that cost
// about as much CPU as the server's own work, and it would be charged to
// the HTTP side of the comparison with the ceiling.
//
// It speaks only what the benchmark needs: one request at a time per
// connection, responses framed by Content-Length or chunked encoding.
type httpClient struct {
	addr    string
	timeout time.Duration
	free    chan *httpConn // idle connections, at most one per worker
	dialed  atomic.Uint32  // connections dialed, for their source address
}

type httpConn struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte // the request being written, reused
}

func newHTTPClient(addr string, concurrency int, timeout time.Duration) *httpClient {
	return &httpClient{addr: addr, timeout: timeout, free: make(chan *httpConn, concurrency)}
}

// source is the local address of a new connection: on Linux, against a
// server on loopback, each connection comes from its own address of
// 127.0.0.0/8 (any of which Linux answers), as real clients come from
// their own addresses. The server throttles sign-ins per client address
// and counts each sign-in in flight (server/throttle.go), so the token load
// from a single address would be throttled rather than measured. nil (any
// address) elsewhere.
func (h *httpClient) source() net.Addr {
	host, _, err := net.SplitHostPort(h.addr)
	if ip := net.ParseIP(host); err != nil || runtime.GOOS != "linux" || ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return nil
	}
	n := h.dialed.Add(1)
	return &net.TCPAddr{IP: net.IPv4(127, byte(n>>16), byte(n>>8), byte(n)%254+1)}
}

// request is what one load request sends.
type request struct {
	method, path, host string
	bearer             string // the access token, or ""
	apiKey             string // an API key, sent instead of bearer, or ""
	body               string // JSON, or ""
}

// errProtocol is an answer this client cannot read as HTTP/1.1.
var errProtocol = errors.New("malformed HTTP response")

// do sends req and returns the response's status and, when keep is set or
// the status is not 2xx, its body (the first 64 KiB). A connection is reused
// only after a complete, well-framed response.
func (h *httpClient) do(ctx context.Context, req request, keep bool) (int, []byte, error) {
	var hc *httpConn
	select {
	case hc = <-h.free:
	default:
		c, err := (&net.Dialer{Timeout: h.timeout, LocalAddr: h.source()}).DialContext(ctx, "tcp", h.addr)
		if err != nil {
			return 0, nil, err
		}
		hc = &httpConn{c: c, r: bufio.NewReaderSize(c, 16<<10)}
	}
	deadline := time.Now().Add(h.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = hc.c.SetDeadline(deadline)
	status, body, reuse, err := hc.roundTrip(req, keep)
	if err != nil || !reuse {
		hc.c.Close()
		return status, body, err
	}
	select {
	case h.free <- hc:
	default:
		hc.c.Close()
	}
	return status, body, nil
}

// close closes the idle connections.
func (h *httpClient) close() {
	for {
		select {
		case hc := <-h.free:
			hc.c.Close()
		default:
			return
		}
	}
}

func (hc *httpConn) roundTrip(req request, keep bool) (status int, body []byte, reuse bool, err error) {
	b := hc.req[:0]
	b = append(b, req.method...)
	b = append(b, ' ')
	b = append(b, req.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, req.host...)
	b = append(b, "\r\nUser-Agent: tenantctl-bench\r\n"...)
	switch {
	case req.apiKey != "":
		b = append(b, "Authorization: Api-Key "...)
		b = append(b, req.apiKey...)
		b = append(b, "\r\n"...)
	case req.bearer != "":
		b = append(b, "Authorization: Bearer "...)
		b = append(b, req.bearer...)
		b = append(b, "\r\n"...)
	}
	if req.body != "" {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, req.body...)
	hc.req = b
	if _, err := hc.c.Write(b); err != nil {
		return 0, nil, false, err
	}
	return readResponse(hc.r, keep)
}

// readResponse reads one response. The body is kept when keep is set or the
// status is not 2xx, and discarded otherwise.
func readResponse(r *bufio.Reader, keep bool) (status int, body []byte, reuse bool, err error) {
	line, err := readLine(r)
	if err != nil {
		return 0, nil, false, err
	}
	// HTTP/1.1 200 OK
	proto, rest, _ := bytes.Cut(line, []byte(" "))
	code, _, _ := bytes.Cut(rest, []byte(" "))
	status, err = strconv.Atoi(string(code))
	if !bytes.Equal(proto, []byte("HTTP/1.1")) || err != nil || len(code) != 3 {
		return 0, nil, false, fmt.Errorf("%w: status line %q", errProtocol, line)
	}
	length, chunked, reuse := int64(-1), false, true
	for {
		line, err := readLine(r)
		if err != nil {
			return 0, nil, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, nil, false, fmt.Errorf("%w: header %q", errProtocol, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return 0, nil, false, fmt.Errorf("%w: Content-Length %q", errProtocol, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			reuse = !bytes.EqualFold(value, []byte("close"))
		}
	}
	keep = keep || status/100 != 2
	var sink bodySink
	if keep {
		sink.buf = &bytes.Buffer{}
	}
	switch {
	case status == 204 || status == 304 || status/100 == 1:
	case chunked:
		err = readChunked(r, &sink)
	case length >= 0:
		err = sink.copyN(r, length)
	default:
		// Framed by the end of the connection.
		_, err = io.Copy(&sink, r)
		reuse = false
	}
	if err != nil {
		return 0, nil, false, err
	}
	return status, sink.bytes(), reuse, nil
}

// readChunked reads a chunked body and its (empty) trailer.
func readChunked(r *bufio.Reader, sink *bodySink) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errProtocol, line)
		}
		if n == 0 {
			for {
				line, err := readLine(r)
				if err != nil {
					return err
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if err := sink.copyN(r, n); err != nil {
			return err
		}
		if line, err := readLine(r); err != nil || len(line) != 0 {
			return fmt.Errorf("%w: no CRLF after a chunk", errProtocol)
		}
	}
}

// readLine reads one CRLF-terminated line, without the CRLF.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: %v", errProtocol, err)
		}
		return nil, err
	}
	return bytes.TrimSuffix(line[:len(line)-1], []byte("\r")), nil
}

// bodySink keeps the first 64 KiB of a body when buf is set, and discards
// the rest.
type bodySink struct{ buf *bytes.Buffer }

const keptBody = 64 << 10

func (s *bodySink) Write(p []byte) (int, error) {
	if s.buf != nil && s.buf.Len() < keptBody {
		s.buf.Write(p[:min(len(p), keptBody-s.buf.Len())])
	}
	return len(p), nil
}

// copyN moves the next n bytes of r into the sink, without the buffer
// io.CopyN would allocate for every body.
func (s *bodySink) copyN(r *bufio.Reader, n int64) error {
	for n > 0 {
		p, err := r.Peek(int(min(n, int64(r.Size()))))
		_, _ = s.Write(p)
		_, _ = r.Discard(len(p))
		n -= int64(len(p))
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: body shorter than announced", errProtocol)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *bodySink) bytes() []byte {
	if s.buf == nil {
		return nil
	}
	return s.buf.Bytes()
}
