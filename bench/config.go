package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
)

// defaultServerURL is the local PostgreSQL the benchmark creates its
// database on when neither -db nor BENCH_DATABASE_URL names another.
const defaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// With -target citus, the defaults are the cluster of
// scripts/citus-cluster.sh: its coordinator and its two workers.
const (
	defaultCitusURL     = "postgres://postgres@127.0.0.1:25432/postgres?sslmode=disable"
	defaultCitusWorkers = "127.0.0.1:25433,127.0.0.1:25434"
)

// Config is one run's settings, read from the command line.
type Config struct {
	// ServerURL is a maintenance database on the PostgreSQL server to use;
	// the benchmark creates (and drops) a database of its own next to it.
	ServerURL string
	// Target is "plain" (one PostgreSQL) or "citus": ServerURL is then a
	// Citus coordinator, and the benchmark database spans CitusWorkers, so
	// that every tenant is placed on one of them.
	Target       string
	CitusWorkers []string
	// Tenants are the tenant counts to measure, ascending.
	Tenants     []int
	Items       int
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration
	// WarmupPerTenant is added to Warmup for every tenant: a long-running
	// server has prepared each busy tenant's statements on its pooled
	// connections, and the measurement should see that steady state.
	WarmupPerTenant time.Duration
	// WarmupMax caps the warm-up of each measurement: at 100,000 tenants
	// the per-tenant warm-up alone would be over 8 minutes per load.
	WarmupMax time.Duration
	// Distributions pick the tenant of every request; each load scenario
	// runs once per distribution, HTTP and ceiling alike.
	Distributions []Distribution
	// BulkSetup provisions the tenants after the latency sample the
	// bench's fast way (bulk.go) instead of through provision.CreateTenant.
	BulkSetup bool
	// HotTenantShare is the share of the hot-tenant scenario's requests
	// sent to one tenant.
	HotTenantShare float64
	// ChurnRate is the churn scenario's tenant creations per second.
	ChurnRate float64
	// FloodShare is the flood scenario's share of requests on random
	// unknown hosts.
	FloodShare float64
	// IsolationLoad is the churn and flood scenarios' read rate, as a
	// fraction of the rate the same reads reach closed-loop just before:
	// both sides of the comparison are then the same load, below what the
	// machine can serve, so the ratio shows the disturbance rather than a
	// saturated queue that lost CPU to it. 0 keeps them closed-loop.
	IsolationLoad   float64
	ProvisionJobs   int
	ProvisionSample int
	MigrateJobs     int
	Scenarios       []string
	// Out is the JSON file; the SVG chart goes next to it, as .svg.
	Out  string
	Keep bool
	// Reuse names a database kept by an earlier run (-keep) to measure
	// again without provisioning: its tenants are read from
	// public.clients, their tokens minted anew. It is never dropped.
	Reuse   string
	Timeout time.Duration
	// ServerEnv are extra settings (KEY=VALUE) of the server, and Limits
	// the pool settings they make (config.Load): the ceiling's pool is
	// opened with the same, so that HTTP/ceiling stays a fair ratio.
	ServerEnv []string
	Limits    db.Limits
}

