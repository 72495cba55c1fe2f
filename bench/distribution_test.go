package bench

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
)

func someTenants(n int) []*tenant {
	out := make([]*tenant, n)
	for i := range out {
		out[i] = &tenant{host: tenantName(i) + ".localhost"}
	}
	return out
}

// TestZipfPicker: the tenant of rank k is drawn with probability
// proportional to 1/k^s, so the hottest of 1,000 tenants under s = 1.1 gets
// about 1/H(1000, 1.1) of the requests, the second 2^-1.1 of that.
func TestZipfPicker(t *testing.T) {
	tenants := someTenants(1000)
	p := newPicker(tenants, Distribution{Name: "zipf", Exponent: 1.1})
	h := 0.0
	for k := 1; k <= 1000; k++ {
		h += math.Pow(float64(k), -1.1)
	}
	assert.InDelta(t, 1/h, p.share(0), 1e-12)
	assert.InDelta(t, math.Pow(2, -1.1)/h, p.share(1), 1e-12)

	counts := map[*tenant]int{}
	rng := rand.New(rand.NewPCG(1, 2))
	const draws = 200_000
	for range draws {
		counts[p.pick(rng)]++
	}
	for _, k := range []int{0, 1, 9, 99} {
		want := p.share(k) * draws
		assert.InDelta(t, want, float64(counts[tenants[k]]), 5*math.Sqrt(want)+1, "rank %d", k+1)
	}
	assert.Greater(t, counts[tenants[0]], counts[tenants[999]]*100, "few tenants hot, most idle")
}

func TestUniformPicker(t *testing.T) {
	tenants := someTenants(10)
	p := newPicker(tenants, Distribution{Name: "uniform"})
	assert.Equal(t, 0.1, p.share(3))
	counts := map[*tenant]int{}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		counts[p.pick(rng)]++
	}
	require.Len(t, counts, 10)
	for _, n := range counts {
		assert.InDelta(t, 10_000, n, 500)
	}
	// One tenant: every distribution draws it.
	one := someTenants(1)
	assert.Same(t, one[0], newPicker(one, Distribution{Name: "zipf", Exponent: 1.1}).pick(rng))
}

func TestParseDistributions(t *testing.T) {
	ds, err := parseDistributions("uniform, zipf,zipf", 1.1)
	require.NoError(t, err)
	assert.Equal(t, []Distribution{{Name: "uniform"}, {Name: "zipf", Exponent: 1.1}}, ds)
	assert.Equal(t, "zipf 1.1", ds[1].String())
	for _, bad := range []string{"", "normal", "uniform,"} {
		_, err := parseDistributions(bad, 1.1)
		assert.Error(t, err, bad)
	}
	_, err = parseDistributions("zipf", 0)
	assert.ErrorContains(t, err, "-zipf-exponent")
}

func TestParseConfigLoadFlags(t *testing.T) {
	env := func(string) string { return "" }
	c, err := parseConfig(nil, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []Distribution{{Name: "uniform"}, {Name: "zipf", Exponent: 1.1}}, c.Distributions, "both by default")
	assert.True(t, c.BulkSetup)
	assert.Equal(t, 0.5, c.HotTenantShare)

	c, err = parseConfig([]string{"-distribution", "zipf", "-zipf-exponent", "0.9", "-bulk-setup=false"}, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []Distribution{{Name: "zipf", Exponent: 0.9}}, c.Distributions)
	assert.False(t, c.BulkSetup)

	assert.Equal(t, db.DefaultLimits.Schemas, c.Limits.Schemas, "the server's defaults")
	assert.Equal(t, db.DefaultLimits.Plans, c.Limits.Plans)

	c, err = parseConfig([]string{"-server-env", "DB_POOL_SIZE=8", "-server-env", "DB_MAX_SCHEMAS_PER_CONN=9000", "-reuse", "tenantctl_bench_0123456789ab"}, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"DB_POOL_SIZE=8", "DB_MAX_SCHEMAS_PER_CONN=9000"}, c.ServerEnv)
	assert.Equal(t, 8, c.Limits.Conns, "the ceiling's pool is the server's")
	assert.Equal(t, 9000, c.Limits.Schemas)
	assert.Equal(t, "tenantctl_bench_0123456789ab", c.Reuse)

	for _, args := range [][]string{
		{"-distribution", "pareto"}, {"-hot-tenant-share", "1"}, {"-hot-tenant-share", "0"},
		{"-flood-share", "-0.1"}, {"-churn-rate", "0"}, {"-warmup-max", "-1s"},
		{"-server-env", "DB_POOL_SIZE"}, {"-server-env", "DB_POOL_SIZE=0"}, {"-server-env", "db_pool_size=4"},
		{"-reuse", "postgres"}, {"-reuse", "tenantctl_bench_x", "-target", "citus"},
	} {
		_, err := parseConfig(args, env, io.Discard)
		assert.Error(t, err, args)
	}
}

