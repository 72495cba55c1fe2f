package db

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// sqlTracer makes a span of every SQL statement whose context carries a
// recording span (a traced request's or job's), as that span's child, from
// that span's own tracer provider: the pool needs no tracing setup of its
// own, and with tracing off a statement costs a context lookup. It is
// pgx's tracer of every pool Open makes.
//
// A statement in a pipelined batch (BEGIN, the search_path and a request's
// first statement travel together, see pipelinedTx) gets a span from when
// pgx started reading its result to when it had.
type sqlTracer struct{}

const tracerName = "github.com/tenantctl/tenantctl/db"

// sqlSpanKey marks a context whose span this tracer started, so that the
// end of a statement it did not trace never ends its caller's span.
type sqlSpanKey struct{}

func (sqlTracer) start(ctx context.Context, c *pgx.Conn, sql string, at time.Time) (context.Context, bool) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, false
	}
	if text, ok := stateOf(c.PgConn()).sqlOf[sql]; ok {
		sql = text // sent by the name of its prepared statement
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", "postgresql"),
		attribute.String("db.query.text", sql),
	)}
	if !at.IsZero() {
		opts = append(opts, trace.WithTimestamp(at))
	}
	ctx, _ = parent.TracerProvider().Tracer(tracerName).Start(ctx, spanName(sql), opts...)
	return context.WithValue(ctx, sqlSpanKey{}, true), true
}

func end(ctx context.Context, err error) {
	if ctx.Value(sqlSpanKey{}) == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

func (t sqlTracer) TraceQueryStart(ctx context.Context, c *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	ctx, _ = t.start(ctx, c, data.SQL, time.Time{})
	return ctx
}

func (sqlTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	end(ctx, data.Err)
}

func (t sqlTracer) TracePrepareStart(ctx context.Context, c *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	ctx, _ = t.start(ctx, c, data.SQL, time.Time{})
	return ctx
}

func (sqlTracer) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, data pgx.TracePrepareEndData) {
	end(ctx, data.Err)
}

// A batch has no span of its own: its statements are the request's
// children, as if sent one by one.
func (sqlTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (t sqlTracer) TraceBatchQuery(ctx context.Context, c *pgx.Conn, data pgx.TraceBatchQueryData) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return // tracing off: not even the clock is read
	}
	at := data.ReadStartTime
	if at.IsZero() {
		at = time.Now()
	}
	if ctx, ok := t.start(ctx, c, data.SQL, at); ok {
		end(ctx, data.Err)
	}
}

func (sqlTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// spanName is a statement's span name: its sqlc query name (the SQL's
// "-- name: ListItems :many" line), else its first word (BEGIN, COMMIT,
// SELECT), with "set search_path" for the statement opening a tenant's
// transaction.
func spanName(sql string) string {
	if strings.HasPrefix(sql, "/* ") {
		// A tenant's own prepared statement: "/* schema */ " and the SQL.
		if _, rest, ok := strings.Cut(sql, " */ "); ok {
			sql = rest
		}
	}
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		if name, _, ok := strings.Cut(rest, " "); ok {
			return name
		}
	}
	if strings.Contains(sql, "set_config('search_path'") {
		return "set search_path"
	}
	word, _, _ := strings.Cut(strings.TrimSpace(sql), " ")
	return strings.ToUpper(word)
}
