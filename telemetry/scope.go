package telemetry

import (
	"context"
	"log/slog"
)

// Scope is what a request or a job is about: every line it logs through a
// LogHandler carries it. A request's middleware puts one in the context and
// later stages fill it in (the tenant once the host is resolved, the user
// once the token is checked); a job's worker puts one with the job's
// tenant and the id of the request that enqueued it.
type Scope struct {
	RequestID string
	Tenant    string // the tenant's schema; "" on the public host
	UserID    int64
	// Route is the request's route template, for metrics and spans.
	Route   string
	JobID   int64
	JobKind string
	// ClientAddr is the request's client address as its limits count it,
	// for the audit log; not logged (the access log has it).
	ClientAddr string
}

type scopeKey struct{}

// WithScope returns ctx carrying s.
func WithScope(ctx context.Context, s *Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns ctx's scope, or nil.
func ScopeFrom(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

// attrs are the scope's attributes as log lines carry them.
func (s *Scope) attrs() []slog.Attr {
	a := make([]slog.Attr, 0, 5)
	if s.RequestID != "" {
		a = append(a, slog.String("request_id", s.RequestID))
	}
	if s.Tenant != "" {
		a = append(a, slog.String("tenant", s.Tenant))
	}
	if s.UserID != 0 {
		a = append(a, slog.Int64("user_id", s.UserID))
	}
	if s.JobID != 0 {
		a = append(a, slog.Int64("job_id", s.JobID), slog.String("job_kind", s.JobKind))
	}
	return a
}

// LogHandler returns h adding the Scope of each record's context to the
// record, so that a line logged with a request's or job's context (the
// ...Context methods of slog.Logger) names its request id and tenant
// without every call site passing them. h itself if it already does.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(scopeHandler); ok {
		return h
	}
	return scopeHandler{h}
}

type scopeHandler struct{ slog.Handler }

func (h scopeHandler) Handle(ctx context.Context, r slog.Record) error {
	if s := ScopeFrom(ctx); s != nil {
		r = r.Clone()
		r.AddAttrs(s.attrs()...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h scopeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return scopeHandler{h.Handler.WithAttrs(as)}
}

func (h scopeHandler) WithGroup(name string) slog.Handler {
	return scopeHandler{h.Handler.WithGroup(name)}
}
