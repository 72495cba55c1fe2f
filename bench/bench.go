// Package bench is tenantctl's benchmark (go run ./cmd/bench): it creates a
// fresh database, provisions tenants, serves them with the real tenantctl
// binary in a child process and drives keep-alive HTTP load at it, then
// sends the same SQL straight through pgx (the ceiling) with the same pool
// settings and concurrency. For every tenant count it also times tenant
// migrations and reads the PostgreSQL backends' memory, and it reports all
// of it as a table, a JSON file and an SVG chart.
//
// Everything stays on this machine: PostgreSQL must be on loopback, and the
// server listens on 127.0.0.1.
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/db"
)

// Run runs the benchmark: args is the command line (program name first).
// The table goes to stdout, progress to stderr. It returns an error when the
// run could not complete, and also when any measured request failed (after
// writing the results), so that a benchmark with failures never looks clean.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args[1:], getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	res := &Results{
		Command:   commandLine(args[1:]),
		StartedAt: time.Now().UTC().Truncate(time.Second),
		Machine: Machine{
			CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(),
			OS: runtime.GOOS, Arch: runtime.GOARCH, LoadAvg1m: loadAvg(),
		},
		Settings: Settings{
			Target:      cfg.Target,
			Concurrency: cfg.Concurrency, DurationS: cfg.Duration.Seconds(), WarmupS: cfg.Warmup.Seconds(),
			WarmupPerTenantMs: float64(cfg.WarmupPerTenant) / float64(time.Millisecond), WarmupMaxS: cfg.WarmupMax.Seconds(),
			Items: cfg.Items, ProvisionJobs: cfg.ProvisionJobs, MigrateJobs: cfg.MigrateJobs,
			Distributions: cfg.Distributions, BulkSetup: cfg.BulkSetup,
			HotTenantShare: cfg.HotTenantShare, ChurnRatePerS: cfg.ChurnRate, FloodShare: cfg.FloodShare,
			IsolationLoad: cfg.IsolationLoad, ServerEnv: cfg.ServerEnv,
		},
	}
	fmt.Fprintf(stdout, "command: %s\n", res.Command)

	tmp, err := os.MkdirTemp("", "tenantctl-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintln(stderr, "building tenantctl ...")
	bin, err := buildServer(ctx, tmp)
	if err != nil {
		return err
	}

	r, err := newRunner(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer r.close()
	res.Machine.PostgreSQL = r.pgVersion

	for i, n := range cfg.Tenants {
		run, err := r.measure(ctx, n, bin, tmp, i == len(cfg.Tenants)-1)
		if err != nil {
			return fmt.Errorf("%d tenants: %w", n, err)
		}
		res.Runs = append(res.Runs, run)
		res.Settings.PoolMaxConns = r.poolMaxConns
		res.TenantCreate = r.tenantCreate()
		printRun(stdout, run, r.poolMaxConns)
	}
	printSummary(stdout, res)

	svgPath, err := writeResults(cfg.Out, res)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nresults: %s, chart: %s\n", cfg.Out, svgPath)
	if n := res.failedRequests(); n > 0 {
		return fmt.Errorf("%d measured requests failed (see FAILED above): these results are not valid", n)
	}
	return nil
}

// measure provisions up to n tenants and measures them: HTTP against a
// freshly started server and the ceiling, scenario by scenario and
// distribution by distribution, then the server's memory with every host
// cached and the backends' memory, then tenant migrations. Unless last, it
// leaves the tenants as it found them (no load-created rows, no extra
// migration) for the next count.
func (r *runner) measure(ctx context.Context, n int, bin, dir string, last bool) (CountResult, error) {
	fmt.Fprintf(r.log, "-- measuring %d tenants\n", n)
	run := CountResult{Tenants: n}
	var err error
	if run.Provision, err = r.provision(ctx, n); err != nil {
		return run, fmt.Errorf("provision: %w", err)
	}
	fmt.Fprintf(r.log, "   provisioned in %.1f s (%.1f/s)\n", run.Provision.Seconds, run.Provision.PerSecond)
	tenants := r.tenants[:n]
	if err := r.settle(ctx); err != nil {
		return run, err
	}
	if run.Disk.AfterSetupBytes, err = r.databaseSize(ctx); err != nil {
		return run, err
	}
	fmt.Fprintf(r.log, "   tenant create, %d one at a time ...", createSampleSize)
	if run.TenantCreate, err = r.createSample(ctx, n); err != nil {
		return run, err
	}
	fmt.Fprintf(r.log, " p50 %.1f ms, p95 %.1f ms\n", run.TenantCreate.P50Ms, run.TenantCreate.P95Ms)

	mark, err := r.markSessions(ctx)
	if err != nil {
		return run, err
	}
	// A server of its own per count, so that its backends' memory shows
	// what serving exactly n tenants costs.
	srv, err := startServer(ctx, bin, dir, r.url(appServer), r.secret, r.cfg.Concurrency, r.cfg.ServerEnv)
	if err != nil {
		return run, err
	}
	defer srv.stop()
	if run.TokensS, err = r.obtainTokens(ctx, srv, tenants); err != nil {
		return run, fmt.Errorf("obtain tokens: %w", err)
	}
	// The ceiling's pool is opened exactly as the server opens its own
	// (db.Open on the same kind of URL), so both have the same settings
	// and route a tenant's transactions alike.
	ceilingPool, err := db.Open(ctx, r.url(appCeiling), r.cfg.Limits)
	if err != nil {
		return run, err
	}
	defer ceilingPool.Close()
	r.poolMaxConns = ceilingPool.Config().MaxConns

	for _, name := range r.cfg.Scenarios {
		sc, _ := scenarioByName(name)
		switch sc.name {
		case signupScenario:
			fmt.Fprintf(r.log, "   %s: HTTP ...", sc.name)
			s, err := r.measureSignup(ctx, srv)
			if err != nil {
				return run, fmt.Errorf("signup: %w", err)
			}
			fmt.Fprintf(r.log, " p50 %.1f ms (hash %.1f ms)\n", s.HTTP.P50Ms, s.Hash.P50Ms)
			run.Scenarios = append(run.Scenarios, s)
			continue
		case hotTenantScenario, churnScenario, floodScenario:
			if sc.name == hotTenantScenario && n < 2 {
				continue // no other tenant to disturb
			}
			for _, d := range r.cfg.Distributions {
				fmt.Fprintf(r.log, "   %s, %s: without, with ...", sc.name, d)
				iso, err := r.measureIsolation(ctx, sc.name, srv, tenants, d)
				if err != nil {
					return run, fmt.Errorf("%s: %w", sc.name, err)
				}
				fmt.Fprintf(r.log, " p99 %.2f ms, %.2f ms (%.2fx)\n", iso.Without.P99Ms, iso.With.P99Ms, iso.P99Ratio)
				run.Isolation = append(run.Isolation, iso)
			}
			continue
		}
		for _, d := range r.cfg.Distributions {
			p := newPicker(tenants, d)
			fmt.Fprintf(r.log, "   %s, %s: HTTP ...", sc.name, d)
			h, err := drive(ctx, r.cfg, p, srv.op(sc))
			if err != nil {
				return run, err
			}
			fmt.Fprintf(r.log, " %.0f req/s; ceiling ...", h.RPS)
			c, err := drive(ctx, r.cfg, p, ceilingOp(ceilingPool, sc))
			if err != nil {
				return run, err
			}
			fmt.Fprintf(r.log, " %.0f req/s\n", c.RPS)
			s := newScenario(sc, h, c)
			s.Distribution = d.String()
			run.Scenarios = append(run.Scenarios, s)
		}
	}

	fmt.Fprintf(r.log, "   requesting every tenant's host once ...")
	loaded, err := r.fillHostCache(ctx, srv, tenants)
	if err != nil {
		return run, fmt.Errorf("host cache: %w", err)
	}
	if run.Memory, err = backendMemory(ctx, r.pool); err != nil {
		return run, fmt.Errorf("backend memory: %w", err)
	}
	srv.stop()
	ceilingNew := ceilingPool.NewConnsCount()
	ceilingPool.Close()
	if run.Connections, err = r.connectionsSince(ctx, mark, ceilingNew); err != nil {
		return run, fmt.Errorf("count connections: %w", err)
	}
	// Then on a server started for it alone: the routing cache's own cost.
	fresh, err := startServer(ctx, bin, dir, r.url(appServer), r.secret, r.cfg.Concurrency, r.cfg.ServerEnv)
	if err != nil {
		return run, err
	}
	hc, err := r.fillHostCache(ctx, fresh, tenants)
	fresh.stop()
	if err != nil {
		return run, fmt.Errorf("host cache: %w", err)
	}
	hc.LoadedVmRSSKB = loaded.VmRSSKB
	if loaded.Error != "" {
		hc.Error = loaded.Error
	}
	fmt.Fprintf(r.log, " %.1f s, server VmRSS %.1f MiB (%.1f MiB after the load)\n", hc.Seconds, mib(hc.VmRSSKB), mib(hc.LoadedVmRSSKB))
	run.HostCache = hc

	if run.Migrate, err = r.migrateTimings(ctx, tenants); err != nil {
		return run, fmt.Errorf("migrate: %w", err)
	}
	if run.Disk.AfterMigrateBytes, err = r.databaseSize(ctx); err != nil {
		return run, err
	}
	run.Disk.perTenant(len(r.tenants)) // all in the database: more than n with -reuse
	if last {
		return run, nil // nothing measures these tenants again
	}
	if err := r.cleanUp(ctx, tenants); err != nil {
		return run, fmt.Errorf("clean up: %w", err)
	}
	return run, nil
}

// databaseSize is the benchmark database's size on disk, in bytes.
func (r *runner) databaseSize(ctx context.Context) (int64, error) {
	var n int64
	err := r.pool.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
	return n, err
}

// commandLine is the command that reproduces this run, for the report.
func commandLine(args []string) string {
	parts := []string{"go", "run", "./cmd/bench"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\*?;&|<>()[]{}!#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// loadAvg is the 1-minute load average, or 0 where /proc/loadavg is not.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
