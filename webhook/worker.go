package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/mail"
	"github.com/tenantctl/tenantctl/telemetry"
)

// Args are the arguments of a delivery job, as package audit enqueues them
// (sql/tenant/audit.sql): {"tenant": {...}, "delivery_id": N}.
type Args struct {
	jobs.TenantArgs `json:"tenant"`
	DeliveryID      int64 `json:"delivery_id"`
}

// Kind is the job's name in River's tables.
func (Args) Kind() string { return "webhook.deliver" }

// DefaultSchedule is the wait before each retry of a failed delivery:
// with the first attempt, 8 attempts (audit.DefaultMaxAttempts) over about
// 27 hours, so that a receiver down for most of a day still gets it.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Options configure the delivery worker.
type Options struct {
	// AllowPrivate and Timeout configure the HTTP client (NewClient).
	AllowPrivate bool
	Timeout      time.Duration
	// Schedule replaces DefaultSchedule (tests shorten it); its last wait
	// repeats for further attempts.
	Schedule []time.Duration
	// Telemetry counts the deliveries by outcome and traces their
	// requests; nil does neither.
	Telemetry *telemetry.Telemetry
	Logger    *slog.Logger
}

// Register returns what registers the delivery worker on a job queue
// (jobs.Options.Register): every client that runs workers needs it.
func Register(o Options) func(*river.Workers, *db.Pool) {
	return func(ws *river.Workers, pool *db.Pool) {
		river.AddWorker(ws, newWorker(pool, o))
	}
}

func newWorker(pool *db.Pool, o Options) *worker {
	if len(o.Schedule) == 0 {
		o.Schedule = DefaultSchedule
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &worker{
		pool: pool, o: o, log: log,
		client:  NewClient(ClientOptions{AllowPrivate: o.AllowPrivate, Timeout: o.Timeout}),
		metrics: o.Telemetry.MetricsOf(),
		tracer:  o.Telemetry.Tracer("github.com/tenantctl/tenantctl/webhook"),
	}
}

type worker struct {
	river.WorkerDefaults[Args]
	pool    *db.Pool
	o       Options
	log     *slog.Logger
	client  *http.Client
	metrics *telemetry.Metrics
	tracer  trace.Tracer
}

// NextRetry follows the schedule instead of River's backoff.
func (w *worker) NextRetry(job *river.Job[Args]) time.Time {
	i := min(max(job.Attempt-1, 0), len(w.o.Schedule)-1)
	return time.Now().Add(w.o.Schedule[i])
}

// Timeout leaves the request its own timeout, plus the database work.
func (w *worker) Timeout(*river.Job[Args]) time.Duration { return w.o.Timeout + 30*time.Second }

// maxBody is how much of a response is read (and discarded): enough to
// reuse the connection after a short answer, never a large download.
const maxBody = 64 << 10

// maxError bounds last_error.
const maxError = 500

// disabledReason is an endpoint's disabled_reason after sustained failure.
const disabledReason = "Every delivery failed for the whole retry window (about a day)."

// attempt is the outcome of one POST.
type attempt struct {
	code    *int32
	latency time.Duration
	err     error
}

func (w *worker) Work(ctx context.Context, job *river.Job[Args]) error {
	s, err := jobs.Resolve(ctx, w.pool, job.Args.TenantArgs)
	if err != nil {
		return err
	}
	d, err := db.ReadTenantV(ctx, w.pool, s, func(q *tenantdb.Queries) (tenantdb.GetWebhookDeliveryRow, error) {
		return q.GetWebhookDelivery(ctx, job.Args.DeliveryID)
	})
	switch {
	case errors.Is(err, db.ErrTenantGone):
		return river.JobCancel(err)
	case errors.Is(err, pgx.ErrNoRows):
		return nil // its endpoint was deleted
	case err != nil:
		return err
	case d.Status == "succeeded":
		return nil // an attempt that succeeded but whose job did not complete
	case !d.Enabled && d.EventType != audit.Ping:
		// Disabled since (by its owner or for failing): nothing is sent,
		// and enabling it again does not replay what it missed. A test
		// ping still goes, to check the endpoint before enabling it.
		return nil
	}
	a := w.post(ctx, d)
	status, outcome := "succeeded", telemetry.WebhookSucceeded
	if a.err != nil {
		status, outcome = "pending", telemetry.WebhookRetrying
		if job.Attempt >= job.MaxAttempts {
			status, outcome = "failed", telemetry.WebhookFailed
		}
	}
	w.metrics.WebhookDelivery(outcome)
	p := tenantdb.RecordWebhookAttemptParams{ID: d.ID, Status: status, ResponseCode: a.code}
	ms := int32(min(a.latency.Milliseconds(), 1<<31-1))
	p.LatencyMs = &ms
	if a.err != nil {
		msg := a.err.Error()
		if len(msg) > maxError {
			msg = msg[:maxError]
		}
		p.LastError = &msg
	}
	err = db.InTenantTx(ctx, w.pool, s, func(q *tenantdb.Queries, tx pgx.Tx) error {
		r, err := q.RecordWebhookAttempt(ctx, p)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil || status != "failed" || !r.FailingThroughout {
			return err
		}
		return disable(ctx, q, tx, s, r.EndpointID)
	})
	if err != nil {
		return err
	}
	if a.err != nil {
		w.log.InfoContext(ctx, "webhook delivery failed", "delivery", d.ID, "endpoint", d.EndpointID,
			"attempt", job.Attempt, "of", job.MaxAttempts, "error", a.err)
	}
	return a.err
}

// post sends delivery d once, signed for now.
func (w *worker) post(ctx context.Context, d tenantdb.GetWebhookDeliveryRow) attempt {
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	if w.tracer != nil {
		var span trace.Span
		ctx, span = w.tracer.Start(ctx, "webhook POST", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("webhook.event_id", d.EventID),
			attribute.String("webhook.event_type", d.EventType),
			attribute.Int64("webhook.endpoint_id", d.EndpointID),
		))
		defer span.End()
		a := w.send(ctx, d)
		if a.code != nil {
			span.SetAttributes(attribute.Int("http.response.status_code", int(*a.code)))
		}
		if a.err != nil {
			span.SetStatus(codes.Error, a.err.Error())
		}
		return a
	}
	return w.send(ctx, d)
}

