package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the product's Prometheus metrics, on a registry of their own
// (never the global one). Every method is safe on a nil *Metrics and does
// nothing there: metrics off (METRICS_ADDR unset) cost a nil check.
//
// Label values are all bounded: routes are the registered templates (or
// "unmatched"), methods the standard ones (or "OTHER"), statuses the codes
// the server writes, tenants the top N (or "other"), job kinds the
// registered workers'.
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.HistogramVec
	tenants       *topTenants
	cache         *prometheus.CounterVec
	cacheHit      prometheus.Counter
	cacheMiss     prometheus.Counter
	signInFailed  *prometheus.CounterVec
	signInRefused *prometheus.CounterVec
	jobDuration   *prometheus.HistogramVec
	jobWait       *prometheus.HistogramVec
	jobFailures   *prometheus.CounterVec
	webhooks      *prometheus.CounterVec
	pools         *poolCollector
	queue         *queueCollector
}

// Sign-in surfaces, the surface label of the sign-in series.
const (
	SurfaceTenant = "tenant" // POST /api/token/ and a password change's old password
	SurfaceAdmin  = "admin"  // the admin API's token and the admin UI's login
)

// NewMetrics returns the metrics, with topTenants tenants (the busiest)
// counted under their own names.
func NewMetrics(topTenants int) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tenantctl_http_request_duration_seconds",
			Help: "HTTP requests by route template, method and status, and how long they took (its _count is the request count).",
			// From a cached read (about a millisecond) to a sign-in's
			// argon2id hash under load (hundreds).
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantctl_tenant_cache_lookups_total",
			Help: "Host-to-tenant resolutions, by whether the in-process cache answered (hit) or the database did (miss).",
		}, []string{"result"}),
		signInFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantctl_signin_failures_total",
			Help: "Sign-in attempts refused for a wrong password, an unknown or an inactive account.",
		}, []string{"surface"}),
		signInRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantctl_signin_throttled_total",
			Help: "Sign-in attempts refused unchecked (429) by the sign-in throttle.",
		}, []string{"surface"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tenantctl_job_duration_seconds",
			Help:    "Background job attempts by kind and outcome (completed, failed, cancelled, snoozed), and how long each ran.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind", "outcome"}),
		jobWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tenantctl_job_wait_seconds",
			Help:    "How long background jobs waited between being due and starting, by kind.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}, []string{"kind"}),
		jobFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantctl_job_failures_total",
			Help: "Background job attempts that failed (returned an error or panicked; River retries them until their last attempt), by kind.",
		}, []string{"kind"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantctl_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: succeeded, retrying (failed, will be retried) or failed (the last attempt failed).",
		}, []string{"outcome"}),
		tenants: newTopTenants(topTenants, time.Minute),
		pools:   &poolCollector{},
		queue:   &queueCollector{},
	}
	m.cacheHit, m.cacheMiss = m.cache.WithLabelValues("hit"), m.cache.WithLabelValues("miss")
	m.reg.MustRegister(m.requests, m.cache, m.signInFailed, m.signInRefused, m.jobDuration, m.jobWait, m.jobFailures, m.webhooks,
		m.tenants, m.pools, m.queue,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range []string{SurfaceTenant, SurfaceAdmin} {
		// Present at 0 from the start, so a rate over them has a baseline.
		m.signInFailed.WithLabelValues(s)
		m.signInRefused.WithLabelValues(s)
	}
	for _, o := range []string{WebhookSucceeded, WebhookRetrying, WebhookFailed} {
		m.webhooks.WithLabelValues(o)
	}
	return m
}

// Registry is where the metrics are registered, for /metrics and tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request counts one HTTP request: its route template ("" for none),
// method, status and duration, and its tenant's schema ("" on the public
// host).
func (m *Metrics) Request(route, method string, status int, d time.Duration, tenant string) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, methodLabel(method), statusLabel(status)).Observe(d.Seconds())
	if tenant != "" {
		m.tenants.inc(tenant)
	}
}

// CacheLookup counts one host resolution, answered by the cache or not.
func (m *Metrics) CacheLookup(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.cacheHit.Inc()
	} else {
		m.cacheMiss.Inc()
	}
}

// SignInFailed counts a sign-in refused for its credentials on surface.
func (m *Metrics) SignInFailed(surface string) {
	if m != nil {
		m.signInFailed.WithLabelValues(surface).Inc()
	}
}

// SignInThrottled counts a sign-in refused by the throttle on surface.
func (m *Metrics) SignInThrottled(surface string) {
	if m != nil {
		m.signInRefused.WithLabelValues(surface).Inc()
	}
}

// Job outcomes, the outcome label of tenantctl_job_duration_seconds.
const (
	JobCompleted = "completed"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
	JobSnoozed   = "snoozed"
)

// Job counts one attempt of a job of kind: how long it waited since it was
// due, how long it ran, and its outcome (JobCompleted, ...).
func (m *Metrics) Job(kind, outcome string, wait, ran time.Duration) {
	if m == nil {
		return
	}
	m.jobWait.WithLabelValues(kind).Observe(max(wait, 0).Seconds())
	m.jobDuration.WithLabelValues(kind, outcome).Observe(ran.Seconds())
	if outcome == JobFailed {
		m.jobFailures.WithLabelValues(kind).Inc()
	}
}

// Webhook delivery outcomes, the outcome label of
// tenantctl_webhook_deliveries_total.
const (
	WebhookSucceeded = "succeeded"
	WebhookRetrying  = "retrying"
	WebhookFailed    = "failed"
)

// WebhookDelivery counts one webhook delivery attempt by its outcome
// (WebhookSucceeded, ...).
func (m *Metrics) WebhookDelivery(outcome string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(outcome).Inc()
}

// methodLabel bounds the method label: a client may send any token as a
// method, and each would otherwise be a series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// statusTexts are the status labels, made once rather than per request.
var statusTexts = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}
