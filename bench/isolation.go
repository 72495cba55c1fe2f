package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantctl/tenantctl/provision"
)

// The isolation scenarios measure items-list reads over HTTP under one
// disturbance, against the same reads without it, run just before, under
// the same distribution: one hot tenant (hot-tenant), tenant creations
// through the product's tenant create (churn), and requests on random
// unknown hosts (flood). Each reports the undisturbed tenants' p50 and p99
// both ways and the ratio of the p99s.

// Isolation is one isolation scenario's measurement.
type Isolation struct {
	Name         string `json:"name"`
	Distribution string `json:"distribution"`
	// Without is the reads alone; With the same tenants' reads under the
	// disturbance. P99Ratio is With's p99 over Without's.
	Without  Stats   `json:"without"`
	With     Stats   `json:"with"`
	P99Ratio float64 `json:"p99_ratio"`
	// Hot is the hot tenant's requests (hot-tenant), with its 503s.
	Hot *Stats `json:"hot,omitempty"`
	// Share is the hot tenant's share of the requests (hot-tenant) or the
	// unknown hosts' (flood); Rate the creations a second asked (churn).
	Share float64 `json:"share,omitempty"`
	Rate  float64 `json:"rate_per_s,omitempty"`
	// Created counts the tenants churn created during its load; Unknown is
	// the flood's requests on unknown hosts (answered 404).
	Created int `json:"created,omitempty"`
	// Missed counts the churn's creations skipped because
	// maxChurnInFlight were still running.
	Missed  int    `json:"missed_creations,omitempty"`
	Unknown *Stats `json:"unknown,omitempty"`
	// ReadRate is the reads' rate on both sides (churn, flood; see
	// Config.IsolationLoad), a fraction of ClosedRPS, what they reached
	// closed-loop just before; 0 for a closed-loop comparison.
	ReadRate  float64 `json:"read_rate_per_s,omitempty"`
	ClosedRPS float64 `json:"closed_loop_rps,omitempty"`
	Note      string  `json:"note,omitempty"`
}

// readRate measures o's closed-loop rate under p, and returns the open
// rate of an isolation comparison (Config.IsolationLoad), or 0 for none.
func (r *runner) readRate(ctx context.Context, p *picker, o op) (rate, closed float64, err error) {
	if r.cfg.IsolationLoad == 0 {
		return 0, 0, nil
	}
	st, err := drive(ctx, r.cfg, p, o)
	if err != nil {
		return 0, 0, err
	}
	return round3(st.RPS * r.cfg.IsolationLoad), st.RPS, nil
}

// openNote says at what rate an isolation comparison read.
func openNote(rate, closed float64) string {
	if rate == 0 {
		return ""
	}
	return fmt.Sprintf("; reads at %.0f/s both ways, %.0f%% of the %.0f/s reached closed-loop", rate, 100*rate/closed, closed)
}

func newIsolation(name string, d Distribution, without, with Stats) Isolation {
	iso := Isolation{Name: name, Distribution: d.String(), Without: without, With: with}
	if without.P99Ms > 0 {
		iso.P99Ratio = round3(with.P99Ms / without.P99Ms)
	}
	return iso
}

// measureIsolation runs the isolation scenario name under d.
func (r *runner) measureIsolation(ctx context.Context, name string, srv *server, tenants []*tenant, d Distribution) (Isolation, error) {
	read, _ := scenarioByName("items-list")
	o := srv.op(read)
	switch name {
	case hotTenantScenario:
		return r.hotTenant(ctx, o, tenants, d)
	case churnScenario:
		return r.churn(ctx, o, tenants, d)
	default:
		return r.flood(ctx, srv, o, tenants, d)
	}
}

