package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/mail"
	"github.com/tenantctl/tenantctl/telemetry"
	"github.com/tenantctl/tenantctl/webhook"
)

// hook is one request a receiver got.
type hook struct {
	header http.Header
	body   []byte
	at     time.Time
}

// event decodes the body: {"type", "timestamp", "data"}.
func (h hook) event(t testing.TB) (typ string, data map[string]any) {
	var ev struct {
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(h.body, &ev), "%s", h.body)
	_, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
	require.NoError(t, err, "timestamp %q", ev.Timestamp)
	return ev.Type, ev.Data
}

// receiver is a real HTTP server on 127.0.0.1 that records every webhook
// it gets and answers as answer says for the nth request (1-based).
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	answer func(n int) (status int, delay time.Duration)
	mu     sync.Mutex
	got    []hook
}

func startReceiver(t testing.TB, answer func(n int) (int, time.Duration)) *receiver {
	rc := &receiver{t: t, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, hook{header: r.Header.Clone(), body: body, at: time.Now()})
		n := len(rc.got)
		rc.mu.Unlock()
		status, delay := 204, time.Duration(0)
		if rc.answer != nil {
			status, delay = rc.answer(n)
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) hooks() []hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hook(nil), rc.got...)
}

// wait returns the requests once there are at least n.
func (rc *receiver) wait(n int) []hook {
	rc.t.Helper()
	require.Eventually(rc.t, func() bool { return len(rc.hooks()) >= n }, 60*time.Second, 20*time.Millisecond,
		"want %d webhook requests", n)
	return rc.hooks()
}

// webhookEnv is a server plus what serve runs for webhooks: job workers
// delivering them (the configuration's WEBHOOK_ALLOW_PRIVATE and
// WEBHOOK_TIMEOUT, retries after milliseconds) and sending email to a
// mailbox.
// The workers count deliveries in the metrics returned.
func newWebhookEnv(t testing.TB, with func(*config.Config)) (*env, *mailbox, *telemetry.Metrics) {
	t.Helper()
	box := startMailbox(t, "127.0.0.1:0")
	e := newEnvWith(t, func(c *config.Config) {
		c.WebhookAllowPrivate = true
		c.WebhookTimeout = 2 * time.Second
		if with != nil {
			with(c)
		}
	})
	set, err := mail.ParseURL("smtp://" + box.addr)
	require.NoError(t, err)
	tel := &telemetry.Telemetry{Metrics: telemetry.NewMetrics(10)}
	q, err := jobs.Open(e.db.Pool, jobs.Options{
		Workers: 4, FetchPollInterval: 20 * time.Millisecond, RetryPolicy: quickRetry{},
		Mail: mail.NewSMTP(set, "tenantctl <noreply@localhost>"),
		Register: []func(*river.Workers, *db.Pool){webhook.Register(webhook.Options{
			AllowPrivate: e.cfg.WebhookAllowPrivate, Timeout: e.cfg.WebhookTimeout,
			Schedule: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}, Telemetry: tel,
		})},
	})
	require.NoError(t, err)
	require.NoError(t, q.Start(context.Background()))
	t.Cleanup(func() { _ = q.Stop(5 * time.Second) })
	return e, box, tel.Metrics
}

// gather is a scrape of m.
func gather(t testing.TB, m *telemetry.Metrics) scrape {
	fams, err := m.Registry().Gather()
	require.NoError(t, err)
	out := scrape{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// createHook registers url for types on school1 and returns its id and secret.
func (e *env) createHook(url string, types ...string) (int64, string) {
	e.t.Helper()
	r := e.do(req{method: "POST", host: school1, path: "/api/webhooks/", bearer: e.demo(school1),
		body: map[string]any{"url": url, "event_types": types}})
	require.Equal(e.t, 201, r.status, "%s", r.body)
	m := r.json(e.t)
	return int64(m["id"].(float64)), m["secret"].(string)
}

// delivery is a row of school1's webhook_deliveries.
type delivery struct {
	EventID, EventType, Status string
	Attempts                   int
	ResponseCode, LatencyMs    *int
	LastError                  *string
	Delivered                  bool
}

func (e *env) deliveries(endpoint int64) []delivery {
	e.t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), `SELECT event_id, event_type, status, attempts, response_code,
		latency_ms, last_error, delivered_at IS NOT NULL FROM school1.webhook_deliveries WHERE endpoint_id = $1 ORDER BY id`, endpoint)
	require.NoError(e.t, err)
	defer rows.Close()
	var out []delivery
	for rows.Next() {
		var d delivery
		require.NoError(e.t, rows.Scan(&d.EventID, &d.EventType, &d.Status, &d.Attempts, &d.ResponseCode, &d.LatencyMs, &d.LastError, &d.Delivered))
		out = append(out, d)
	}
	require.NoError(e.t, rows.Err())
	return out
}

