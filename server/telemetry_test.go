package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/mail"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/telemetry"
)

// scrape is one scrape of /metrics, parsed.
type scrape map[string]*dto.MetricFamily

// scrapeMetrics GETs /metrics from the METRICS_ADDR listener and parses it
// as Prometheus scrapers do.
func (e *env) scrapeMetrics() scrape {
	e.t.Helper()
	require.NotNil(e.t, e.tel.MetricsAddr(), "metrics are off")
	resp, err := http.Get("http://" + e.tel.MetricsAddr().String() + "/metrics")
	require.NoError(e.t, err)
	defer resp.Body.Close()
	require.Equal(e.t, 200, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(e.t, err)
	return fams
}

// value is the value of the series of name with exactly labels (a
// histogram's sample count), or 0 when there is none.
func (s scrape) value(name string, labels ...string) float64 {
	for _, m := range s.series(name) {
		if labelsAre(m, labels) {
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func (s scrape) series(name string) []*dto.Metric {
	if f, ok := s[name]; ok {
		return f.Metric
	}
	return nil
}

// labelsAre reports whether m's labels are exactly the pairs in kv.
func labelsAre(m *dto.Metric, kv []string) bool {
	if len(m.Label)*2 != len(kv) {
		return false
	}
	for i := 0; i < len(kv); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

const requestsMetric = "tenantctl_http_request_duration_seconds"

// TestMetrics scrapes a server's METRICS_ADDR listener before and after
// real requests: each lands in its route template's series, by method and
// status, exactly once; sign-in failures and throttles, tenant cache
// lookups and the pool are counted; with more tenants than
// METRICS_TOP_TENANTS, tenants beyond it count as "other".
func TestMetrics(t *testing.T) {
	e := newEnvOpts(t, func(c *config.Config) {
		c.MetricsAddr, c.MetricsTopTenants = "127.0.0.1:0", 1
	}, envOpts{telemetry: true})
	tok := e.demo(school1) // one sign-in and its host lookup before the first scrape
	before := e.scrapeMetrics()

	r := e.do(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "counted"}, bearer: tok})
	require.Equal(t, 201, r.status)
	id := fmt.Sprint(r.json(t)["id"])
	for range 3 {
		require.Equal(t, 200, e.do(req{method: "GET", host: school1, path: "/api/items/", bearer: tok}).status)
	}
	// Without the trailing slash: the same route.
	require.Equal(t, 200, e.do(req{method: "GET", host: school1, path: "/api/items", bearer: tok}).status)
	require.Equal(t, 200, e.do(req{method: "GET", host: school1, path: "/api/items/" + id + "/", bearer: tok}).status)
	for range 2 {
		require.Equal(t, 404, e.do(req{method: "GET", host: school1, path: "/api/items/999999/", bearer: tok}).status)
	}
	require.Equal(t, 404, e.do(req{method: "GET", host: school1, path: "/no/such/path/"}).status)
	require.Equal(t, 405, e.do(req{method: "PUT", host: school1, path: "/api/items/", bearer: tok}).status)
	// A method no route knows is "OTHER", not a series of its own.
	require.Equal(t, 405, e.do(req{method: "BREW", host: school1, path: "/api/items/", bearer: tok}).status)

	// Sign-in: five wrong passwords fail, the sixth is throttled unchecked.
	wrong := req{method: "POST", host: school2, path: "/api/token/", body: map[string]string{"username": "demo", "password": "wrong"}, from: "127.0.0.7"}
	for range 5 {
		require.Equal(t, 401, e.do(wrong).status)
	}
	require.Equal(t, 429, e.do(wrong).status)
	after := e.scrapeMetrics()

	delta := func(name string, labels ...string) float64 {
		return after.value(name, labels...) - before.value(name, labels...)
	}
	for _, c := range []struct {
		route, method, status string
		want                  float64
	}{
		{"/api/items/", "POST", "201", 1},
		{"/api/items/", "GET", "200", 4},
		{"/api/items/{id}/", "GET", "200", 1},
		{"/api/items/{id}/", "GET", "404", 2},
		{"unmatched", "GET", "404", 1},
		{"/api/items/", "PUT", "405", 1},
		{"/api/items/", "OTHER", "405", 1},
		{"/api/token/", "POST", "401", 5},
		{"/api/token/", "POST", "429", 1},
	} {
		assert.Equal(t, c.want, delta(requestsMetric, "route", c.route, "method", c.method, "status", c.status), "%s %s %s", c.method, c.route, c.status)
	}
	const requests = 17
	total := 0.0
	for _, m := range after.series(requestsMetric) {
		total += float64(m.Histogram.GetSampleCount())
		assert.NotContains(t, label(m, "route"), "999999", "a route label is a template, never a path")
	}
	for _, m := range before.series(requestsMetric) {
		total -= float64(m.Histogram.GetSampleCount())
	}
	assert.Equal(t, float64(requests), total, "every request counted once")

	assert.Equal(t, 5.0, delta("tenantctl_signin_failures_total", "surface", "tenant"))
	assert.Equal(t, 1.0, delta("tenantctl_signin_throttled_total", "surface", "tenant"))
	assert.Equal(t, 0.0, delta("tenantctl_signin_failures_total", "surface", "admin"))

	// Every request above resolved its host once, from the cache or not.
	hits, misses := delta("tenantctl_tenant_cache_lookups_total", "result", "hit"), delta("tenantctl_tenant_cache_lookups_total", "result", "miss")
	assert.Equal(t, float64(requests), hits+misses)
	assert.Positive(t, hits)

	// Two tenants, METRICS_TOP_TENANTS=1: one tenant series and "other",
	// together every tenant request since the start.
	tenants := after.series("tenantctl_tenant_requests_total")
	names := []string{}
	sum := 0.0
	for _, m := range tenants {
		names = append(names, label(m, "tenant"))
		sum += m.Counter.GetValue()
	}
	assert.Len(t, tenants, 2, "one tenant of its own and other: %v", names)
	assert.Contains(t, names, "other")
	assert.Equal(t, float64(requests+1), sum, "the sign-in before the first scrape counts too")

	assert.Equal(t, float64(e.db.Pool.Config().MaxConns), after.value("tenantctl_db_pool_max_connections", "pool", "requests"))
	assert.Greater(t, delta("tenantctl_db_pool_acquires_total", "pool", "requests"), 0.0)
	// The tenant transactions run on the parts, reported added up.
	assert.Equal(t, float64(e.db.Pool.Config().MaxConns), after.value("tenantctl_db_pool_max_connections", "pool", "requests_tenants"))
	assert.Greater(t, delta("tenantctl_db_pool_acquires_total", "pool", "requests_tenants"), 0.0)
	assert.Equal(t, 0.0, after.value("tenantctl_db_pool_tenant_busy_total", "pool", "requests_tenants"))
	// No job is waiting: the queue's depth is 0 in every state.
	for _, st := range []string{"available", "pending", "retryable", "running", "scheduled"} {
		assert.Contains(t, after, "tenantctl_jobs")
		assert.Equal(t, 0.0, after.value("tenantctl_jobs", "state", st), st)
	}

	resp, err := http.Get("http://" + e.tel.MetricsAddr().String() + "/other")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode, "the metrics listener serves /metrics only")
}

// TestMetricsTopTenantsBound: with more tenants than METRICS_TOP_TENANTS,
// never more tenant series than that plus "other", whatever the traffic.
func TestMetricsTopTenantsBound(t *testing.T) {
	e := newEnvOpts(t, func(c *config.Config) {
		c.MetricsAddr, c.MetricsTopTenants = "127.0.0.1:0", 2
	}, envOpts{telemetry: true})
	for _, s := range []string{"school3", "school4"} {
		_, err := e.prov.CreateTenant(t.Context(), provision.TenantParams{Schema: s, Name: s, Domain: s + ".localhost"})
		require.NoError(t, err)
	}
	hosts := []string{school1, school2, "school3.localhost", "school4.localhost"}
	sent := 0
	for i, h := range hosts {
		for range i + 1 {
			require.Equal(t, 401, e.do(req{method: "GET", host: h, path: "/api/profile/"}).status)
			sent++
		}
	}
	s := e.scrapeMetrics()
	tenants := s.series("tenantctl_tenant_requests_total")
	sum := 0.0
	for _, m := range tenants {
		sum += m.Counter.GetValue()
	}
	assert.Len(t, tenants, 3, "two tenants and other")
	assert.Equal(t, float64(sent), sum)
}

// collector is an OTLP/HTTP trace receiver: it decodes each export
// request's protobuf body and keeps its spans.
type collector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			c.spans = append(c.spans, ss.Spans...)
		}
	}
	c.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (c *collector) all() []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.spans)
}

