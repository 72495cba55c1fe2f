package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/server"
	"github.com/tenantctl/tenantctl/telemetry"
)

// env is one test's running server on its own database, with the demo
// tenants school1 and school2 (user demo / demo123 in each).
type env struct {
	t     testing.TB
	db    *dbtest.DB
	prov  *provision.Service
	srv   *httptest.Server
	cfg   config.Config
	token map[string]string // host -> access token of demo, filled by login
	// tel is the server's telemetry, nil unless envOpts.telemetry.
	tel *telemetry.Telemetry
	// stop closes the server (waiting for its requests) and then stops
	// its telemetry, exporting the spans not sent yet; it may run twice.
	stop func()
}

func testConfig(t testing.TB) config.Config {
	cfg, err := testConfigTB(t)
	require.NoError(t, err)
	return cfg
}

// testConfigTB is the default configuration with APP_ENV=test.
func testConfigTB(testing.TB) (config.Config, error) {
	return config.Load(func(k string) string {
		if k == "APP_ENV" {
			return "test"
		}
		return ""
	})
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the configuration changed by with, if not nil.
func newEnvWith(t testing.TB, with func(*config.Config)) *env {
	t.Helper()
	return newEnvOpts(t, with, envOpts{})
}

// envOpts are what tests of the server's own observability change.
type envOpts struct {
	// log, if not nil, is the server's logger; by default it logs nothing.
	log *slog.Logger
	// telemetry starts the configuration's metrics and tracing
	// (telemetry.Start: METRICS_ADDR, OTEL_*) for the server, as serve does.
	telemetry bool
}

// newEnvOpts is newEnvWith with o.
func newEnvOpts(t testing.TB, with func(*config.Config), o envOpts) *env {
	t.Helper()
	d := dbtest.New(t)
	hasher := password.NewHasher(0)
	prov := provision.New(d.Pool, d.Migrator, hasher)
	_, err := prov.Demo(t.Context())
	require.NoError(t, err)
	cfg := testConfig(t)
	if with != nil {
		with(&cfg)
	}
	cfg.DatabaseURL, cfg.DatabaseDirectURL = d.URL, d.URL
	pool := d.Pool
	if dbtest.ViaBouncer() {
		// The server's requests go through PgBouncer in transaction mode;
		// provisioning and the routing LISTEN stay direct, as in production.
		cfg.DatabaseURL = d.Bouncer(t, dbtest.BouncerOptions{})
		var err error
		pool, err = db.Open(t.Context(), cfg.DatabaseURL, cfg.DBLimits())
		require.NoError(t, err)
		t.Cleanup(pool.Close)
	}
	log := o.log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var tel *telemetry.Telemetry
	if o.telemetry {
		var err error
		tel, err = telemetry.Start(t.Context(), cfg, log, "test")
		require.NoError(t, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := server.New(ctx, cfg, log, pool, hasher, tel)
	srv := httptest.NewServer(h)
	e := &env{t: t, db: d, prov: prov, srv: srv, cfg: cfg, tel: tel, token: map[string]string{}}
	e.stop = func() {
		srv.Close()
		cancel()
		_ = tel.Shutdown(context.Background())
	}
	t.Cleanup(e.stop)
	return e
}

// reply is a response read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// req is one request to send.
type req struct {
	method string
	host   string // Host header, e.g. school1.localhost:8000
	path   string
	body   any // marshalled to JSON unless a string or nil
	ctype  string
	bearer string
	header http.Header
	from   string // the client's IP address (127.0.0.0/8), 127.0.0.1 when empty
}

// do sends rq to the test server and checks the response against the
// OpenAPI document. It fails the test on a transport error, so call it from
// the test's goroutine only; other goroutines use send.
func (e *env) do(rq req) reply {
	e.t.Helper()
	r, raw, ctype, err := e.send(rq)
	require.NoError(e.t, err)
	checkOpenAPI(e.t, rq, raw, ctype, r)
	return r
}

// send sends rq and reads the whole response. It returns its errors instead
// of failing the test, and returns the request body and content type it sent.
func (e *env) send(rq req) (r reply, raw []byte, ctype string, err error) {
	var body io.Reader
	ctype = rq.ctype
	switch b := rq.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		if raw, err = json.Marshal(b); err != nil {
			return r, nil, "", err
		}
		if ctype == "" {
			ctype = "application/json"
		}
	}
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(rq.method, e.srv.URL+rq.path, body)
	if err != nil {
		return r, raw, ctype, err
	}
	hr.Host = rq.host
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	if rq.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+rq.bearer)
	}
	for k, vs := range rq.header {
		hr.Header[k] = vs
	}
	client := http.DefaultClient
	if rq.from != "" {
		client = clientFrom(rq.from)
	}
	resp, err := client.Do(hr)
	if err != nil {
		return r, raw, ctype, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: out}, raw, ctype, err
}

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// checkOpenAPI validates a response against the embedded OpenAPI document.
// Paths are documented with their trailing slash only.
func checkOpenAPI(t testing.TB, rq req, body []byte, ctype string, r reply) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(server.OpenAPI())
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			specErr = err
			return
		}
		specRouter, specErr = gorillamux.NewRouter(doc)
	})
	require.NoError(t, specErr)
	if r.status == http.StatusBadRequest && strings.Contains(string(r.body), "Invalid HTTP_HOST") {
		return // rejected before routing; any path
	}
	if rq.method == http.MethodOptions || strings.HasPrefix(rq.path, "/admin/") || strings.HasPrefix(rq.path, "/accounts/") {
		return // CORS preflight and the HTML admin are not part of the JSON API
	}
	u, err := url.Parse(rq.path)
	require.NoError(t, err)
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	hr, _ := http.NewRequest(rq.method, u.String(), bytes.NewReader(body))
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	route, params, err := specRouter.FindRoute(hr)
	if err != nil {
		// Not a documented operation (unknown path or method): only the
		// generic error shape can be checked.
		require.Contains(t, []int{404, 405}, r.status, "undocumented %s %s answered %d", rq.method, rq.path, r.status)
		require.Contains(t, r.json(t), "detail")
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: hr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: r.status,
		Header: r.header,
		Body:   io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
		},
	}
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), in),
		"%s %s -> %d %s does not match the OpenAPI document", rq.method, rq.path, r.status, r.body)
}

const (
	school1 = "school1.localhost:8000"
	school2 = "school2.localhost:8000"
	public  = "localhost:8000"
)

// login signs demo in on host and returns the token pair.
func (e *env) login(host, username, password string) (access, refresh string) {
	e.t.Helper()
	r := e.do(req{method: "POST", host: host, path: "/api/token/", body: map[string]string{"username": username, "password": password}})
	require.Equal(e.t, 200, r.status, "login: %s", r.body)
	m := r.json(e.t)
	return m["access"].(string), m["refresh"].(string)
}

// demo returns demo's access token on host, signing in once.
func (e *env) demo(host string) string {
	if tok, ok := e.token[host]; ok {
		return tok
	}
	a, _ := e.login(host, "demo", demoPassword(host))
	e.token[host] = a
	return a
}

var (
	clientsMu sync.Mutex
	clients   = map[string]*http.Client{}
)

// clientFrom returns an HTTP client whose connections come from ip, one of
// the loopback addresses, so that the server sees another client address.
func clientFrom(ip string) *http.Client {
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c, ok := clients[ip]; ok {
		return c
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}}
	clients[ip] = c
	return c
}

// exec runs SQL against the test database.
func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	_, err := e.db.Pool.Exec(context.Background(), sql, args...)
	require.NoError(e.t, err)
}

// count runs a counting query against the test database.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}