// settled waits until every delivery of endpoint is succeeded or failed.
func (e *env) settled(endpoint int64, n int) []delivery {
	e.t.Helper()
	require.Eventually(e.t, func() bool {
		ds := e.deliveries(endpoint)
		if len(ds) < n {
			return false
		}
		for _, d := range ds {
			if d.Status == "pending" {
				return false
			}
		}
		return true
	}, 60*time.Second, 20*time.Millisecond, "deliveries of endpoint %d", endpoint)
	return e.deliveries(endpoint)
}

func (e *env) createItem(name string) int64 {
	e.t.Helper()
	r := e.do(req{method: "POST", host: school1, path: "/api/items/", bearer: e.demo(school1), body: map[string]string{"name": name}})
	require.Equal(e.t, 201, r.status, "%s", r.body)
	return int64(r.json(e.t)["id"].(float64))
}

// TestWebhookDelivery: an item's creation reaches a subscribed endpoint,
// signed with the secret of the 201 (Standard Webhooks); a receiver that
// answers 500 twice gets the same webhook-id three times; the delivery
// row and the deliveries list say so. Unsubscribed events are not sent.
func TestWebhookDelivery(t *testing.T) {
	e, _, m := newWebhookEnv(t, nil)
	rc := startReceiver(t, func(n int) (int, time.Duration) {
		if n <= 2 {
			return 500, 0
		}
		return 200, 0
	})
	id, secret := e.createHook(rc.srv.URL+"/hooks", audit.ItemCreated, audit.ItemDeleted)
	require.True(t, strings.HasPrefix(secret, "whsec_"), secret)

	item := e.createItem("Chalk")
	got := rc.wait(3)
	ds := e.settled(id, 1)
	require.Len(t, ds, 1)
	d := ds[0]
	assert.Equal(t, "succeeded", d.Status)
	assert.Equal(t, 3, d.Attempts)
	require.NotNil(t, d.ResponseCode)
	assert.Equal(t, 200, *d.ResponseCode)
	assert.NotNil(t, d.LatencyMs)
	assert.True(t, d.Delivered)
	assert.Equal(t, audit.ItemCreated, d.EventType)
	require.Len(t, got, 3, "two failures and a success; nothing after")
	for _, h := range got {
		assert.NoError(t, webhook.Verify(secret, h.header, h.body), "the signature verifies with the secret shown once")
		assert.Equal(t, d.EventID, h.header.Get("webhook-id"), "the same id on every attempt, for de-duplication")
		assert.Equal(t, "application/json", h.header.Get("Content-Type"))
		assert.Contains(t, h.header.Get("User-Agent"), "tenantctl")
		typ, data := h.event(t)
		assert.Equal(t, audit.ItemCreated, typ)
		assert.Equal(t, "Chalk", data["name"])
		assert.Equal(t, float64(item), data["id"])
	}
	assert.True(t, strings.HasPrefix(d.EventID, "msg_"), d.EventID)
	sc := gather(t, m)
	assert.Equal(t, 2.0, sc.value("tenantctl_webhook_deliveries_total", "outcome", "retrying"))
	assert.Equal(t, 1.0, sc.value("tenantctl_webhook_deliveries_total", "outcome", "succeeded"))
	assert.Equal(t, 0.0, sc.value("tenantctl_webhook_deliveries_total", "outcome", "failed"))
	assert.Error(t, webhook.Verify("whsec_"+strings.Repeat("A", 43)+"=", got[0].header, got[0].body), "another secret fails")

	// The API's view of it, newest first.
	r := e.do(req{method: "GET", host: school1, path: fmt.Sprintf("/api/webhooks/%d/deliveries/", id), bearer: e.demo(school1)})
	require.Equal(t, 200, r.status, "%s", r.body)
	page := r.json(t)
	assert.Equal(t, 1.0, page["count"])
	first := page["results"].([]any)[0].(map[string]any)
	assert.Equal(t, d.EventID, first["event_id"])
	assert.Equal(t, "succeeded", first["status"])
	assert.Equal(t, 3.0, first["attempts"])
	assert.Equal(t, 200.0, first["response_code"])
	assert.NotNil(t, first["delivered_at"])

	// item.updated is not subscribed: no delivery; item.deleted is.
	path := fmt.Sprintf("/api/items/%d/", item)
	r = e.do(req{method: "PATCH", host: school1, path: path, bearer: e.demo(school1), body: map[string]string{"name": "Chalk box"}})
	require.Equal(t, 200, r.status)
	r = e.do(req{method: "DELETE", host: school1, path: path, bearer: e.demo(school1)})
	require.Equal(t, 204, r.status)
	got = rc.wait(4)
	ds = e.settled(id, 2)
	require.Len(t, ds, 2, "no delivery of the unsubscribed item.updated")
	assert.Equal(t, audit.ItemDeleted, ds[1].EventType)
	assert.Equal(t, "succeeded", ds[1].Status)
	assert.Equal(t, 1, ds[1].Attempts)
	typ, data := got[3].event(t)
	assert.Equal(t, audit.ItemDeleted, typ)
	assert.Equal(t, map[string]any{"id": fmt.Sprint(item)}, data)
	assert.NotEqual(t, d.EventID, got[3].header.Get("webhook-id"), "another event, another id")
	assert.Len(t, rc.hooks(), 4)
}