func attr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			if v, ok := a.Value.Value.(*commonpb.AnyValue_StringValue); ok {
				return v.StringValue
			}
			return a.Value.String()
		}
	}
	return ""
}

// TestTracing exports a server's spans to an OTLP/HTTP collector in the
// test: a request's span is named by its route template, carries the
// tenant's schema and the request id, continues the caller's trace, and
// has its SQL statements as children; the job it enqueues runs in a span
// that is its child, in the same trace. The job's and the requests' log
// lines, a 500's included, name the tenant and the request id.
func TestTracing(t *testing.T) {
	var col collector
	cs := httptest.NewServer(&col)
	t.Cleanup(cs.Close)
	var logs syncBuffer
	// As serve's: every line logged with a request's or job's context
	// names its scope, also the mail sender's.
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&logs, nil)))
	e := newEnvOpts(t, func(c *config.Config) {
		tr, err := config.Load(func(k string) string {
			return map[string]string{"APP_ENV": "test", "OTEL_EXPORTER_OTLP_ENDPOINT": cs.URL}[k]
		})
		require.NoError(t, err)
		c.Tracing = tr.Tracing
	}, envOpts{telemetry: true, log: log})
	q, err := jobs.Open(e.db.Pool, jobs.Options{
		Workers: 2, FetchPollInterval: 50 * time.Millisecond, Logger: log, Telemetry: e.tel,
		Mail: mail.NewLog(log, "tenantctl <noreply@localhost>"),
	})
	require.NoError(t, err)
	require.NoError(t, q.Start(context.Background()))
	t.Cleanup(func() { _ = q.Stop(5 * time.Second) })

	tok := e.demo(school1)
	const caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	r := e.do(req{method: "GET", host: school1, path: "/api/items/", bearer: tok,
		header: http.Header{"X-Request-Id": {"list-1"}, "Traceparent": {caller}}})
	require.Equal(t, 200, r.status)
	r = e.do(req{method: "POST", host: school1, path: "/api/password/reset/", body: map[string]string{"email": "demo@school1.com"},
		header: http.Header{"X-Request-Id": {"reset-1"}}})
	require.Equal(t, 202, r.status, "%s", r.body)
	// A 500: the tenant's table gone behind the product's back.
	e.exec(`DROP TABLE school1.items`)
	r = e.do(req{method: "GET", host: school1, path: "/api/items/", bearer: tok, header: http.Header{"X-Request-Id": {"broken-1"}}})
	require.Equal(t, 500, r.status)

	require.Eventually(t, func() bool {
		return e.count(`SELECT count(*) FROM river.river_job WHERE kind = 'email.send' AND state = 'completed'`) == 1
	}, 60*time.Second, 20*time.Millisecond, "the reset email job")
	require.NoError(t, q.Stop(5*time.Second))
	e.stop() // the last spans are exported

	spans := col.all()
	find := func(name, requestID string) *tracepb.Span {
		t.Helper()
		for _, s := range spans {
			if s.Name == name && attr(s, "request.id") == requestID {
				return s
			}
		}
		t.Fatalf("no span %q of request %q among %d", name, requestID, len(spans))
		return nil
	}
	list := find("GET /api/items/", "list-1")
	assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, list.Kind)
	assert.Equal(t, "/api/items/", attr(list, "http.route"))
	assert.Equal(t, "school1", attr(list, "tenant.schema"))
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", fmt.Sprintf("%x", list.TraceId), "the caller's trace continues")
	assert.Equal(t, "b7ad6b7169203331", fmt.Sprintf("%x", list.ParentSpanId))
	var sql []string
	for _, s := range spans {
		if string(s.ParentSpanId) == string(list.SpanId) {
			assert.Equal(t, "postgresql", attr(s, "db.system.name"), s.Name)
			assert.NotEmpty(t, attr(s, "db.query.text"), s.Name)
			assert.Equal(t, list.TraceId, s.TraceId)
			sql = append(sql, s.Name)
		}
	}
	assert.Contains(t, sql, "ListItems", "the sqlc query's span, by its name: %v", sql)

	reset := find("POST /api/password/reset/", "reset-1")
	job := find("job email.send", "reset-1")
	assert.Equal(t, reset.TraceId, job.TraceId, "the job is in its request's trace")
	assert.Equal(t, reset.SpanId, job.ParentSpanId, "the job's span is its request's child")
	assert.Equal(t, "school1", attr(job, "tenant.schema"))
	assert.Equal(t, "completed", attr(job, "job.outcome"))

	broken := find("GET /api/items/", "broken-1")
	assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, broken.Status.GetCode())

	// Log lines: the job's own (the email logged by the job, the attempt's
	// line) and the 500's name the tenant and the request.
	var jobLines, failed int
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		switch {
		case m["msg"] == "request failed":
			failed++
			assert.Equal(t, "broken-1", m["request_id"], l)
			assert.Equal(t, "school1", m["tenant"], l)
		case m["job_kind"] == "email.send":
			jobLines++
			assert.Equal(t, "reset-1", m["request_id"], l)
			assert.Equal(t, "school1", m["tenant"], l)
		}
	}
	assert.Equal(t, 1, failed, "the 500's line")
	assert.GreaterOrEqual(t, jobLines, 2, "the email and the attempt")
}