// parseConfig reads the flags in args (without the program name). It
// returns flag.ErrHelp after printing the usage for -h.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./cmd/bench [flags]\n\n"+
			"Builds a fresh database, provisions tenants, serves them with the real tenantctl\n"+
			"binary and measures HTTP load against the same SQL sent straight through pgx.\n\nflags:\n")
		fs.PrintDefaults()
	}
	var c Config
	var serverURL, tenants, scenarioList, workers, distributions string
	var zipfExponent float64
	var tenants10k bool
	fs.StringVar(&serverURL, "db", getenv("BENCH_DATABASE_URL"), "`URL` of a maintenance database on a local (loopback) PostgreSQL, the Citus coordinator with -target citus (env BENCH_DATABASE_URL; default "+defaultServerURL+", or "+defaultCitusURL+" for citus)")
	fs.StringVar(&c.Target, "target", "plain", "`plain` PostgreSQL, or a citus cluster (scripts/citus-cluster.sh up)")
	fs.StringVar(&workers, "citus-workers", getenv("BENCH_CITUS_WORKERS"), "with -target citus: the workers' `host:port` list (env BENCH_CITUS_WORKERS; default "+defaultCitusWorkers+")")
	fs.StringVar(&tenants, "tenants", "1,100,1000", "comma-separated tenant `counts` to measure")
	fs.BoolVar(&tenants10k, "tenants-10k", false, "also measure 10000 tenants")
	fs.IntVar(&c.Items, "items", 50, "items seeded in every tenant")
	fs.IntVar(&c.Concurrency, "concurrency", 32, "concurrent clients, for HTTP and ceiling alike")
	fs.DurationVar(&c.Duration, "duration", 5*time.Second, "measured time of each scenario, HTTP and ceiling each")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "unmeasured time before each measurement")
	fs.DurationVar(&c.WarmupPerTenant, "warmup-per-tenant", 5*time.Millisecond, "added to -warmup for every tenant, so each tenant is served a few times on every pooled connection before the measurement")
	fs.DurationVar(&c.WarmupMax, "warmup-max", 10*time.Second, "at most this much warm-up per measurement, whatever the tenant count")
	fs.StringVar(&distributions, "distribution", "uniform,zipf", "comma-separated tenant `distributions` of the load (uniform, zipf): every load scenario runs under each")
	fs.Float64Var(&zipfExponent, "zipf-exponent", 1.1, "exponent s of -distribution zipf: the tenant of rank k gets a share proportional to 1/k^s")
	fs.BoolVar(&c.BulkSetup, "bulk-setup", true, "provision the tenants after the sample the bench's fast way (one shared admin password hash, tokens minted with the server's key, many tenants per transaction; see bench/bulk.go; plain target only); false: tenant create and a sign-in for each")
	fs.Float64Var(&c.HotTenantShare, "hot-tenant-share", 0.5, "share of the hot-tenant scenario's requests sent to one tenant")
	fs.Float64Var(&c.ChurnRate, "churn-rate", 5, "tenants created per second (the real tenant create) during the churn scenario's reads")
	fs.Float64Var(&c.FloodShare, "flood-share", 0.5, "share of the flood scenario's requests sent to random unknown hosts")
	fs.Float64Var(&c.IsolationLoad, "isolation-load", 0.25, "the churn and flood scenarios read at this fraction of the rate the same reads reach closed-loop just before, without and with the disturbance alike (an open load); 0: closed-loop")
	fs.IntVar(&c.ProvisionJobs, "provision-jobs", 4, "tenants provisioned in parallel (after the sample)")
	fs.IntVar(&c.ProvisionSample, "provision-sample", 50, "the first `n` tenants are created one at a time to measure tenant create latency")
	fs.IntVar(&c.MigrateJobs, "migrate-jobs", 4, "parallel jobs of the timed tenant migrations")
	fs.StringVar(&scenarioList, "scenarios", strings.Join(scenarioNames(), ","), "comma-separated scenarios to run")
	fs.StringVar(&c.Out, "out", "bench/results/latest.json", "JSON results `file`; the SVG chart is written next to it")
	fs.BoolVar(&c.Keep, "keep", false, "keep the benchmark database instead of dropping it")
	fs.DurationVar(&c.Timeout, "timeout", 2*time.Hour, "stop everything after this long")
	fs.StringVar(&c.Reuse, "reuse", "", "measure the tenants of `database`, kept by an earlier run's -keep, instead of creating a database (its tenant count must be the largest of -tenants; never dropped)")
	fs.Func("server-env", "a `KEY=VALUE` setting of the server (repeatable), e.g. DB_POOL_SIZE=8; the ceiling's pool gets the same pool settings", func(v string) error {
		k, _, ok := strings.Cut(v, "=")
		if !ok || k == "" || strings.ToUpper(k) != k {
			return fmt.Errorf("%q is not KEY=VALUE", v)
		}
		c.ServerEnv = append(c.ServerEnv, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch c.Target {
	case "plain":
		if serverURL == "" {
			serverURL = defaultServerURL
		}
	case "citus":
		if serverURL == "" {
			serverURL = defaultCitusURL
		}
		if workers == "" {
			workers = defaultCitusWorkers
		}
		for _, w := range strings.Split(workers, ",") {
			if w = strings.TrimSpace(w); w != "" {
				c.CitusWorkers = append(c.CitusWorkers, w)
			}
		}
		if len(c.CitusWorkers) == 0 {
			return Config{}, errors.New("-citus-workers: name at least one worker")
		}
	default:
		return Config{}, fmt.Errorf("-target: %q is neither plain nor citus", c.Target)
	}
	c.ServerURL = serverURL
	// Citus distributes a new tenant's schema as it is created; the bulk
	// path, many schemas per transaction, was only checked against plain
	// PostgreSQL (TestBulkTenantMatchesCreateTenant).
	c.BulkSetup = c.BulkSetup && c.Target == "plain"
	var err error
	if c.Tenants, err = parseCounts(tenants); err != nil {
		return Config{}, err
	}
	if tenants10k && !slices.Contains(c.Tenants, 10000) {
		c.Tenants = append(c.Tenants, 10000)
		slices.Sort(c.Tenants)
	}
	if c.Scenarios, err = parseScenarios(scenarioList); err != nil {
		return Config{}, err
	}
	if c.Distributions, err = parseDistributions(distributions, zipfExponent); err != nil {
		return Config{}, err
	}
	if c.Limits, err = serverLimits(c.ServerEnv); err != nil {
		return Config{}, fmt.Errorf("-server-env: %w", err)
	}
	if c.Reuse != "" && (c.Target != "plain" || !strings.HasPrefix(c.Reuse, "tenantctl_bench_")) {
		return Config{}, fmt.Errorf("-reuse: %q is not a plain-target database kept by -keep (tenantctl_bench_...)", c.Reuse)
	}
	if err := checkLoopback(c.ServerURL); err != nil {
		return Config{}, err
	}
	var errs []error
	for _, v := range []struct {
		name string
		n    int
		min  int
	}{
		{"-items", c.Items, 0}, {"-concurrency", c.Concurrency, 1}, {"-provision-jobs", c.ProvisionJobs, 1},
		{"-provision-sample", c.ProvisionSample, 0}, {"-migrate-jobs", c.MigrateJobs, 1},
	} {
		if v.n < v.min {
			errs = append(errs, fmt.Errorf("%s must be at least %d", v.name, v.min))
		}
	}
	if c.Duration <= 0 || c.Warmup < 0 || c.WarmupPerTenant < 0 || c.WarmupMax < 0 || c.Timeout <= 0 {
		errs = append(errs, errors.New("-duration and -timeout must be positive, -warmup, -warmup-per-tenant and -warmup-max not negative"))
	}
	for _, v := range []struct {
		name string
		f    float64
	}{{"-hot-tenant-share", c.HotTenantShare}, {"-flood-share", c.FloodShare}} {
		if !(v.f > 0 && v.f < 1) {
			errs = append(errs, fmt.Errorf("%s must be between 0 and 1 (exclusive)", v.name))
		}
	}
	if !(c.IsolationLoad >= 0 && c.IsolationLoad <= 1) {
		errs = append(errs, errors.New("-isolation-load must be between 0 and 1"))
	}
	if !(c.ChurnRate > 0 && c.ChurnRate <= 100) {
		errs = append(errs, errors.New("-churn-rate must be above 0 and at most 100 a second"))
	}
	return c, errors.Join(errs...)
}

// serverLimits are the pool settings the server reads from env.
func serverLimits(env []string) (db.Limits, error) {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	cfg, err := config.Load(func(k string) string { return m[k] })
	if err != nil {
		return db.Limits{}, err
	}
	return cfg.DBLimits(), nil
}

// parseCounts reads "1,100,1000" into distinct positive counts, ascending:
// each count reuses the tenants of the one before.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-tenants: %q is not a positive count", f)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// parseScenarios reads a comma-separated list of known scenario names.
func parseScenarios(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if _, ok := scenarioByName(f); !ok {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (known: %s)", f, strings.Join(scenarioNames(), ", "))
		}
		out = append(out, f)
	}
	return out, nil
}

// checkLoopback refuses a PostgreSQL that is not on this machine: the
// benchmark reads its backends' memory from /proc, and sends no traffic
// anywhere but loopback.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("-db: %q is not a postgres:// URL", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("-db: host %q is not loopback; the benchmark only runs against a PostgreSQL on this machine", host)
}