// TestWebhookRolledBack: the outbox is written in the change's
// transaction: a change that rolls back leaves no delivery and no job.
func TestWebhookRolledBack(t *testing.T) {
	e, _, _ := newWebhookEnv(t, nil)
	rc := startReceiver(t, nil)
	id, _ := e.createHook(rc.srv.URL, audit.ItemCreated)
	s, err := db.Pinned(t.Context(), e.db.Pool, db.MustParseSchema("school1"))
	require.NoError(t, err)
	rollback := errors.New("rolled back")
	err = db.InTenant(t.Context(), e.db.Pool, s, func(q *tenantdb.Queries) error {
		it, err := q.CreateItem(t.Context(), tenantdb.CreateItemParams{Name: "Ghost"})
		require.NoError(t, err)
		require.NoError(t, audit.Record(t.Context(), q, s, audit.Entry{
			Action: audit.ItemCreated, Actor: audit.System("test"), Target: audit.Of("item", it.ID),
		}))
		inTx, err := q.ListWebhookDeliveries(t.Context(), tenantdb.ListWebhookDeliveriesParams{EndpointID: id, Lim: 10})
		require.NoError(t, err)
		assert.Len(t, inTx, 1, "written in the transaction")
		return rollback
	})
	require.ErrorIs(t, err, rollback)
	assert.Empty(t, e.deliveries(id))
	assert.Zero(t, e.count("SELECT count(*) FROM river.river_job WHERE kind = 'webhook.deliver'"))

	// The same change committed is delivered.
	e.createItem("Real")
	rc.wait(1)
	ds := e.settled(id, 1)
	assert.Equal(t, "succeeded", ds[0].Status)
	time.Sleep(200 * time.Millisecond)
	assert.Len(t, rc.hooks(), 1)
}

// TestWebhookTimeout: a receiver slower than WEBHOOK_TIMEOUT fails the
// attempt, which is retried with the same webhook-id.
func TestWebhookTimeout(t *testing.T) {
	e, _, _ := newWebhookEnv(t, func(c *config.Config) { c.WebhookTimeout = 300 * time.Millisecond })
	rc := startReceiver(t, func(n int) (int, time.Duration) {
		if n == 1 {
			return 200, 2 * time.Second
		}
		return 200, 0
	})
	id, secret := e.createHook(rc.srv.URL, audit.ItemCreated)
	e.createItem("Slow")
	got := rc.wait(2)
	ds := e.settled(id, 1)
	assert.Equal(t, "succeeded", ds[0].Status)
	assert.Equal(t, 2, ds[0].Attempts, "the timed-out attempt counts")
	assert.Equal(t, got[0].header.Get("webhook-id"), got[1].header.Get("webhook-id"))
	assert.NoError(t, webhook.Verify(secret, got[1].header, got[1].body))
}

