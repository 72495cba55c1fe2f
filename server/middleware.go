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

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantctl/tenantctl/telemetry"
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

// observeRequests gives each request an id (the client's X-Request-ID when
// it is sane), recovers panics as 500s, logs one structured line per
// request, counts it in m (nil: metrics off) by route template, method and
// status, and, when tracer is not nil, makes it a span: the child of the
// caller's span if the request carries a W3C traceparent, named by its
// route template, with the tenant's schema and the request id.
func observeRequests(log *slog.Logger, m *telemetry.Metrics, tracer trace.Tracer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-ID", id)
		ri := &requestInfo{RequestID: id, ClientAddr: clientAddr(r)}
		rec := &statusRecorder{ResponseWriter: w}
		ctx := withRequestInfo(r.Context(), ri)
		var span trace.Span
		if tracer != nil {
			ctx = telemetry.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
			ctx, span = tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start))
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					endSpan(span, r, ri, 499)
					panic(p)
				}
				log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p))
				if rec.status == 0 {
					writeJSON(rec, errInternal.status, errInternal.body)
				}
			}
			elapsed := time.Since(start)
			m.Request(ri.Route, r.Method, rec.status, elapsed, ri.Tenant)
			endSpan(span, r, ri, rec.status)
			bg := context.Background()
			if !log.Enabled(bg, slog.LevelInfo) {
				return
			}
			// The record is built here rather than by log.Info: typed
			// attributes are not boxed into interfaces, and no caller's PC
			// is looked up for a source nobody logs. Same line either way.
			line := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
			line.AddAttrs(
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("host", r.Host), slog.Int("status", rec.status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			)
			if ri.Tenant != "" {
				line.AddAttrs(slog.String("tenant", ri.Tenant))
			}
			if ri.UserID != 0 {
				line.AddAttrs(slog.Int64("user_id", ri.UserID))
			}
			_ = log.Handler().Handle(bg, line)
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// endSpan ends a request's span, if it has one, naming it by its route
// template as OpenTelemetry's HTTP conventions do ("GET /api/items/{id}/").
func endSpan(span trace.Span, r *http.Request, ri *requestInfo, status int) {
	if span == nil {
		return
	}
	route := ri.Route
	if route == "" {
		route = "unmatched"
	} else {
		span.SetName(r.Method + " " + route)
	}
	span.SetAttributes(
		attribute.String("http.request.method", r.Method),
		attribute.String("http.route", route),
		attribute.Int("http.response.status_code", status),
		attribute.String("server.address", r.Host),
		attribute.String("request.id", ri.RequestID),
		attribute.String("tenant.schema", ri.Tenant),
	)
	if ri.UserID != 0 {
		span.SetAttributes(attribute.Int64("user.id", ri.UserID))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// withRoute records template as the route of the requests h serves.
func withRoute(template string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestInfoFrom(r.Context()).Route = template
		h.ServeHTTP(w, r)
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