// hotTenant sends cfg.HotTenantShare of the requests to tenants[0] and the
// rest to the others per d. Without it, the others get the same requests
// from the share of the workers that sent them (a closed loop sends what
// its workers wait for): cfg.Concurrency x (1 - share) workers.
func (r *runner) hotTenant(ctx context.Context, o op, tenants []*tenant, d Distribution) (Isolation, error) {
	hot, others := tenants[0], newPicker(tenants[1:], d)
	share := r.cfg.HotTenantShare
	alone, err := run(ctx, r.cfg, load{
		workers: max(1, int(math.Round(float64(r.cfg.Concurrency)*(1-share)))), warmup: r.cfg.warmup(len(tenants)),
		pick: func(rng *mrand.Rand) (*tenant, int) { return others.pick(rng), 0 }, ops: []op{o},
	})
	if err != nil {
		return Isolation{}, err
	}
	with, err := run(ctx, r.cfg, load{
		workers: r.cfg.Concurrency, warmup: r.cfg.warmup(len(tenants)),
		pick: func(rng *mrand.Rand) (*tenant, int) {
			if rng.Float64() < share {
				return hot, 1
			}
			return others.pick(rng), 0
		},
		ops: []op{o, o},
	})
	if err != nil {
		return Isolation{}, err
	}
	iso := newIsolation(hotTenantScenario, d, alone[0], with[0])
	iso.Hot, iso.Share = &with[1], share
	iso.Note = fmt.Sprintf("%s takes %.0f%% of the requests; without it: the others' requests from %.0f%% of the workers", hot.host, 100*share, 100*(1-share))
	return iso, nil
}

// churn reads while tenants are created cfg.ChurnRate times a second
// through provision.CreateTenant (argon2id-hashed admin included: a signup
// is a tenant creation), each creation starting on time whether or not the
// previous one finished, up to maxChurnInFlight at once: each holds a
// direct connection, and PostgreSQL's max_connections is shared. A tick
// that finds that many in flight is skipped and counted (Missed). The
// created tenants are deleted afterwards.
func (r *runner) churn(ctx context.Context, o op, tenants []*tenant, d Distribution) (Isolation, error) {
	p := newPicker(tenants, d)
	rate, closed, err := r.readRate(ctx, p, o)
	if err != nil {
		return Isolation{}, err
	}
	without, err := driveAt(ctx, r.cfg, p, o, rate)
	if err != nil {
		return Isolation{}, err
	}
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return Isolation{}, err
	}
	prefix := "ch" + hex.EncodeToString(b) + "_"
	var (
		mu      sync.Mutex
		created []string
		errs    []error
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	slots := make(chan struct{}, maxChurnInFlight)
	missed := 0
	ticking := make(chan struct{})
	go func() {
		defer close(ticking)
		tick := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.ChurnRate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case slots <- struct{}{}:
			default:
				mu.Lock()
				missed++
				mu.Unlock()
				continue
			}
			name := prefix + strconv.Itoa(i)
			wg.Go(func() {
				defer func() { <-slots }()
				_, err := r.prov.CreateTenant(ctx, provision.TenantParams{
					Schema: name, Name: "Churn " + name, Domain: strings.ReplaceAll(name, "_", "-") + ".localhost",
					Admin: &provision.UserParams{Username: adminUsername, Email: adminUsername + "@" + name + ".example", Password: adminPassword, Staff: true},
				})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				created = append(created, name)
			})
		}
	}()
	with, err := driveAt(ctx, r.cfg, p, o, rate)
	close(stop)
	<-ticking // no creation starts after this
	wg.Wait()
	// Removed whatever happened, so the next count starts as it would
	// without this scenario.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	for _, s := range created {
		if derr := r.prov.DeleteTenant(cctx, s); derr != nil {
			fmt.Fprintf(r.log, " (removing churn tenant %s: %v)", s, derr)
		}
	}
	if err != nil {
		return Isolation{}, err
	}
	if len(errs) > 0 {
		return Isolation{}, fmt.Errorf("churn: %d tenant creations failed, first: %w", len(errs), errs[0])
	}
	iso := newIsolation(churnScenario, d, without, with)
	iso.Rate, iso.Created, iso.Missed = r.cfg.ChurnRate, len(created), missed
	iso.ReadRate, iso.ClosedRPS = rate, closed
	iso.Note = fmt.Sprintf("%d tenants created (tenant create, argon2id included) during the warm-up and the measured reads", len(created)) + openNote(rate, closed)
	if missed > 0 {
		iso.Note += fmt.Sprintf("; %d creations skipped with %d still in flight: the rate was not kept", missed, maxChurnInFlight)
	}
	return iso, nil
}

// maxChurnInFlight bounds the churn's concurrent tenant creations.
const maxChurnInFlight = 8

