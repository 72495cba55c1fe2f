package bench

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	seq := func(n int) []time.Duration {
		var out []time.Duration
		for i := 1; i <= n; i++ {
			out = append(out, time.Duration(i)*time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"Empty", nil, 50, 0},
		{"One", seq(1), 99, time.Millisecond},
		{"P50Of100", seq(100), 50, 50 * time.Millisecond},
		{"P95Of100", seq(100), 95, 95 * time.Millisecond},
		{"P99Of100", seq(100), 99, 99 * time.Millisecond},
		{"P99Of10IsTheMax", seq(10), 99, 10 * time.Millisecond},
		{"P50Of10", seq(10), 50, 5 * time.Millisecond},
		{"P0IsTheMin", seq(10), 0, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, percentile(tc.sorted, tc.p))
		})
	}
}

func TestSummarize(t *testing.T) {
	lat := []time.Duration{4 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	s := summarize(lat, 2*time.Second, map[string]int{"500": 1, "error": 2}, "GET /api/items/ on t1.localhost: 500")
	assert.Equal(t, 4, s.Requests)
	assert.Equal(t, 2.0, s.RPS)
	assert.Equal(t, 2.0, s.P50Ms)
	assert.Equal(t, 4.0, s.P99Ms)
	assert.Equal(t, 3, s.Errors)
	assert.Equal(t, time.Duration(4)*time.Millisecond, lat[0], "the caller's slice is not reordered")
}

func TestLatencySample(t *testing.T) {
	ls := latencySample([]time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 200 * time.Millisecond})
	assert.Equal(t, LatencySample{N: 3, P50Ms: 200, P95Ms: 300, MeanMs: 200}, ls)
	assert.Equal(t, LatencySample{}, latencySample(nil))
}

func TestParseRSSAnon(t *testing.T) {
	for _, tc := range []struct {
		line string
		kb   int64
		ok   bool
	}{
		{"RssAnon:\t    5432 kB", 5432, true},
		{"RssFile:\t    5432 kB", 0, false},
		{"RssAnon:\t    5432", 0, false},
		{"RssAnon: x kB", 0, false},
	} {
		kb, ok := parseStatusKB(tc.line, "RssAnon")
		assert.Equal(t, tc.kb, kb, tc.line)
		assert.Equal(t, tc.ok, ok, tc.line)
	}
}

func TestParseCounts(t *testing.T) {
	got, err := parseCounts("1000, 1,100,1")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 100, 1000}, got)
	for _, bad := range []string{"", "0", "1,x", "-5"} {
		_, err := parseCounts(bad)
		assert.Error(t, err, bad)
	}
}

func TestCheckLoopback(t *testing.T) {
	assert.NoError(t, checkLoopback("postgres://postgres@127.0.0.1:5432/postgres"))
	assert.NoError(t, checkLoopback("postgres://localhost/postgres"))
	assert.NoError(t, checkLoopback("postgresql://[::1]:5432/postgres"))
	assert.Error(t, checkLoopback("postgres://db.example.com/postgres"))
	assert.Error(t, checkLoopback("mysql://127.0.0.1/x"))
}

// TestParseTarget: -target citus points the run at the cluster of
// scripts/citus-cluster.sh unless -db and -citus-workers name another, and
// anything else is refused.
func TestParseTarget(t *testing.T) {
	env := func(string) string { return "" }
	c, err := parseConfig(nil, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "plain", c.Target)
	assert.Equal(t, defaultServerURL, c.ServerURL)
	assert.Empty(t, c.CitusWorkers)

	c, err = parseConfig([]string{"-target", "citus"}, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, defaultCitusURL, c.ServerURL)
	assert.Equal(t, []string{"127.0.0.1:25433", "127.0.0.1:25434"}, c.CitusWorkers)

	c, err = parseConfig([]string{"-target", "citus", "-db", "postgres://postgres@127.0.0.1:6000/postgres", "-citus-workers", "127.0.0.1:6001"}, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "postgres://postgres@127.0.0.1:6000/postgres", c.ServerURL)
	assert.Equal(t, []string{"127.0.0.1:6001"}, c.CitusWorkers)

	_, err = parseConfig([]string{"-target", "mysql"}, env, io.Discard)
	assert.ErrorContains(t, err, `-target: "mysql" is neither plain nor citus`)
	_, err = parseConfig([]string{"-target", "citus", "-citus-workers", " , "}, env, io.Discard)
	assert.ErrorContains(t, err, "-citus-workers")
}

func TestCommandLine(t *testing.T) {
	assert.Equal(t, "go run ./cmd/bench -tenants 1,10 -duration 2s", commandLine([]string{"-tenants", "1,10", "-duration", "2s"}))
	assert.Equal(t, `go run ./cmd/bench -out 'my results/x.json' -db 'it'\''s'`, commandLine([]string{"-out", "my results/x.json", "-db", "it's"}))
}