// TestWebhookDisabled: an endpoint that fails every attempt of a delivery
// (the schedule shortened) is disabled, with a webhook.disabled audit
// entry by the system and an email to the owner; it receives nothing
// more until it is enabled again, which clears the reason.
func TestWebhookDisabled(t *testing.T) {
	e, box, metrics := newWebhookEnv(t, nil)
	rc := startReceiver(t, func(int) (int, time.Duration) { return 503, 0 })
	id, _ := e.createHook(rc.srv.URL, audit.ItemCreated)
	e.createItem("Doomed")
	ds := e.settled(id, 1)
	assert.Equal(t, "failed", ds[0].Status)
	assert.Equal(t, audit.DefaultMaxAttempts, ds[0].Attempts)
	require.NotNil(t, ds[0].LastError)
	assert.Equal(t, "HTTP 503", *ds[0].LastError)
	assert.Len(t, rc.hooks(), audit.DefaultMaxAttempts)
	sc := gather(t, metrics)
	assert.Equal(t, float64(audit.DefaultMaxAttempts-1), sc.value("tenantctl_webhook_deliveries_total", "outcome", "retrying"))
	assert.Equal(t, 1.0, sc.value("tenantctl_webhook_deliveries_total", "outcome", "failed"))

	path := fmt.Sprintf("/api/webhooks/%d/", id)
	r := e.do(req{method: "GET", host: school1, path: path, bearer: e.demo(school1)})
	require.Equal(t, 200, r.status)
	m := r.json(t)
	assert.Equal(t, false, m["enabled"])
	assert.NotEmpty(t, m["disabled_reason"])
	assert.NotContains(t, m, "secret")

	disabled := e.audits("school1", audit.WebhookDisabled)
	require.Len(t, disabled, 1)
	assert.Equal(t, "system", disabled[0].ActorType)
	assert.Equal(t, "webhooks", disabled[0].ActorName)
	assert.Equal(t, fmt.Sprint(id), disabled[0].TargetID)

	msg := box.wait("demo@school1.com", 1)
	assert.Contains(t, msg.Subject, "Webhook endpoint disabled")
	assert.Contains(t, msg.Text, rc.srv.URL)

	// Disabled: a new event is not even queued for it.
	e.createItem("Unheard")
	time.Sleep(300 * time.Millisecond)
	assert.Len(t, e.deliveries(id), 1)
	assert.Len(t, rc.hooks(), audit.DefaultMaxAttempts)

	r = e.do(req{method: "PATCH", host: school1, path: path, bearer: e.demo(school1), body: map[string]any{"enabled": true}})
	require.Equal(t, 200, r.status, "%s", r.body)
	m = r.json(t)
	assert.Equal(t, true, m["enabled"])
	assert.Nil(t, m["disabled_reason"], "enabling clears the reason")
}

// TestWebhookDisabledByOwner: an endpoint its owner disabled gets no new
// deliveries, and one queued before it was disabled is not sent.
func TestWebhookDisabledByOwner(t *testing.T) {
	e, _, _ := newWebhookEnv(t, nil)
	rc := startReceiver(t, nil)
	id, _ := e.createHook(rc.srv.URL, audit.ItemCreated)
	r := e.do(req{method: "PATCH", host: school1, path: fmt.Sprintf("/api/webhooks/%d/", id), bearer: e.demo(school1), body: map[string]any{"enabled": false}})
	require.Equal(t, 200, r.status)
	e.createItem("Quiet")
	assert.Empty(t, e.deliveries(id), "a disabled endpoint gets no outbox row")
	// A row queued while it was enabled, then disabled: the job skips it.
	e.exec("UPDATE school1.webhook_endpoints SET enabled = true WHERE id = $1", id)
	s, err := db.Pinned(t.Context(), e.db.Pool, db.MustParseSchema("school1"))
	require.NoError(t, err)
	require.NoError(t, db.InTenant(t.Context(), e.db.Pool, s, func(q *tenantdb.Queries) error {
		if err := audit.Record(t.Context(), q, s, audit.Entry{Action: audit.ItemCreated, Actor: audit.System("test"), Target: audit.Of("item", 1)}); err != nil {
			return err
		}
		_, err := q.UpdateWebhookEndpoint(t.Context(), tenantdb.UpdateWebhookEndpointParams{ID: id, Enabled: new(false)})
		return err
	}))
	require.Eventually(t, func() bool {
		return e.count("SELECT count(*) FROM river.river_job WHERE kind = 'webhook.deliver' AND state = 'completed'") == 1
	}, 30*time.Second, 20*time.Millisecond)
	ds := e.deliveries(id)
	require.Len(t, ds, 1)
	assert.Equal(t, "pending", ds[0].Status)
	assert.Zero(t, ds[0].Attempts)
	assert.Empty(t, rc.hooks())
}

