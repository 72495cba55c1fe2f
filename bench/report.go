package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Results is everything one run measured; the JSON file holds it as is.
type Results struct {
	Command   string    `json:"command"`
	StartedAt time.Time `json:"started_at"`
	Machine   Machine   `json:"machine"`
	Settings  Settings  `json:"settings"`
	// TenantCreate is the latency of tenant create (admin user and its
	// argon2id hash included) over the tenants created one at a time.
	TenantCreate LatencySample `json:"tenant_create"`
	Runs         []CountResult `json:"runs"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	PostgreSQL string `json:"postgresql"`
	// LoadAvg1m is the 1-minute load average when the run started: the
	// benchmark shares the machine with whatever else runs on it.
	LoadAvg1m float64 `json:"load_avg_1m_at_start"`
}

// Settings are the run's parameters.
type Settings struct {
	// Target is "plain" or "citus" (-target).
	Target      string  `json:"target"`
	Concurrency int     `json:"concurrency"`
	DurationS   float64 `json:"duration_s"`
	WarmupS     float64 `json:"warmup_s"`
	// WarmupPerTenantMs is added to WarmupS for every tenant measured.
	WarmupPerTenantMs float64 `json:"warmup_per_tenant_ms"`
	// WarmupMaxS caps the warm-up of each load.
	WarmupMaxS    float64 `json:"warmup_max_s"`
	Items         int     `json:"items_per_tenant"`
	ProvisionJobs int     `json:"provision_jobs"`
	MigrateJobs   int     `json:"migrate_jobs"`
	// Distributions pick each request's tenant (-distribution); every load
	// scenario ran under each.
	Distributions []Distribution `json:"distributions"`
	// BulkSetup: the tenants after the latency sample were made by the
	// bench's fast path (bench/bulk.go), not by tenant create.
	BulkSetup      bool    `json:"bulk_setup"`
	HotTenantShare float64 `json:"hot_tenant_share"`
	ChurnRatePerS  float64 `json:"churn_rate_per_s"`
	FloodShare     float64 `json:"flood_share"`
	// IsolationLoad is -isolation-load (Config.IsolationLoad).
	IsolationLoad float64 `json:"isolation_load"`
	// ServerEnv are the server's extra settings (-server-env).
	ServerEnv []string `json:"server_env,omitempty"`
	// PoolMaxConns is the pool size of the server and of the ceiling.
	PoolMaxConns int32 `json:"pool_max_conns"`
}

// LatencySample summarises a set of latencies.
type LatencySample struct {
	N      int     `json:"n"`
	P50Ms  float64 `json:"p50_ms"`
	P95Ms  float64 `json:"p95_ms"`
	MeanMs float64 `json:"mean_ms"`
}

// CountResult is the measurements at one tenant count.
type CountResult struct {
	Tenants   int       `json:"tenants"`
	Provision Provision `json:"provision"`
	// TenantCreate times tenant create (the real path) with these tenants
	// present, the sample's tenants deleted afterwards.
	TenantCreate LatencySample `json:"tenant_create"`
	// TokensS is how long signing in the new tenants' admins took.
	TokensS   float64      `json:"tokens_s"`
	Scenarios []Scenario   `json:"scenarios"`
	Migrate   MigrateTimes `json:"migrate"`
	Memory    Memory       `json:"backend_memory"`
	// Connections are those opened while the server ran.
	Connections Connections `json:"connections_opened"`
	// Isolation are the hot-tenant, churn and flood scenarios.
	Isolation []Isolation `json:"isolation,omitempty"`
	HostCache HostCache   `json:"host_cache"`
	Disk      Disk        `json:"disk"`
}

// Disk is the benchmark database's size: after setup (provisioned, seeded,
// vacuumed) and after the migrate timings' one migration and its undo.
type Disk struct {
	AfterSetupBytes            int64 `json:"after_setup_bytes"`
	AfterMigrateBytes          int64 `json:"after_migrate_bytes"`
	PerTenantAfterSetupBytes   int64 `json:"per_tenant_after_setup_bytes"`
	PerTenantAfterMigrateBytes int64 `json:"per_tenant_after_migrate_bytes"`
}

// perTenant divides the sizes by the n tenants.
func (d *Disk) perTenant(n int) {
	d.PerTenantAfterSetupBytes = d.AfterSetupBytes / int64(n)
	d.PerTenantAfterMigrateBytes = d.AfterMigrateBytes / int64(n)
}

// Provision is the provisioning of the tenants new at this count.
type Provision struct {
	New int `json:"new"`
	// Serial of them were created one at a time (the latency sample), the
	// rest Jobs at a time.
	Serial    int     `json:"serial"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	Jobs      int     `json:"jobs"`
	// Bulk: the tenants after the serial ones came from the bench's bulk
	// path (seeding included), not from tenant create.
	Bulk bool `json:"bulk"`
}