// TestWarmupCap: the per-tenant warm-up stops at -warmup-max, and never
// cuts -warmup itself.
func TestWarmupCap(t *testing.T) {
	c := Config{Warmup: time.Second, WarmupPerTenant: 5 * time.Millisecond, WarmupMax: 10 * time.Second}
	assert.Equal(t, time.Second+5*time.Millisecond, c.warmup(1))
	assert.Equal(t, 6*time.Second, c.warmup(1000))
	assert.Equal(t, 10*time.Second, c.warmup(100_000))
	c.Warmup = 20 * time.Second
	assert.Equal(t, 20*time.Second, c.warmup(100_000))
}

// TestRunClasses: run keeps each class's requests apart, and counts 503s
// (rejected) as neither requests nor failures.
func TestRunClasses(t *testing.T) {
	tenants := someTenants(2)
	cfg := Config{Duration: 50 * time.Millisecond}
	st, err := run(t.Context(), cfg, load{
		workers: 4,
		pick: func(rng *rand.Rand) (*tenant, int) {
			k := rng.IntN(3)
			return tenants[min(k, 1)], k
		},
		ops: []op{
			func(context.Context, *tenant) *failure { time.Sleep(time.Millisecond); return nil },
			func(context.Context, *tenant) *failure {
				time.Sleep(time.Millisecond)
				return &failure{key: "503", rejected: true}
			},
			func(_ context.Context, tn *tenant) *failure {
				time.Sleep(time.Millisecond)
				return &failure{key: "500", detail: "on " + tn.host}
			},
		},
	})
	require.NoError(t, err)
	require.Len(t, st, 3)
	assert.Positive(t, st[0].Requests)
	assert.Zero(t, st[0].Errors)
	assert.Zero(t, st[0].Rejected)
	assert.Zero(t, st[1].Requests, "a 503 is not an answered request")
	assert.Positive(t, st[1].Rejected)
	assert.Zero(t, st[1].Errors)
	assert.Equal(t, st[2].Requests, st[2].Errors)
	assert.Equal(t, map[string]int{"500": st[2].Errors}, st[2].Failures)
	assert.Equal(t, "on t2.localhost", st[2].FirstFailure)
}

// TestOpenLoad: with a rate, run sends that many requests a second however
// many workers wait, and a server that falls behind shows in the latencies,
// counted from when each request was due, not in a slower stream of
// requests each timed from when it was sent.
func TestOpenLoad(t *testing.T) {
	cfg := Config{Duration: time.Second}
	one := someTenants(1)[0]
	pick := func(*rand.Rand) (*tenant, int) { return one, 0 }
	st, err := run(context.Background(), cfg, load{workers: 8, rate: 200, pick: pick,
		ops: []op{func(context.Context, *tenant) *failure { return nil }}})
	require.NoError(t, err)
	assert.LessOrEqual(t, st[0].Requests, 201, "no more than the rate")
	assert.GreaterOrEqual(t, st[0].Requests, 150, "about the rate")

	// One worker, 20 ms a request, 100 due a second: half a second behind
	// by the end.
	st, err = run(context.Background(), cfg, load{workers: 1, rate: 100, pick: pick,
		ops: []op{func(context.Context, *tenant) *failure { time.Sleep(20 * time.Millisecond); return nil }}})
	require.NoError(t, err)
	assert.LessOrEqual(t, st[0].Requests, 51)
	assert.Greater(t, st[0].P99Ms, 200.0, "the lateness is in the latencies")
}