// TestWebhookPing: POST /api/webhooks/{id}/test/ queues a webhook.ping for
// that endpoint alone, though it subscribes to other types.
func TestWebhookPing(t *testing.T) {
	e, _, _ := newWebhookEnv(t, nil)
	rc := startReceiver(t, nil)
	other := startReceiver(t, nil)
	id, secret := e.createHook(rc.srv.URL, audit.UserCreated)
	e.createHook(other.srv.URL, audit.UserCreated)
	r := e.do(req{method: "POST", host: school1, path: fmt.Sprintf("/api/webhooks/%d/test/", id), bearer: e.demo(school1)})
	require.Equal(t, 202, r.status, "%s", r.body)
	eventID := r.json(t)["event_id"].(string)
	got := rc.wait(1)
	assert.Equal(t, eventID, got[0].header.Get("webhook-id"))
	assert.NoError(t, webhook.Verify(secret, got[0].header, got[0].body))
	typ, data := got[0].event(t)
	assert.Equal(t, audit.Ping, typ)
	assert.Equal(t, float64(id), data["webhook_id"])
	ds := e.settled(id, 1)
	assert.Equal(t, audit.Ping, ds[0].EventType)
	time.Sleep(200 * time.Millisecond)
	assert.Empty(t, other.hooks(), "the other endpoint gets no ping")

	r = e.do(req{method: "POST", host: school1, path: "/api/webhooks/999999/test/", bearer: e.demo(school1)})
	assert.Equal(t, 404, r.status)
}

// TestWebhookSSRF: with WEBHOOK_ALLOW_PRIVATE off, a delivery to an
// endpoint whose name resolves to a loopback address is refused when it
// connects (the row written directly, as a DNS change after registration
// would leave it), and the API refuses literal private addresses.
func TestWebhookSSRF(t *testing.T) {
	e, _, _ := newWebhookEnv(t, func(c *config.Config) { c.WebhookAllowPrivate = false })
	rc := startReceiver(t, nil)
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
	for _, u := range []string{
		"http://127.0.0.1:" + port + "/", "http://localhost/", "http://api.localhost./x", "http://10.1.2.3/",
		"http://[::1]:8080/", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:192.168.0.1]/", "http://0.0.0.0/",
	} {
		r := e.do(req{method: "POST", host: school1, path: "/api/webhooks/", bearer: e.demo(school1),
			body: map[string]any{"url": u, "event_types": []string{audit.ItemCreated}}})
		require.Equal(t, 400, r.status, "%s: %s", u, r.body)
		assert.Contains(t, r.json(t), "url", u)
	}
	e.exec(`INSERT INTO school1.webhook_endpoints (url, event_types, secret) VALUES ($1, '{item.created}', '\x00')`,
		"http://localhost:"+port+"/")
	id := int64(e.count("SELECT max(id) FROM school1.webhook_endpoints"))
	e.createItem("Probe")
	require.Eventually(t, func() bool {
		ds := e.deliveries(id)
		return len(ds) == 1 && ds[0].Attempts >= 2
	}, 30*time.Second, 20*time.Millisecond)
	ds := e.deliveries(id)
	require.NotNil(t, ds[0].LastError)
	assert.Contains(t, *ds[0].LastError, "refused address")
	assert.Nil(t, ds[0].ResponseCode)
	assert.Empty(t, rc.hooks(), "nothing reached the receiver")
}

