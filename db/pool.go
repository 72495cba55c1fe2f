package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool is the product's connection pool. Its embedded pgxpool serves the
// public schema, River and every statement sent to the pool directly.
// Tenant transactions (InTenant, ReadTenant, InTenantTx and their variants)
// run on parts of their own: each tenant hashes to one part, so a
// PostgreSQL backend serves a stable share of the tenants and keeps their
// catalog entries and plans warm, where a backend that served every tenant
// would miss its caches on almost every request once tenants are many.
//
// Affinity never leaves work waiting while a connection is idle: a tenant
// whose part is busy takes an idle connection of another part, and a
// released connection goes first to a transaction waiting for its part,
// else to the one waiting longest. Behind PgBouncer in transaction mode the
// pooler picks the backend, so the affinity is lost there; the per-tenant
// cap still holds.
//
// A Pool with no parts (a Pool{Pool: p} made by hand) runs tenant work on
// its embedded pool, without affinity or cap.
type Pool struct {
	*pgxpool.Pool
	parts []*pgxpool.Pool
	// tenantConns is how many tenant transactions of one tenant run at once
	// while others wait; over it, a transaction waits at most tenantWait.
	tenantConns int
	tenantWait  time.Duration

	mu      sync.Mutex
	free    []int          // connections of each part not lent out
	busy    map[string]int // tenant transactions lent a connection, by schema
	waiters []*waiter      // oldest first
	// rejected counts the tenant transactions refused with ErrTenantBusy.
	rejected atomic.Int64
}

// ErrTenantBusy is returned for a tenant transaction that waited its
// Limits.TenantWait while its tenant already ran Limits.TenantConns
// transactions and other tenants' work was waiting for connections.
var ErrTenantBusy = errors.New("tenant has too much database work in progress")

// waiter is a tenant transaction waiting for a connection.
type waiter struct {
	tenant string
	home   int
	lent   chan int // the part whose connection it was lent
}

// DefaultTenantWait is how long a transaction over its tenant's cap waits
// for a connection before ErrTenantBusy: long enough to ride out a burst,
// short enough that a client retries (Retry-After) instead of piling up.
const DefaultTenantWait = time.Second

// NewPool opens a Pool from cfg, as Open does without the first ping: cfg
// is configured (Configure) and sized by lim. The embedded pool gets
// cfg.MaxConns connections unless lim.Conns is set; the parts share as many.
func NewPool(ctx context.Context, cfg *pgxpool.Config, lim Limits) (*Pool, error) {
	if err := Configure(cfg, lim); err != nil {
		return nil, err
	}
	if lim.Conns > 0 {
		cfg.MaxConns = int32(lim.Conns)
	}
	size := int(cfg.MaxConns)
	parts := lim.Parts
	if parts == 0 {
		// One connection per part: each tenant then always meets the same
		// backend while its part is free, and every backend's memory
		// bound (Limits.Schemas) covers tenants/size schemas.
		parts = size
	}
	if parts < 1 || parts > size {
		return nil, fmt.Errorf("database pool: %d parts for %d connections: need 1 to %d", parts, size, size)
	}
	if lim.TenantConns < 0 || lim.TenantWait < 0 {
		return nil, fmt.Errorf("database pool: %d connections and %s of wait per tenant: need neither negative", lim.TenantConns, lim.TenantWait)
	}
	p := &Pool{tenantConns: lim.TenantConns, tenantWait: lim.TenantWait, busy: map[string]int{}, free: make([]int, parts)}
	if p.tenantConns == 0 {
		p.tenantConns = max(1, size/2)
	}
	if p.tenantWait == 0 {
		p.tenantWait = DefaultTenantWait
	}
	var err error
	if p.Pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	for i := range parts {
		pc := cfg.Copy()
		// The first size%parts parts get one connection more.
		pc.MaxConns = int32(size / parts)
		if i < size%parts {
			pc.MaxConns++
		}
		pc.MinConns = 0
		part, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("open database: %w", err)
		}
		p.parts = append(p.parts, part)
		p.free[i] = int(pc.MaxConns)
	}
	return p, nil
}

// Close closes the embedded pool and the parts.
func (p *Pool) Close() {
	for _, part := range p.parts {
		part.Close()
	}
	p.Pool.Close()
}

// Waiting is how many tenant transactions wait for a connection now.
func (p *Pool) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}

// Rejected is how many tenant transactions ended in ErrTenantBusy.
func (p *Pool) Rejected() int64 { return p.rejected.Load() }

// Parts are the pools that tenant transactions run on (for their metrics).
func (p *Pool) Parts() []*pgxpool.Pool { return p.parts }