// Scenario is one endpoint over HTTP and its ceiling.
type Scenario struct {
	Name string `json:"name"`
	// Distribution picked each request's tenant ("uniform", "zipf 1.1");
	// empty for signup, which makes its own tenants.
	Distribution string `json:"distribution,omitempty"`
	HTTP         Stats  `json:"http"`
	Ceiling      Stats  `json:"ceiling"`
	// Fraction is HTTP throughput over ceiling throughput.
	Fraction float64 `json:"http_fraction_of_ceiling"`
	Note     string  `json:"note,omitempty"`
	// Hash is the signup scenario's password hash cost (signup.go).
	Hash *SignupHash `json:"hash,omitempty"`
}

// Stats are one load's results over its measured window.
type Stats struct {
	Requests int     `json:"requests"`
	RPS      float64 `json:"rps"`
	P50Ms    float64 `json:"p50_ms"`
	P95Ms    float64 `json:"p95_ms"`
	P99Ms    float64 `json:"p99_ms"`
	// Errors counts the requests that failed: a non-2xx status, or a
	// transport or SQL error. Failures breaks them down by status (or
	// "error"); FirstFailure describes one.
	Errors int `json:"errors"`
	// Rejected counts 503 answers (the per-tenant cap refusing work it
	// could not start soon): neither in Requests nor in the latencies.
	Rejected     int            `json:"rejected_503,omitempty"`
	Failures     map[string]int `json:"failures,omitempty"`
	FirstFailure string         `json:"first_failure,omitempty"`
}

// MigrateTimes are tenant migrations over every tenant of the count.
type MigrateTimes struct {
	Jobs            int     `json:"jobs"`
	NothingPendingS float64 `json:"nothing_pending_s"`
	OnePendingS     float64 `json:"one_pending_s"`
	// UndoS is reverting the pending migration afterwards (not a product
	// operation; shown for scale).
	UndoS float64 `json:"undo_s"`
}

// Memory is the PostgreSQL backends' private memory after the load.
type Memory struct {
	Server  Backends `json:"server"`
	Ceiling Backends `json:"ceiling"`
	Error   string   `json:"error,omitempty"`
}

// Connections counts the connections opened to the database.
type Connections struct {
	// Server is the server's: its pool and its LISTEN connection.
	Server  int64 `json:"server"`
	Ceiling int64 `json:"ceiling"`
}

// Backends sums the RssAnon of a set of backends.
type Backends struct {
	Count          int   `json:"count"`
	MaxRSSAnonKB   int64 `json:"max_rss_anon_kb"`
	TotalRSSAnonKB int64 `json:"total_rss_anon_kb"`
}

// percentile returns the p-th percentile (nearest rank) of sorted, or 0 for
// no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	k := int(math.Ceil(p / 100 * float64(n)))
	return sorted[min(max(k, 1), n)-1]
}

// summarize turns one load's latencies (every request completed in the
// window, failed or not) into Stats.
func summarize(latencies []time.Duration, window time.Duration, failures map[string]int, first string) Stats {
	lat := slices.Clone(latencies)
	slices.Sort(lat)
	s := Stats{
		Requests: len(lat), RPS: round3(float64(len(lat)) / window.Seconds()),
		P50Ms: ms(percentile(lat, 50)), P95Ms: ms(percentile(lat, 95)), P99Ms: ms(percentile(lat, 99)),
		Failures: failures, FirstFailure: first,
	}
	for _, n := range failures {
		s.Errors += n
	}
	return s
}

// latencySample summarises latencies (in any order).
func latencySample(latencies []time.Duration) LatencySample {
	lat := slices.Clone(latencies)
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	ls := LatencySample{N: len(lat), P50Ms: ms(percentile(lat, 50)), P95Ms: ms(percentile(lat, 95))}
	if len(lat) > 0 {
		ls.MeanMs = ms(sum / time.Duration(len(lat)))
	}
	return ls
}