// TestWebhooksAPI: validation, 404s, roles, the secret shown once, and
// the audit entries (without the secret).
func TestWebhooksAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"event_types": []string{"item.created"}}, "url"},
		{map[string]any{"url": "ftp://example.com/", "event_types": []string{"item.created"}}, "url"},
		{map[string]any{"url": "/relative", "event_types": []string{"item.created"}}, "url"},
		{map[string]any{"url": "https://example.com/" + strings.Repeat("a", 2000), "event_types": []string{"item.created"}}, "url"},
		{map[string]any{"url": "https://example.com/"}, "event_types"},
		{map[string]any{"url": "https://example.com/", "event_types": []string{}}, "event_types"},
		{map[string]any{"url": "https://example.com/", "event_types": []string{"item.created", "item.exploded"}}, "event_types"},
		{map[string]any{"url": "https://example.com/", "event_types": "item.created"}, "event_types"},
		{map[string]any{"url": "https://example.com/", "event_types": nil}, "event_types"},
		{map[string]any{"url": "https://example.com/", "event_types": []any{1}}, "event_types"},
		{map[string]any{"url": "https://example.com/", "event_types": []string{"auth.signed_in"}}, "event_types"},
		{map[string]any{"url": "https://example.com/", "event_types": []string{"item.created"}, "enabled": "perhaps"}, "enabled"},
	} {
		r := e.do(req{method: "POST", host: school1, path: "/api/webhooks/", bearer: tok, body: c.body})
		require.Equal(t, 400, r.status, "%v: %s", c.body, r.body)
		assert.Contains(t, r.json(t), c.field, "%v", c.body)
	}
	assert.Zero(t, e.count("SELECT count(*) FROM school1.webhook_endpoints"))

	r := e.do(req{method: "POST", host: school1, path: "/api/webhooks/", bearer: tok,
		body: map[string]any{"url": "https://hooks.example.com/in", "event_types": []string{"item.created", "user.invited", "item.created"}}})
	require.Equal(t, 201, r.status, "%s", r.body)
	created := r.json(t)
	id := int64(created["id"].(float64))
	assert.Equal(t, []any{"item.created", "user.invited"}, created["event_types"])
	assert.Equal(t, true, created["enabled"])
	assert.Nil(t, created["disabled_reason"])
	assert.Regexp(t, `^whsec_[A-Za-z0-9+/]{43}=$`, created["secret"])

	r = e.do(req{method: "GET", host: school1, path: "/api/webhooks/", bearer: tok})
	require.Equal(t, 200, r.status)
	list := r.json(t)
	assert.Equal(t, 1.0, list["count"])
	assert.NotContains(t, list["results"].([]any)[0], "secret", "shown once")
	assert.NotContains(t, string(r.body), created["secret"])

	path := fmt.Sprintf("/api/webhooks/%d/", id)
	r = e.do(req{method: "PATCH", host: school1, path: path, bearer: tok, body: map[string]any{"event_types": []string{"item.deleted"}, "enabled": false}})
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, []any{"item.deleted"}, r.json(t)["event_types"])
	assert.Equal(t, false, r.json(t)["enabled"])
	assert.Equal(t, "https://hooks.example.com/in", r.json(t)["url"], "absent fields are kept")
	r = e.do(req{method: "PATCH", host: school1, path: path, bearer: tok, body: map[string]any{"url": "http://127.0.0.1/"}})
	assert.Equal(t, 400, r.status)

	for _, p := range []string{"/api/webhooks/999999/", "/api/webhooks/abc/", "/api/webhooks/999999/deliveries/"} {
		r = e.do(req{method: "GET", host: school1, path: p, bearer: tok})
		assert.Equal(t, 404, r.status, p)
	}
	r = e.do(req{method: "PATCH", host: school1, path: "/api/webhooks/999999/", bearer: tok, body: map[string]any{"enabled": true}})
	assert.Equal(t, 404, r.status)
	r = e.do(req{method: "DELETE", host: school1, path: "/api/webhooks/999999/", bearer: tok})
	assert.Equal(t, 404, r.status)
	// Another tenant's endpoint does not exist here.
	r = e.do(req{method: "GET", host: school2, path: path, bearer: e.demo(school2)})
	assert.Equal(t, 404, r.status)

	// Members may not manage webhooks.
	e.addUser("school1", "mia", "member")
	mia := e.signIn(school1, "mia")
	r = e.do(req{method: "GET", host: school1, path: "/api/webhooks/", bearer: mia})
	assert.Equal(t, 403, r.status)
	r = e.do(req{method: "POST", host: school1, path: "/api/webhooks/", bearer: mia,
		body: map[string]any{"url": "https://x.example.com/", "event_types": []string{"item.created"}}})
	assert.Equal(t, 403, r.status)
	r = e.do(req{method: "POST", host: school1, path: path + "test/", bearer: mia})
	assert.Equal(t, 403, r.status)

	r = e.do(req{method: "DELETE", host: school1, path: path, bearer: tok})
	require.Equal(t, 204, r.status)
	r = e.do(req{method: "GET", host: school1, path: path, bearer: tok})
	assert.Equal(t, 404, r.status)

	for _, action := range []string{audit.WebhookCreated, audit.WebhookUpdated, audit.WebhookDeleted} {
		entries := e.audits("school1", action)
		require.Len(t, entries, 1, action)
		assert.Equal(t, "webhook", entries[0].TargetType)
		assert.Equal(t, fmt.Sprint(id), entries[0].TargetID)
	}
	assert.Equal(t, map[string]map[string]any{"after": {"url": "https://hooks.example.com/in", "event_types": []any{"item.created", "user.invited"}, "enabled": true}},
		e.audits("school1", audit.WebhookCreated)[0].Changes)
	assert.Zero(t, e.count(fmt.Sprintf("SELECT count(*) FROM school1.audit_log WHERE changes::text LIKE '%%%s%%'", strings.TrimPrefix(created["secret"].(string), "whsec_")[:20])),
		"the secret is never in the audit log")
}