// flood sends cfg.FloodShare of the requests (the same items-list request)
// to random hosts under .localhost that no tenant has, which the server
// admits (ALLOWED_HOSTS=.localhost) and answers 404, and the rest to the
// tenants per d; without it, every worker reads the tenants.
func (r *runner) flood(ctx context.Context, srv *server, o op, tenants []*tenant, d Distribution) (Isolation, error) {
	p := newPicker(tenants, d)
	rate, closed, err := r.readRate(ctx, p, o)
	if err != nil {
		return Isolation{}, err
	}
	without, err := driveAt(ctx, r.cfg, p, o, rate)
	if err != nil {
		return Isolation{}, err
	}
	read, _ := scenarioByName("items-list")
	unknown := func(ctx context.Context, t *tenant) *failure {
		status, body, err := srv.client.do(ctx, request{method: read.method, path: read.path, host: t.host}, false)
		switch {
		case err != nil:
			return &failure{key: "error", detail: fmt.Sprintf("unknown host %s: %v", t.host, err)}
		case status != http.StatusNotFound:
			return &failure{key: strconv.Itoa(status), detail: fmt.Sprintf("unknown host %s: %d %.300s", t.host, status, body)}
		}
		return nil
	}
	share := r.cfg.FloodShare
	with, err := run(ctx, r.cfg, load{
		workers: r.cfg.Concurrency, warmup: r.cfg.warmup(len(tenants)),
		pick: func(rng *mrand.Rand) (*tenant, int) {
			if rng.Float64() < share {
				return &tenant{host: fmt.Sprintf("u%016x.localhost", rng.Uint64())}, 1
			}
			return p.pick(rng), 0
		},
		ops: []op{o, unknown},
		// The tenants' reads keep their rate; the unknown hosts come on top.
		rate: rate / (1 - share),
	})
	if err != nil {
		return Isolation{}, err
	}
	iso := newIsolation(floodScenario, d, without, with[0])
	iso.Unknown, iso.Share = &with[1], share
	iso.ReadRate, iso.ClosedRPS = rate, closed
	iso.Note = fmt.Sprintf("%.0f%% of the requests on random unknown hosts (404)", 100*share) + openNote(rate, closed)
	return iso, nil
}

// HostCache is the server process's memory once every tenant's host has
// been requested: VmRSSKB of a server started for that alone, which holds
// the routing cache and little else, and LoadedVmRSSKB of the server that
// ran the load before, which also holds what the load left (a verified
// token per tenant, about 500 bytes each: token.maxVerified).
type HostCache struct {
	Hosts         int     `json:"hosts_requested"`
	Seconds       float64 `json:"seconds"`
	VmRSSKB       int64   `json:"server_vm_rss_kb"`
	LoadedVmRSSKB int64   `json:"loaded_server_vm_rss_kb"`
	Error         string  `json:"error,omitempty"`
}

// fillHostCache requests every tenant's host once (GET /api/profile/
// without a token: the host is resolved, then 401), and reads the server
// process's VmRSS.
func (r *runner) fillHostCache(ctx context.Context, srv *server, tenants []*tenant) (HostCache, error) {
	start := time.Now()
	err := forEach(ctx, r.cfg.Concurrency, len(tenants), func(ctx context.Context, i int) error {
		status, body, err := srv.client.do(ctx, request{method: http.MethodGet, path: "/api/profile/", host: tenants[i].host}, false)
		if err == nil && status != http.StatusUnauthorized {
			err = fmt.Errorf("GET /api/profile/ without a token on %s: %d %.300s", tenants[i].host, status, body)
		}
		return err
	})
	if err != nil {
		return HostCache{}, err
	}
	hc := HostCache{Hosts: len(tenants), Seconds: round3(time.Since(start).Seconds())}
	if hc.VmRSSKB, err = readStatusKB(srv.cmd.Process.Pid, "VmRSS"); err != nil {
		hc.Error = err.Error()
	}
	return hc, nil
}

// readStatusKB reads the field (VmRSS, RssAnon) of /proc/<pid>/status in kB.
func readStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if kb, ok := parseStatusKB(sc.Text(), field); ok {
			return kb, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s line", pid, field)
}

// parseStatusKB reads a "<field>:     1234 kB" line of /proc/<pid>/status.
func parseStatusKB(line, field string) (int64, bool) {
	rest, ok := strings.CutPrefix(line, field+":")
	if !ok {
		return 0, false
	}
	f := strings.Fields(rest)
	if len(f) != 2 || f[1] != "kB" {
		return 0, false
	}
	kb, err := strconv.ParseInt(f[0], 10, 64)
	return kb, err == nil
}