// fixedResults is a tiny run: two tenant counts, two scenarios.
func fixedResults() *Results {
	stats := func(rps, p99 float64) Stats {
		return Stats{Requests: int(rps * 2), RPS: rps, P50Ms: p99 / 3, P95Ms: p99 / 2, P99Ms: p99}
	}
	run := func(n int, f float64) CountResult {
		return CountResult{
			Tenants:   n,
			Provision: Provision{New: n, Seconds: 1.5, PerSecond: float64(n) / 1.5, Jobs: 4},
			Scenarios: []Scenario{
				newScenario(scenario{name: "items-list"}, stats(1000*f, 20), stats(2000, 10)),
				newScenario(scenario{name: "token", note: "argon2id"}, stats(40, 900), stats(3000, 8)),
			},
			Migrate:   MigrateTimes{Jobs: 4, NothingPendingS: 0.2, OnePendingS: 1.1, UndoS: 0.1},
			Memory:    Memory{Server: Backends{Count: 5, MaxRSSAnonKB: 4096, TotalRSSAnonKB: 12288}},
			HostCache: HostCache{Hosts: n, Seconds: 0.5, VmRSSKB: 51200, LoadedVmRSSKB: 61440},
			Disk:      Disk{AfterSetupBytes: int64(n) << 18, AfterMigrateBytes: int64(n) << 19},
		}
	}
	one, hundred := run(1, 1), run(100, 0.9)
	one.Disk.perTenant(1)
	hundred.Disk.perTenant(100)
	zipf := newScenario(scenario{name: "items-list"}, stats(1100, 18), stats(2100, 9))
	zipf.Distribution = "zipf 1.1"
	one.Scenarios = append(one.Scenarios, zipf)
	zipf.HTTP.RPS = 880
	hundred.Scenarios = append(hundred.Scenarios, zipf)
	hot := stats(300, 40)
	hot.Rejected = 12
	iso := newIsolation(hotTenantScenario, Distribution{Name: "zipf", Exponent: 1.1}, stats(500, 10), stats(450, 15))
	iso.Hot, iso.Share = &hot, 0.5
	hundred.Isolation = []Isolation{iso}
	hundred.TenantCreate = LatencySample{N: 20, P50Ms: 61.3, P95Ms: 100.1, MeanMs: 68.7}
	return &Results{
		Command:   "go run ./cmd/bench -tenants 1,100",
		StartedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Machine:   Machine{CPUs: 2, GOMAXPROCS: 2, Go: "go1.26", OS: "linux", Arch: "amd64", PostgreSQL: "15.20"},
		Settings: Settings{Concurrency: 32, DurationS: 5, WarmupS: 1, Items: 50, ProvisionJobs: 4, MigrateJobs: 4, PoolMaxConns: 4,
			Distributions: []Distribution{{Name: "uniform"}, {Name: "zipf", Exponent: 1.1}}},
		TenantCreate: LatencySample{N: 2, P50Ms: 90, P95Ms: 120, MeanMs: 105},
		Runs:         []CountResult{one, hundred},
	}
}

func TestRenderJSON(t *testing.T) {
	b, err := renderJSON(fixedResults())
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(b), "}\n"))

	var doc struct {
		Command string `json:"command"`
		Runs    []struct {
			Tenants   int `json:"tenants"`
			Scenarios []struct {
				Name     string             `json:"name"`
				HTTP     map[string]float64 `json:"http"`
				Fraction float64            `json:"http_fraction_of_ceiling"`
				Note     string             `json:"note"`
			} `json:"scenarios"`
			Memory struct {
				Server map[string]int64 `json:"server"`
			} `json:"backend_memory"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.Equal(t, "go run ./cmd/bench -tenants 1,100", doc.Command)
	require.Len(t, doc.Runs, 2)
	assert.Equal(t, 100, doc.Runs[1].Tenants)
	s := doc.Runs[1].Scenarios[0]
	assert.Equal(t, "items-list", s.Name)
	assert.Equal(t, 0.45, s.Fraction)
	assert.Equal(t, map[string]float64{"requests": 1800, "rps": 900, "p50_ms": 20.0 / 3, "p95_ms": 10, "p99_ms": 20, "errors": 0}, s.HTTP)
	assert.Equal(t, "argon2id", doc.Runs[0].Scenarios[1].Note)
	assert.Equal(t, int64(4096), doc.Runs[0].Memory.Server["max_rss_anon_kb"])
	assert.NotContains(t, string(b), "failures", "no failure fields without failures")

	var named struct {
		Settings struct {
			Distributions []map[string]any `json:"distributions"`
		} `json:"settings"`
		Runs []struct {
			Scenarios []struct {
				Distribution string `json:"distribution"`
			} `json:"scenarios"`
			Isolation []struct {
				Name     string             `json:"name"`
				P99Ratio float64            `json:"p99_ratio"`
				Hot      map[string]float64 `json:"hot"`
			} `json:"isolation"`
			Disk map[string]int64 `json:"disk"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(b, &named))
	assert.Equal(t, []map[string]any{{"name": "uniform"}, {"name": "zipf", "zipf_exponent": 1.1}}, named.Settings.Distributions)
	assert.Equal(t, "zipf 1.1", named.Runs[1].Scenarios[2].Distribution, "every result names its distribution")
	require.Len(t, named.Runs[1].Isolation, 1)
	assert.Equal(t, 1.5, named.Runs[1].Isolation[0].P99Ratio)
	assert.Equal(t, 12.0, named.Runs[1].Isolation[0].Hot["rejected_503"])
	assert.Equal(t, int64(1)<<18, named.Runs[1].Disk["per_tenant_after_setup_bytes"])
}