// TestWebhookTracing: with tracing on, a delivery continues the trace of
// the request that caused its event: the job's span is the request's
// child, the POST's span the job's, and the receiver gets a traceparent
// of that trace.
func TestWebhookTracing(t *testing.T) {
	var col collector
	cs := httptest.NewServer(&col)
	t.Cleanup(cs.Close)
	e := newEnvOpts(t, func(c *config.Config) {
		tr, err := config.Load(func(k string) string {
			return map[string]string{"APP_ENV": "test", "OTEL_EXPORTER_OTLP_ENDPOINT": cs.URL}[k]
		})
		require.NoError(t, err)
		c.Tracing = tr.Tracing
		c.WebhookAllowPrivate = true
	}, envOpts{telemetry: true})
	q, err := jobs.Open(e.db.Pool, jobs.Options{
		Workers: 2, FetchPollInterval: 20 * time.Millisecond, Telemetry: e.tel,
		Register: []func(*river.Workers, *db.Pool){webhook.Register(webhook.Options{AllowPrivate: true, Telemetry: e.tel})},
	})
	require.NoError(t, err)
	require.NoError(t, q.Start(context.Background()))
	t.Cleanup(func() { _ = q.Stop(5 * time.Second) })
	rc := startReceiver(t, nil)
	e.createHook(rc.srv.URL, audit.ItemCreated)

	const caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	r := e.do(req{method: "POST", host: school1, path: "/api/items/", bearer: e.demo(school1), body: map[string]string{"name": "Traced"},
		header: http.Header{"X-Request-Id": {"hook-1"}, "Traceparent": {caller}}})
	require.Equal(t, 201, r.status, "%s", r.body)
	got := rc.wait(1)
	tp := got[0].header.Get("Traceparent")
	assert.Regexp(t, `^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$`, tp, "the receiver continues the caller's trace")
	require.Eventually(t, func() bool {
		return e.count(`SELECT count(*) FROM river.river_job WHERE kind = 'webhook.deliver' AND state = 'completed'`) == 1
	}, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, q.Stop(5*time.Second))
	e.stop()

	spans := col.all()
	var request, job, post *tracepb.Span
	for _, s := range spans {
		switch {
		case s.Name == "POST /api/items/" && attr(s, "request.id") == "hook-1":
			request = s
		case s.Name == "job webhook.deliver":
			job = s
		case s.Name == "webhook POST":
			post = s
		}
	}
	require.NotNil(t, request)
	require.NotNil(t, job, "the delivery job's span")
	require.NotNil(t, post, "the delivery's request span")
	assert.Equal(t, request.SpanId, job.ParentSpanId)
	assert.Equal(t, job.SpanId, post.ParentSpanId)
	assert.Equal(t, request.TraceId, post.TraceId)
	assert.Equal(t, fmt.Sprintf("%x", post.SpanId), tp[36:52], "the receiver's parent is the POST's span")
}
