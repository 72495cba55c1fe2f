package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/telemetry"
)

// origin is what a job's metadata carries from where it was enqueued: the
// trace context (W3C traceparent and tracestate) of the request or job that
// enqueued it, that request's id, and the job's tenant, so that the job's
// span is that request's child and its log lines name both.
type origin struct {
	TraceParent string `json:"traceparent,omitempty"`
	TraceState  string `json:"tracestate,omitempty"`
	RequestID   string `json:"request_id,omitempty"`
	Tenant      string `json:"tenant,omitempty"`
}

// tenantNamed is the arguments of a job about one tenant (TenantArgs, and
// EmailArgs with a tenant).
type tenantNamed interface{ tenantSchema() string }

func (a TenantArgs) tenantSchema() string { return a.Schema }

func (a EmailArgs) tenantSchema() string {
	if a.Tenant == nil {
		return ""
	}
	return a.Tenant.Schema
}

// observer is the queue's River middleware. On insert it writes the
// origin into each job's metadata (always: it costs nothing measurable,
// and a job enqueued by a traced process is traced by whichever process
// works it). Around work it starts the job's span (when tracing is on),
// puts the job's Scope in its context for the log lines it writes, counts
// the attempt in the metrics, and logs one line per attempt.
type observer struct {
	river.MiddlewareDefaults
	tracer  trace.Tracer // nil: no spans
	metrics *telemetry.Metrics
	log     *slog.Logger
}

func (o *observer) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	from := originOf(ctx)
	for _, p := range params {
		o := from
		if t, ok := p.Args.(tenantNamed); ok {
			o.Tenant = t.tenantSchema()
		}
		if o == (origin{}) {
			continue
		}
		md, err := withOrigin(p.Metadata, o)
		if err != nil {
			return nil, err
		}
		p.Metadata = md
	}
	return doInner(ctx)
}

// originOf is the origin of a job enqueued with ctx: its trace context and
// request id.
func originOf(ctx context.Context) origin {
	carrier := propagation.MapCarrier{}
	telemetry.Propagator.Inject(ctx, carrier)
	from := origin{TraceParent: carrier["traceparent"], TraceState: carrier["tracestate"]}
	if s := telemetry.ScopeFrom(ctx); s != nil {
		from.RequestID = s.RequestID
	}
	return from
}

// Metadata is the metadata River's insert would give a job of tenant s
// enqueued with ctx, for the one insert that does not go through River
// (the webhook outbox's, package audit).
func Metadata(ctx context.Context, s db.Schema) []byte {
	o := originOf(ctx)
	o.Tenant = s.String()
	b, _ := json.Marshal(o) // strings only: cannot fail
	return b
}

// withOrigin adds o's keys to the JSON object md (River's default is {}).
func withOrigin(md []byte, o origin) ([]byte, error) {
	m := map[string]any{}
	if len(md) > 0 {
		if err := json.Unmarshal(md, &m); err != nil {
			return nil, err
		}
	}
	b, _ := json.Marshal(o)
	var om map[string]any
	_ = json.Unmarshal(b, &om)
	for k, v := range om {
		m[k] = v
	}
	return json.Marshal(m)
}

func (o *observer) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	var from origin
	_ = json.Unmarshal(job.Metadata, &from) // a job of an older version may carry none
	scope := &telemetry.Scope{RequestID: from.RequestID, Tenant: from.Tenant, JobID: job.ID, JobKind: job.Kind}
	ctx = telemetry.WithScope(ctx, scope)
	var span trace.Span
	if o.tracer != nil {
		parent := telemetry.Propagator.Extract(ctx, propagation.MapCarrier{"traceparent": from.TraceParent, "tracestate": from.TraceState})
		ctx, span = o.tracer.Start(parent, "job "+job.Kind, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
			attribute.String("messaging.system", "river"),
			attribute.String("job.kind", job.Kind),
			attribute.Int64("job.id", job.ID),
			attribute.Int("job.attempt", job.Attempt),
			attribute.String("tenant.schema", from.Tenant),
			attribute.String("request.id", from.RequestID),
		))
	}
	start := time.Now()
	wait := time.Duration(0)
	if job.AttemptedAt != nil {
		wait = job.AttemptedAt.Sub(job.ScheduledAt)
	}
	outcome := telemetry.JobFailed // unless doInner returns: it panicked
	defer func() {
		ran := time.Since(start)
		o.metrics.Job(job.Kind, outcome, wait, ran)
		level := slog.LevelInfo
		attrs := []slog.Attr{slog.String("outcome", outcome), slog.Int("attempt", job.Attempt),
			slog.Float64("duration_ms", float64(ran.Microseconds())/1000)}
		if outcome == telemetry.JobFailed {
			level = slog.LevelError
			if err != nil {
				attrs = append(attrs, slog.String("err", err.Error()))
			}
		}
		o.log.LogAttrs(ctx, level, "job", attrs...)
		if span != nil {
			span.SetAttributes(attribute.String("job.outcome", outcome))
			if outcome == telemetry.JobFailed {
				if err != nil {
					span.RecordError(err)
				}
				span.SetStatus(codes.Error, "job failed")
			}
			span.End()
		}
	}()
	err = doInner(ctx)
	outcome = jobOutcome(err)
	return err
}

// jobOutcome names what River does with an attempt that returned err.
func jobOutcome(err error) string {
	var cancel *rivertype.JobCancelError
	var snooze *rivertype.JobSnoozeError
	switch {
	case err == nil:
		return telemetry.JobCompleted
	case errors.As(err, &cancel):
		return telemetry.JobCancelled
	case errors.As(err, &snooze):
		return telemetry.JobSnoozed
	}
	return telemetry.JobFailed
}