// TestPrintReport: the text report gives, per count and distribution, the
// ratios against one tenant, the isolation ratios, the server's memory and
// the disk per tenant.
func TestPrintReport(t *testing.T) {
	res := fixedResults()
	var out strings.Builder
	for _, run := range res.Runs {
		printRun(&out, run, 4)
	}
	printSummary(&out, res)
	s := out.String()
	for _, want := range []string{
		"items-list (zipf 1.1)      |      880.0",
		"hot-tenant (zipf 1.1): reads p50/p99 3.33/10.00 ms without, 5.00/15.00 ms with: p99 1.50x",
		"hot tenant 300.0 req/s, p50/p99 13.33/40.00 ms, 12 answered 503",
		"server process with every tenant's host requested once (100 hosts, 0.5 s): VmRSS 50.0 MiB started for it, 60.0 MiB after the load (its verified tokens included)",
		"disk: 25 MiB after setup (256.0 KiB per tenant), 50 MiB after one migration and its undo (512.0 KiB per tenant)",
		"hot-tenant (zipf 1.1)          100 |            10.00 |            15.00 |        1.50x",
		"| 256.0 / 512.0 KiB",
		"tenant create (admin user and argon2id hash included), the first 2 created one at a time: p50 90.0 ms",
		"tenant create with 100 tenants present, 20 one at a time: p50 61.3 ms, p95 100.1 ms, mean 68.7 ms",
	} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "with 1 tenants present", "no line for a count whose tenant create was not timed")
	// The zipf row of 100 tenants is against the zipf row of one: 880 / 1100.
	assert.Regexp(t, `items-list \(zipf 1\.1\)\s+100 \|\s+880\.0 .*\|\s+0\.80x`, s)
}

// svgElements parses an SVG document and counts its elements by name.
func svgElements(t *testing.T, b []byte) map[string]int {
	t.Helper()
	counts := map[string]int{}
	d := xml.NewDecoder(strings.NewReader(string(b)))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return counts
		}
		require.NoError(t, err, "the SVG is well-formed XML")
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
		}
	}
}

func TestRenderSVG(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		b := renderSVG(fixedResults())
		assert.Equal(t, b, renderSVG(fixedResults()), "rendering is deterministic")
		el := svgElements(t, b)
		assert.Equal(t, 1, el["svg"])
		// 2 panels x 3 scenarios (items-list under two distributions,
		// token) x (HTTP + ceiling), 2 points each.
		assert.Equal(t, 12, el["polyline"])
		assert.Equal(t, 24, el["circle"])
		s := string(b)
		for _, want := range []string{"Throughput", "p99 latency", "items-list (zipf 1.1)", "token", "ceiling", ">100<", "stroke-dasharray"} {
			assert.Contains(t, s, want)
		}
		assert.NotContains(t, s, "<image")
		assert.NotContains(t, s, "@font-face")
	})
	t.Run("MissingValuesAreSkipped", func(t *testing.T) {
		res := fixedResults()
		res.Runs[0].Scenarios[0].Ceiling = Stats{}
		el := svgElements(t, renderSVG(res))
		assert.Equal(t, 12, el["polyline"])
		assert.Equal(t, 22, el["circle"])
	})
	t.Run("Empty", func(t *testing.T) {
		b := renderSVG(&Results{Command: `a <b> & "c"`})
		svgElements(t, b)
		assert.Contains(t, string(b), "no data")
		assert.Contains(t, string(b), "a &lt;b&gt; &amp;")
	})
}

func TestPrintSummaryFlagsFailures(t *testing.T) {
	res := fixedResults()
	res.Runs[1].Scenarios[0].HTTP.Errors = 3
	res.Runs[1].Scenarios[0].HTTP.Failures = map[string]int{"500": 3}
	var out strings.Builder
	printRun(&out, res.Runs[1], 4)
	printSummary(&out, res)
	assert.Contains(t, out.String(), "!! FAILED: items-list HTTP: 3 of 1800 requests (500: 3)")
	assert.Contains(t, out.String(), "3 MEASURED REQUESTS FAILED")
	assert.Equal(t, 3, res.failedRequests())
}