func (w *worker) send(ctx context.Context, d tenantdb.GetWebhookDeliveryRow) attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Url, bytes.NewReader(d.Payload))
	if err != nil {
		return attempt{err: err}
	}
	sign(req.Header, d.Secret, d.EventID, time.Now(), d.Payload)
	// The receiver may continue the trace of the change that caused the
	// event (W3C traceparent), as the job did.
	telemetry.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	start := time.Now()
	res, err := w.client.Do(req)
	if err != nil {
		return attempt{latency: time.Since(start), err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
	_ = res.Body.Close()
	a := attempt{latency: time.Since(start)}
	code := int32(res.StatusCode)
	a.code = &code
	if res.StatusCode < 200 || res.StatusCode > 299 {
		a.err = fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return a
}

// disable turns endpoint id off after its last delivery failed for the
// whole retry window, records it in the audit log and emails the tenant's
// owners, all in tx.
func disable(ctx context.Context, q *tenantdb.Queries, tx pgx.Tx, s db.Schema, id int64) error {
	e, err := q.DisableWebhookEndpoint(ctx, tenantdb.DisableWebhookEndpointParams{ID: id, Reason: new(disabledReason)})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // already disabled (another delivery's last attempt)
	}
	if err != nil {
		return err
	}
	err = audit.Record(ctx, q, s, audit.Entry{
		Action: audit.WebhookDisabled, Actor: audit.System("webhooks"), Target: audit.Of("webhook", e.ID),
		Before: map[string]any{"enabled": true},
		After:  map[string]any{"enabled": false, "disabled_reason": disabledReason},
	})
	if err != nil {
		return err
	}
	owners, err := q.ActiveOwnerEmails(ctx)
	if err != nil {
		return err
	}
	for _, to := range owners {
		if err := jobs.WorkerTenantEmailTx(ctx, tx, s, disabledEmail(to, e)); err != nil {
			return err
		}
	}
	return nil
}

// disabledEmail tells an owner that endpoint e was disabled.
func disabledEmail(to string, e tenantdb.WebhookEndpoint) mail.Message {
	text := fmt.Sprintf("Your webhook endpoint %s (id %d) has been disabled: %s\n\n"+
		"No more events are sent to it. Once it answers again, enable it with\n"+
		"PATCH /api/webhooks/%d/ {\"enabled\": true}; its deliveries list\n"+
		"(GET /api/webhooks/%d/deliveries/) shows what failed and why.\n", e.Url, e.ID, disabledReason, e.ID, e.ID)
	h := fmt.Sprintf("<p>Your webhook endpoint <code>%s</code> (id %d) has been disabled: %s</p>\n"+
		"<p>No more events are sent to it. Once it answers again, enable it with "+
		"<code>PATCH /api/webhooks/%d/ {\"enabled\": true}</code>; its deliveries list "+
		"(<code>GET /api/webhooks/%d/deliveries/</code>) shows what failed and why.</p>",
		html.EscapeString(e.Url), e.ID, html.EscapeString(disabledReason), e.ID, e.ID)
	return mail.Message{To: to, Subject: "Webhook endpoint disabled", Text: text, HTML: h}
}