// newScenario pairs a scenario's HTTP and ceiling results.
func newScenario(sc scenario, h, c Stats) Scenario {
	s := Scenario{Name: sc.name, HTTP: h, Ceiling: c, Note: sc.note}
	if c.RPS > 0 {
		s.Fraction = round3(h.RPS / c.RPS)
	}
	return s
}

// failedRequests counts the failed requests of the whole run.
func (r *Results) failedRequests() int {
	n := 0
	for _, run := range r.Runs {
		for _, s := range run.Scenarios {
			n += s.HTTP.Errors + s.Ceiling.Errors
		}
		for _, iso := range run.Isolation {
			n += iso.Without.Errors + iso.With.Errors
			for _, s := range []*Stats{iso.Hot, iso.Unknown} {
				if s != nil {
					n += s.Errors
				}
			}
		}
	}
	return n
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

// round3 rounds to three decimals, which is all a report needs.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// mib converts kB to MiB.
func mib(kb int64) float64 { return float64(kb) / 1024 }

// printRun writes one tenant count's table.
func printRun(w io.Writer, run CountResult, poolMaxConns int32) {
	fmt.Fprintf(w, "\n== %d tenants ==\n", run.Tenants)
	if p := run.Provision; p.New > 0 {
		how := "tenant create"
		if p.Bulk {
			how = "the bench's bulk path, seeding included"
		}
		fmt.Fprintf(w, "provisioned %d new tenants in %.1f s (%.1f/s; %d one at a time by tenant create, the rest %d at a time by %s); signed in admins over HTTP in %.1f s\n",
			p.New, p.Seconds, p.PerSecond, p.Serial, p.Jobs, how, run.TokensS)
	}
	fmt.Fprintf(w, "%-26s | %10s %8s %8s %8s %6s %5s | %10s %8s %8s %8s %6s | %s\n",
		"scenario", "HTTP req/s", "p50 ms", "p95 ms", "p99 ms", "fail", "503", "ceil req/s", "p50 ms", "p95 ms", "p99 ms", "fail", "HTTP/ceiling")
	for _, s := range run.Scenarios {
		note := ""
		if s.Note != "" {
			note = "  (" + s.Note + ")"
		}
		fmt.Fprintf(w, "%-26s | %10.1f %8.2f %8.2f %8.2f %6d %5d | %10.1f %8.2f %8.2f %8.2f %6d | %5.1f%%%s\n",
			s.label(), s.HTTP.RPS, s.HTTP.P50Ms, s.HTTP.P95Ms, s.HTTP.P99Ms, s.HTTP.Errors, s.HTTP.Rejected,
			s.Ceiling.RPS, s.Ceiling.P50Ms, s.Ceiling.P95Ms, s.Ceiling.P99Ms, s.Ceiling.Errors, 100*s.Fraction, note)
	}
	for _, s := range run.Scenarios {
		printFailures(w, s.label()+" HTTP", s.HTTP)
		printFailures(w, s.label()+" ceiling", s.Ceiling)
	}
	printIsolation(w, run)
	hc := run.HostCache
	fmt.Fprintf(w, "server process with every tenant's host requested once (%d hosts, %.1f s): VmRSS %.1f MiB started for it, %.1f MiB after the load (its verified tokens included)\n",
		hc.Hosts, hc.Seconds, mib(hc.VmRSSKB), mib(hc.LoadedVmRSSKB))
	if hc.Error != "" {
		fmt.Fprintf(w, "server memory unknown: %s\n", hc.Error)
	}
	d := run.Disk
	fmt.Fprintf(w, "disk: %.0f MiB after setup (%.1f KiB per tenant), %.0f MiB after one migration and its undo (%.1f KiB per tenant)\n",
		float64(d.AfterSetupBytes)/(1<<20), float64(d.PerTenantAfterSetupBytes)/1024, float64(d.AfterMigrateBytes)/(1<<20), float64(d.PerTenantAfterMigrateBytes)/1024)
	m := run.Migrate
	fmt.Fprintf(w, "migrate (%d jobs): nothing pending %.2f s, one pending migration %.2f s (undoing it: %.2f s)\n",
		m.Jobs, m.NothingPendingS, m.OnePendingS, m.UndoS)
	mem := run.Memory
	fmt.Fprintf(w, "backend memory (RssAnon): server %d backends, max %.1f MiB, total %.1f MiB; ceiling %d backends, max %.1f MiB, total %.1f MiB\n",
		mem.Server.Count, mib(mem.Server.MaxRSSAnonKB), mib(mem.Server.TotalRSSAnonKB),
		mem.Ceiling.Count, mib(mem.Ceiling.MaxRSSAnonKB), mib(mem.Ceiling.TotalRSSAnonKB))
	fmt.Fprintf(w, "connections opened while the server ran: server %d, ceiling %d (a pool that never reconnects: %d + 1 LISTEN, and %d)\n",
		run.Connections.Server, run.Connections.Ceiling, poolMaxConns, poolMaxConns)
	if mem.Error != "" {
		fmt.Fprintf(w, "backend memory incomplete: %s\n", mem.Error)
	}
}

// label names a scenario with its distribution.
func (s Scenario) label() string {
	if s.Distribution == "" {
		return s.Name
	}
	return s.Name + " (" + s.Distribution + ")"
}

// printIsolation writes the isolation scenarios of one tenant count.
func printIsolation(w io.Writer, run CountResult) {
	for _, iso := range run.Isolation {
		fmt.Fprintf(w, "%-10s (%s): reads p50/p99 %.2f/%.2f ms without, %.2f/%.2f ms with: p99 %.2fx; %s\n",
			iso.Name, iso.Distribution, iso.Without.P50Ms, iso.Without.P99Ms, iso.With.P50Ms, iso.With.P99Ms, iso.P99Ratio, iso.Note)
		if h := iso.Hot; h != nil {
			fmt.Fprintf(w, "%-10s (%s): hot tenant %.1f req/s, p50/p99 %.2f/%.2f ms, %d answered 503\n",
				iso.Name, iso.Distribution, h.RPS, h.P50Ms, h.P99Ms, h.Rejected)
		}
		if u := iso.Unknown; u != nil {
			fmt.Fprintf(w, "%-10s (%s): unknown hosts %.1f req/s, p50/p99 %.2f/%.2f ms\n", iso.Name, iso.Distribution, u.RPS, u.P50Ms, u.P99Ms)
		}
		printFailures(w, iso.Name+" ("+iso.Distribution+") without", iso.Without)
		printFailures(w, iso.Name+" ("+iso.Distribution+") with", iso.With)
		for _, s := range []*Stats{iso.Hot, iso.Unknown} {
			if s != nil {
				printFailures(w, iso.Name+" ("+iso.Distribution+") hot tenant or unknown hosts", *s)
			}
		}
	}
}

// printFailures writes a prominent line for a load that had failed requests.
func printFailures(w io.Writer, what string, s Stats) {
	if s.Errors == 0 {
		return
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Failures)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, s.Failures[k]))
	}
	fmt.Fprintf(w, "!! FAILED: %s: %d of %d requests (%s); first: %s\n", what, s.Errors, s.Requests, strings.Join(parts, ", "), s.FirstFailure)
}

