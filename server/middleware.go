package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// statusRecorder remembers the status a handler wrote, for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// logRequests gives each request an id (the client's X-Request-ID when it is
// sane), recovers panics as 500s, and logs one structured line per request.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-ID", id)
		ri := &requestInfo{id: id}
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic", "request_id", id, "panic", fmt.Sprint(p))
				if rec.status == 0 {
					writeJSON(rec, errInternal.status, errInternal.body)
				}
			}
			ctx := context.Background()
			if !log.Enabled(ctx, slog.LevelInfo) {
				return
			}
			// The record is built here rather than by log.Info: typed
			// attributes are not boxed into interfaces, and no caller's PC
			// is looked up for a source nobody logs. Same line either way.
			line := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
			line.AddAttrs(
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("host", r.Host), slog.Int("status", rec.status),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			)
			if ri.tenant != "" {
				line.AddAttrs(slog.String("tenant", ri.tenant))
			}
			if ri.userID != 0 {
				line.AddAttrs(slog.Int64("user_id", ri.userID))
			}
			_ = log.Handler().Handle(ctx, line)
		}()
		next.ServeHTTP(rec, r.WithContext(withRequestInfo(r.Context(), ri)))
	})
}

var hostPattern = regexp.MustCompile(`^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?$`)

// splitHost returns the lower-cased host of a Host header without its port
// and trailing dot, or ok=false when the header is not a valid host.
func splitHost(hostport string) (host string, ok bool) {
	hostport = strings.ToLower(hostport)
	if !hostPattern.MatchString(hostport) {
		return "", false
	}
	host = hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(hostport, "[") {
		host = strings.Trim(hostport, "[]")
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") || strings.Contains(host, "..") {
		return "", false // empty labels name no host
	}
	return host, true
}

// hostAllowed applies Django's ALLOWED_HOSTS rules: "*" matches anything, a
// leading dot matches the domain and all its subdomains, anything else must
// match exactly.
func hostAllowed(host string, allowed []string) bool {
	for _, pattern := range allowed {
		pattern = strings.ToLower(pattern)
		switch {
		case pattern == "*":
			return true
		case strings.HasPrefix(pattern, "."):
			if host == pattern[1:] || strings.HasSuffix(host, pattern) {
				return true
			}
		case host == pattern:
			return true
		}
	}
	return false
}

const (
	corsMethods = "DELETE, GET, OPTIONS, PATCH, POST, PUT"
	corsHeaders = "accept, authorization, content-type, user-agent, x-request-id, x-requested-with"
)

// cors answers preflight requests and marks responses readable by the
// configured origins, as django-cors-headers does.
func cors(origins []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		allowed := slices.Contains(origins, origin) || slices.Contains(origins, "*")
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				w.Header().Set("Access-Control-Allow-Methods", corsMethods)
				w.Header().Set("Access-Control-Allow-Headers", corsHeaders)
				w.Header().Set("Access-Control-Max-Age", "86400")
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		next.ServeHTTP(w, r)
	})
}