// part returns the part that the tenant named by schema hashes to: FNV-1a,
// spelled out so that it allocates nothing on the request path.
func (p *Pool) part(schema string) int {
	h := uint32(2166136261)
	for i := 0; i < len(schema); i++ {
		h ^= uint32(schema[i])
		h *= 16777619
	}
	return int(h % uint32(len(p.parts)))
}

// acquire returns a connection for a transaction in s: from the embedded
// pool for the public schema, else from s's part (see Pool). release must
// be called once the connection is released.
func (p *Pool) acquire(ctx context.Context, s Schema) (c *pgxpool.Conn, release func(), err error) {
	if s.IsZero() || len(p.parts) == 0 {
		c, err := p.Pool.Acquire(ctx)
		return c, func() {}, err
	}
	part, err := p.lend(ctx, s.name)
	if err != nil {
		return nil, nil, err
	}
	done := func() { p.giveBack(s.name, part) }
	if c, err = p.parts[part].Acquire(ctx); err != nil {
		done()
		return nil, nil, err
	}
	return c, done, nil
}

// lend reserves a connection of a part for tenant: its own part's if one
// is free, else any free one, else the first that a release hands over.
func (p *Pool) lend(ctx context.Context, tenant string) (int, error) {
	home := p.part(tenant)
	p.mu.Lock()
	// A connection is free only while nothing waits (giveBack hands each
	// released one over), so the lone tenant takes every idle connection,
	// beyond its cap.
	// Looking from home onwards, a tenant's overflow goes to the parts after
	// its own first: a backend then caches its own share and its
	// neighbour's, rather than the first part caching everyone's.
	part := -1
	for i := range p.free {
		if j := (home + i) % len(p.free); p.free[j] > 0 {
			part = j
			break
		}
	}
	if part >= 0 {
		p.free[part]--
		p.busy[tenant]++
		p.mu.Unlock()
		return part, nil
	}
	w := &waiter{tenant: tenant, home: home, lent: make(chan int, 1)}
	over := p.busy[tenant] >= p.tenantConns
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()

	var timeout <-chan time.Time
	var timer *time.Timer
	if over {
		timer = time.NewTimer(p.tenantWait)
		defer timer.Stop()
		timeout = timer.C
	}
	var err error
	for err == nil {
		select {
		case part := <-w.lent:
			return part, nil
		case <-ctx.Done():
			err = ctx.Err()
		case <-timeout:
			// Refused only to make room for other tenants: a tenant whose
			// own work fills the pool (its transactions slowed by a lock,
			// say) keeps waiting, as it would for any pool.
			if p.othersWaiting(tenant) {
				err = ErrTenantBusy
			} else {
				timer.Reset(p.tenantWait)
			}
		}
	}
	p.mu.Lock()
	for i, o := range p.waiters {
		if o == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			if err == ErrTenantBusy {
				p.rejected.Add(1)
			}
			return 0, err
		}
	}
	p.mu.Unlock()
	// Lent a connection while giving up: hand it on.
	p.giveBack(tenant, <-w.lent)
	return 0, err
}

// othersWaiting reports whether a transaction of another tenant than
// tenant waits for a connection.
func (p *Pool) othersWaiting(tenant string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.waiters {
		if w.tenant != tenant {
			return true
		}
	}
	return false
}

// giveBack returns tenant's connection of part: to a waiting transaction
// (see next), else to the free ones.
func (p *Pool) giveBack(tenant string, part int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.busy[tenant] - 1; n > 0 {
		p.busy[tenant] = n
	} else {
		delete(p.busy, tenant)
	}
	i := p.next(part)
	if i < 0 {
		p.free[part]++
		return
	}
	w := p.waiters[i]
	p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
	p.busy[w.tenant]++
	w.lent <- part
}

// next picks the waiter to lend a released connection of part to, or -1:
// first the waiters whose tenant is under its cap, so that a hot tenant
// cannot hold the pool while others wait; among those, the oldest whose
// tenant belongs to part (its caches are warm there), else the oldest.
func (p *Pool) next(part int) int {
	best, rank := -1, 4
	for i, w := range p.waiters {
		r := 0
		if p.busy[w.tenant] >= p.tenantConns {
			r += 2
		}
		if w.home != part {
			r++
		}
		if r < rank {
			best, rank = i, r
			if r == 0 {
				break
			}
		}
	}
	return best
}

// NewConnsCount is how many connections the pool and its parts opened.
func (p *Pool) NewConnsCount() int64 {
	n := p.Pool.Stat().NewConnsCount()
	for _, part := range p.parts {
		n += part.Stat().NewConnsCount()
	}
	return n
}