// printSummary writes the comparison across tenant counts.
func printSummary(w io.Writer, res *Results) {
	if len(res.Runs) == 0 {
		return
	}
	base := res.Runs[0]
	target := "PostgreSQL"
	if res.Settings.Target == "citus" {
		target = "Citus (coordinator + workers on this machine), PostgreSQL"
	}
	fmt.Fprintf(w, "\n== summary (%d CPUs, load average %.2f at start, %s %s, %s; concurrency %d, %gs per load after %gs + %gms per tenant (at most %gs) of warm-up, pool %d connections) ==\n",
		res.Machine.CPUs, res.Machine.LoadAvg1m, target, res.Machine.PostgreSQL, res.Machine.Go, res.Settings.Concurrency, res.Settings.DurationS,
		res.Settings.WarmupS, res.Settings.WarmupPerTenantMs, res.Settings.WarmupMaxS, res.Settings.PoolMaxConns)
	if res.Machine.LoadAvg1m >= 1 {
		fmt.Fprintf(w, "!! the machine was busy when the run started (load average %.2f): other work competed for the CPUs, rerun on an idle machine for clean numbers\n",
			res.Machine.LoadAvg1m)
	}
	tc := res.TenantCreate
	fmt.Fprintf(w, "tenant create (admin user and argon2id hash included), the first %d created one at a time: p50 %.1f ms, p95 %.1f ms, mean %.1f ms\n",
		tc.N, tc.P50Ms, tc.P95Ms, tc.MeanMs)
	for _, run := range res.Runs {
		if c := run.TenantCreate; c.N > 0 {
			fmt.Fprintf(w, "tenant create with %d tenants present, %d one at a time: p50 %.1f ms, p95 %.1f ms, mean %.1f ms\n",
				run.Tenants, c.N, c.P50Ms, c.P95Ms, c.MeanMs)
		}
	}
	fmt.Fprintf(w, "%-26s %7s | %10s %8s %8s | %10s %8s | %12s | %s %s %s\n", "scenario", "tenants", "HTTP req/s", "p50 ms", "p99 ms",
		"ceil req/s", "p99 ms", "HTTP/ceiling", fmt.Sprintf("req/s vs %d", base.Tenants), fmt.Sprintf("p99 vs %d", base.Tenants),
		fmt.Sprintf("ceiling vs %d", base.Tenants))
	for _, s0 := range base.Scenarios {
		for _, run := range res.Runs {
			s, ok := run.scenario(s0.Name, s0.Distribution)
			if !ok {
				continue
			}
			fmt.Fprintf(w, "%-26s %7d | %10.1f %8.2f %8.2f | %10.1f %8.2f | %11.1f%% | %11s %10s %13s\n", s.label(), run.Tenants,
				s.HTTP.RPS, s.HTTP.P50Ms, s.HTTP.P99Ms, s.Ceiling.RPS, s.Ceiling.P99Ms, 100*s.Fraction,
				ratio(s.HTTP.RPS, s0.HTTP.RPS), ratio(s.HTTP.P99Ms, s0.HTTP.P99Ms), ratio(s.Ceiling.RPS, s0.Ceiling.RPS))
		}
	}
	if hasIsolation(res) {
		fmt.Fprintf(w, "%-26s %7s | %16s | %16s | %s\n", "isolation (items-list)", "tenants", "p99 without (ms)", "p99 with (ms)", "with/without")
		for _, run := range res.Runs {
			for _, iso := range run.Isolation {
				fmt.Fprintf(w, "%-26s %7d | %16.2f | %16.2f | %11.2fx\n", iso.Name+" ("+iso.Distribution+")", run.Tenants,
					iso.Without.P99Ms, iso.With.P99Ms, iso.P99Ratio)
			}
		}
	}
	fmt.Fprintf(w, "%-8s | %-12s | %-12s | %-36s | %-11s | %-14s | %s\n", "tenants", "migrate: none", "one pending",
		"server backends: n, max / total RssAnon", "connections", "server VmRSS", "disk per tenant: setup / after migrate")
	for _, run := range res.Runs {
		m := run.Memory.Server
		fmt.Fprintf(w, "%8d | %10.2f s | %10.2f s | %36s | %11d | %10.1f MiB | %.1f / %.1f KiB\n", run.Tenants, run.Migrate.NothingPendingS,
			run.Migrate.OnePendingS, fmt.Sprintf("%d, %.1f / %.1f MiB", m.Count, mib(m.MaxRSSAnonKB), mib(m.TotalRSSAnonKB)),
			run.Connections.Server, mib(run.HostCache.VmRSSKB),
			float64(run.Disk.PerTenantAfterSetupBytes)/1024, float64(run.Disk.PerTenantAfterMigrateBytes)/1024)
	}
	if n := res.failedRequests(); n > 0 {
		fmt.Fprintf(w, "\n!! %d MEASURED REQUESTS FAILED: see the FAILED lines above; these results are not valid\n", n)
	}
}

// scenario returns the run's scenario of that name and distribution.
func (run CountResult) scenario(name, distribution string) (Scenario, bool) {
	for _, s := range run.Scenarios {
		if s.Name == name && s.Distribution == distribution {
			return s, true
		}
	}
	return Scenario{}, false
}

func hasIsolation(res *Results) bool {
	for _, run := range res.Runs {
		if len(run.Isolation) > 0 {
			return true
		}
	}
	return false
}

// ratio formats v relative to base, or "-" without a base.
func ratio(v, base float64) string {
	if base == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v/base)
}

// writeResults writes res as JSON to path and its chart next to it (same
// name, .svg), and returns the chart's path.
func writeResults(path string, res *Results) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	b, err := renderJSON(res)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", err
	}
	svgPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".svg"
	return svgPath, os.WriteFile(svgPath, renderSVG(res), 0o644)
}

// renderJSON is the results file: indented, with a final newline.
func renderJSON(res *Results) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	err := enc.Encode(res)
	return buf.Bytes(), err
}
