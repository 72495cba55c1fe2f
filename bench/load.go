package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// op sends one request for tenant t, over HTTP or straight to the
// database, and returns nil if it succeeded.
type op func(ctx context.Context, t *tenant) *failure

// failure is a request that did not succeed.
type failure struct {
	key    string // the HTTP status, or "error" (transport or SQL error)
	detail string // what happened, for the report's first failure
}

// tally is what one load worker recorded in the measured window.
type tally struct {
	latencies []time.Duration
	failures  map[string]int
	first     string
}

// drive runs o from cfg.Concurrency workers, each request on a tenant drawn
// uniformly at random, for cfg.warmup(len(tenants)) unmeasured and then
// cfg.Duration measured. A request counts when it completes inside the measured window
// (the unbiased throughput estimate, whatever the latency); the one each
// worker has in flight when the window closes is finished but not counted.
// It returns ctx's error if ctx ends first.
func drive(ctx context.Context, cfg Config, tenants []*tenant, o op) (Stats, error) {
	from := time.Now().Add(cfg.warmup(len(tenants)))
	to := from.Add(cfg.Duration)
	seed := uint64(time.Now().UnixNano())
	tallies := make([]tally, cfg.Concurrency)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Go(func() {
			t := &tallies[w]
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil {
				start := time.Now()
				if !start.Before(to) {
					return
				}
				f := o(ctx, tenants[rng.IntN(len(tenants))])
				end := time.Now()
				if end.Before(from) || end.After(to) || ctx.Err() != nil {
					continue
				}
				t.latencies = append(t.latencies, end.Sub(start))
				if f != nil {
					if t.failures == nil {
						t.failures = map[string]int{}
					}
					t.failures[f.key]++
					if t.first == "" {
						t.first = f.detail
					}
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	var all tally
	for _, t := range tallies {
		all.latencies = append(all.latencies, t.latencies...)
		for k, n := range t.failures {
			if all.failures == nil {
				all.failures = map[string]int{}
			}
			all.failures[k] += n
		}
		if all.first == "" {
			all.first = t.first
		}
	}
	return summarize(all.latencies, cfg.Duration, all.failures, all.first), nil
}

// warmup is the unmeasured time before a measurement over n tenants.
func (c Config) warmup(n int) time.Duration { return c.Warmup + time.Duration(n)*c.WarmupPerTenant }
