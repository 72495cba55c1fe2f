package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// op sends one request for tenant t, over HTTP or straight to the
// database, and returns nil if it succeeded.
type op func(ctx context.Context, t *tenant) *failure

// failure is a request that did not succeed.
type failure struct {
	key    string // the HTTP status, or "error" (transport or SQL error)
	detail string // what happened, for the report's first failure
	// rejected marks a 503 with Retry-After: the server's per-tenant cap
	// on concurrent database work refusing a request it could not start
	// soon. It is an outcome of its own (Stats.Rejected), not a failure.
	rejected bool
}

// tally is what one load worker recorded in the measured window, for one
// class of requests.
type tally struct {
	latencies []time.Duration
	failures  map[string]int
	first     string
	rejected  int
}

// load is one measured load: workers closed-loop clients, each sending
// ops[class] for the (tenant, class) pick draws, from a random stream of
// its own seeded from loadSeed, so that runs draw the same tenants. With a
// rate, the load is open instead: request i is due at i/rate seconds from
// the start, taken by the next free worker, and its latency counts from
// when it was due, so that a server falling behind shows in the latencies
// rather than in fewer requests (no coordinated omission).
type load struct {
	workers int
	warmup  time.Duration
	pick    func(rng *rand.Rand) (*tenant, int)
	ops     []op    // by class
	rate    float64 // requests a second; 0: closed-loop
}

// loadSeed seeds every load's random streams (worker w uses stream w).
const loadSeed = 15

// drive runs o from cfg.Concurrency workers, each request on a tenant drawn
// by p, and returns its Stats.
func drive(ctx context.Context, cfg Config, p *picker, o op) (Stats, error) {
	return driveAt(ctx, cfg, p, o, 0)
}

// driveAt is drive at rate requests a second (an open load), or
// closed-loop for 0.
func driveAt(ctx context.Context, cfg Config, p *picker, o op, rate float64) (Stats, error) {
	st, err := run(ctx, cfg, load{
		workers: cfg.Concurrency, warmup: cfg.warmup(len(p.tenants)), rate: rate,
		pick: func(rng *rand.Rand) (*tenant, int) { return p.pick(rng), 0 }, ops: []op{o},
	})
	if err != nil {
		return Stats{}, err
	}
	return st[0], nil
}

// run drives l for l.warmup unmeasured and then cfg.Duration measured, and
// returns the Stats of each class. A request counts when it completes
// inside the measured window (the unbiased throughput estimate, whatever
// the latency); the one each worker has in flight when the window closes
// is finished but not counted. It returns ctx's error if ctx ends first.
func run(ctx context.Context, cfg Config, l load) ([]Stats, error) {
	begin := time.Now()
	from := begin.Add(l.warmup)
	to := from.Add(cfg.Duration)
	tallies := make([][]tally, l.workers)
	var (
		wg   sync.WaitGroup
		next atomic.Int64 // the next due request, with a rate
	)
	for w := range l.workers {
		tallies[w] = make([]tally, len(l.ops))
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(loadSeed, uint64(w)))
			for ctx.Err() == nil {
				start := time.Now()
				if l.rate > 0 {
					start = begin.Add(time.Duration(float64(next.Add(1)-1) / l.rate * float64(time.Second)))
					if start.Before(to) && !sleepUntil(ctx, start) {
						return
					}
				}
				if !start.Before(to) {
					return
				}
				t, class := l.pick(rng)
				f := l.ops[class](ctx, t)
				end := time.Now()
				if end.Before(from) || end.After(to) || ctx.Err() != nil {
					continue
				}
				tally := &tallies[w][class]
				if f != nil && f.rejected {
					tally.rejected++
					continue
				}
				tally.latencies = append(tally.latencies, end.Sub(start))
				if f != nil {
					if tally.failures == nil {
						tally.failures = map[string]int{}
					}
					tally.failures[f.key]++
					if tally.first == "" {
						tally.first = f.detail
					}
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Stats, len(l.ops))
	for class := range l.ops {
		var all tally
		for w := range tallies {
			t := tallies[w][class]
			all.latencies = append(all.latencies, t.latencies...)
			all.rejected += t.rejected
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
		out[class] = summarize(all.latencies, cfg.Duration, all.failures, all.first)
		out[class].Rejected = all.rejected
	}
	return out, nil
}

// sleepUntil waits until t, and reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// warmup is the unmeasured time before a measurement over n tenants:
// -warmup plus -warmup-per-tenant for each, at most -warmup-max.
func (c Config) warmup(n int) time.Duration {
	return min(c.Warmup+time.Duration(n)*c.WarmupPerTenant, max(c.WarmupMax, c.Warmup))
}
