package telemetry

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// otherTenants is the tenant label of the requests of every tenant without
// a series of its own.
const otherTenants = "other"

// topTenants counts requests per tenant with at most n tenant series, plus
// "other" for the rest: one series per tenant would grow with the tenant
// count, without bound.
//
// A tenant gets a series of its own (starting at 0) when it first makes a
// request while fewer than n tenants have one. After that the set is
// recomputed, at a scrape, once every interval: the n tenants with the most
// requests in the interval keep or get a series, ties going to those that
// already have one; a tenant that leaves the set loses its series, and its
// requests count under "other" from then on. So every series only ever
// grows, as a counter must, and at no time are there more than n+1.
type topTenants struct {
	n        int
	interval time.Duration
	desc     *prometheus.Desc

	mu     sync.Mutex
	own    map[string]float64 // the tenants with a series, and its value
	other  float64
	window map[string]uint64 // requests per tenant since the last recomputation
	since  time.Time
}

func newTopTenants(n int, interval time.Duration) *topTenants {
	return &topTenants{
		n: n, interval: interval,
		desc: prometheus.NewDesc("tenantctl_tenant_requests_total",
			"HTTP requests by tenant schema, for the busiest tenants only (METRICS_TOP_TENANTS); the rest count as tenant=\"other\".",
			[]string{"tenant"}, nil),
		own: map[string]float64{}, window: map[string]uint64{}, since: time.Now(),
	}
}

// inc counts one request of tenant. The window holds one entry per tenant
// active in the interval: tenants are the database's, not client input.
func (t *topTenants) inc(tenant string) {
	t.mu.Lock()
	t.window[tenant]++
	if v, ok := t.own[tenant]; ok {
		t.own[tenant] = v + 1
	} else if len(t.own) < t.n && tenant != otherTenants {
		t.own[tenant] = 1
	} else {
		t.other++
	}
	t.mu.Unlock()
}

// recompute makes the busiest tenants of the window the ones with series.
// t.mu must be held.
func (t *topTenants) recompute(now time.Time) {
	type count struct {
		tenant string
		n      uint64
		owned  bool
	}
	counts := make([]count, 0, len(t.window))
	for tenant, n := range t.window {
		if tenant == otherTenants {
			continue
		}
		_, owned := t.own[tenant]
		counts = append(counts, count{tenant, n, owned})
	}
	slices.SortFunc(counts, func(a, b count) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		if a.owned != b.owned {
			if a.owned {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.tenant, b.tenant)
	})
	keep := map[string]float64{}
	for _, c := range counts[:min(t.n, len(counts))] {
		keep[c.tenant] = t.own[c.tenant] // 0 for a newcomer
	}
	// Tenants with a series that were idle all interval keep it while
	// there is room: dropping them would gain nothing.
	for tenant, v := range t.own {
		if len(keep) >= t.n {
			break
		}
		if _, ok := keep[tenant]; !ok && t.window[tenant] == 0 {
			keep[tenant] = v
		}
	}
	t.own, t.window, t.since = keep, map[string]uint64{}, now
}

func (t *topTenants) Describe(ch chan<- *prometheus.Desc) { ch <- t.desc }

func (t *topTenants) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	if now := time.Now(); now.Sub(t.since) >= t.interval {
		t.recompute(now)
	}
	ms := make([]prometheus.Metric, 0, len(t.own)+1)
	for tenant, v := range t.own {
		ms = append(ms, prometheus.MustNewConstMetric(t.desc, prometheus.CounterValue, v, tenant))
	}
	ms = append(ms, prometheus.MustNewConstMetric(t.desc, prometheus.CounterValue, t.other, otherTenants))
	t.mu.Unlock()
	for _, m := range ms {
		ch <- m
	}
}
