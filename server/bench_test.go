package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/tenantctl/tenantctl/config"
)

// BenchmarkProfileRequest measures a whole authenticated GET /api/profile/
// (HTTP client, server, one tenant transaction) in process, for profiling
// the server's own share: go test -bench ProfileRequest -cpuprofile cpu.out ./server/
//
// Each runs with telemetry off, with metrics on (METRICS_ADDR), and with
// metrics and tracing on (every request sampled, spans exported to a
// collector in the process that discards them), to measure what each costs.
func BenchmarkProfileRequest(b *testing.B) {
	benchmarkTelemetry(b, func(b *testing.B, e *env) { benchmarkGET(b, e, "/api/profile/") })
}

// BenchmarkListItemsRequest is BenchmarkProfileRequest for GET /api/items/:
// a full first page of 20 items, written by demo so that every item carries
// its creator's username.
func BenchmarkListItemsRequest(b *testing.B) {
	benchmarkTelemetry(b, func(b *testing.B, e *env) {
		e.exec(`INSERT INTO school1.items (name, description, created_by, created_at)
			SELECT 'item ' || g, 'description of item ' || g, u.id, now() - make_interval(secs => 100 - g)
			FROM generate_series(1, 20) g, school1.users u WHERE u.username = 'demo'`)
		benchmarkGET(b, e, "/api/items/")
	})
}

// BenchmarkProfileAuth compares the two credentials of the tenant API on
// GET /api/profile/, telemetry off: an access token (verified in process,
// then its user read) and an API key (its row and its creator's read in
// one statement): go test -bench ProfileAuth -benchtime=2s ./server/
func BenchmarkProfileAuth(b *testing.B) {
	e := newEnv(b)
	b.Run("jwt", func(b *testing.B) { benchmarkGETAs(b, e, "/api/profile/", "Bearer "+e.demo(school1)) })
	r := e.do(req{method: "POST", host: school1, path: "/api/api-keys/", bearer: e.demo(school1),
		body: map[string]string{"name": "bench", "scope": "read"}})
	if r.status != 201 {
		b.Fatalf("create key: %d %s", r.status, r.body)
	}
	key := r.json(b)["key"].(string)
	b.Run("api-key", func(b *testing.B) { benchmarkGETAs(b, e, "/api/profile/", "Api-Key "+key) })
}

// benchmarkTelemetry runs bench in sub-benchmarks off, metrics and
// metrics+tracing.
func benchmarkTelemetry(b *testing.B, bench func(b *testing.B, e *env)) {
	discard := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(discard.Close)
	for _, c := range []struct {
		name string
		with func(*config.Config)
	}{
		{"off", nil},
		{"metrics", func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" }},
		{"metrics+tracing", func(c *config.Config) {
			c.MetricsAddr = "127.0.0.1:0"
			c.Tracing = config.Tracing{Endpoint: discard.URL + "/v1/traces", ServiceName: "bench", Sampler: "always_on"}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			bench(b, newEnvOpts(b, c.with, envOpts{telemetry: c.with != nil}))
		})
	}
}

// benchmarkGET sends authenticated GETs of path on school1 from parallel
// clients, each expecting 200. Besides ns/op it reports cpu-ns/op, the CPU
// time of this process (client and server, not PostgreSQL) per request,
// which other load on the machine disturbs far less than wall time.
func benchmarkGET(b *testing.B, e *env, path string) {
	benchmarkGETAs(b, e, path, "Bearer "+e.demo(school1))
}

// benchmarkGETAs is benchmarkGET with authorization as the Authorization
// header.
func benchmarkGETAs(b *testing.B, e *env, path, authorization string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	cpu0 := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rq, _ := http.NewRequest("GET", e.srv.URL+path, nil)
			rq.Host = school1
			rq.Header.Set("Authorization", authorization)
			resp, err := client.Do(rq)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body) // so the connection is reused
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
