package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/telemetry"
)

// tenant is the tenant a request's Host resolved to.
type tenant struct {
	ID     int64
	Schema db.Schema
}

// cacheTTL is a safety net under LISTEN/NOTIFY invalidation, which is what
// keeps answers fresh. It is long because every expiry costs a query: with
// 10,000 tenants sharing 600 requests a second, a one-minute TTL sent more
// than a quarter of the requests to the database for their host.
const cacheTTL = 10 * time.Minute

// tenantCache resolves hosts to tenants, caching answers in process, in two
// LRUs: tenants' hosts in one, "not a tenant" answers in another, so that
// hosts nobody owns (client input: a wildcard ALLOWED_HOSTS admits any
// number) can only evict each other. Every routing change NOTIFYs
// tenant_routing naming the hosts it concerns, and the listener drops those
// answers only; while the listener is not connected, the cache is bypassed,
// so an answer is never staler than the NOTIFY delivery.
type tenantCache struct {
	pool *db.Pool
	log  *slog.Logger
	// metrics counts hits and misses; nil when metrics are off.
	metrics *telemetry.Metrics
	// listenURL reaches PostgreSQL directly: LISTEN needs a session of its
	// own, which a transaction pooler does not keep.
	listenURL string

	// mu guards the LRUs (simplelru is not safe for concurrent use) with
	// gen and listening, so that a lookup's answer is stored only if no
	// invalidation came in between.
	mu        sync.Mutex
	known     *simplelru.LRU[string, knownHost]
	unknown   *simplelru.LRU[string, time.Time] // when it was looked up
	gen       uint64                            // bumped on every invalidation
	listening bool
}

// knownHost is a cached tenant host: its tenant, and when it was looked up.
type knownHost struct {
	t  tenant
	at time.Time
}

// newTenantCache returns a cache of at most hosts tenant hosts and
// unknownHosts "not a tenant" answers (both at least 1: config.Load checks).
func newTenantCache(pool *db.Pool, log *slog.Logger, listenURL string, hosts, unknownHosts int) *tenantCache {
	known, err := simplelru.NewLRU[string, knownHost](hosts, nil)
	if err != nil {
		panic(err)
	}
	unknown, err := simplelru.NewLRU[string, time.Time](unknownHosts, nil)
	if err != nil {
		panic(err)
	}
	return &tenantCache{pool: pool, log: log, listenURL: listenURL, known: known, unknown: unknown}
}

// resolve returns the tenant of host, or found=false for a host that is not
// a ready tenant's domain.
func (c *tenantCache) resolve(ctx context.Context, host string) (t tenant, found bool, err error) {
	c.mu.Lock()
	t, found, hit := c.cached(host)
	gen := c.gen
	c.mu.Unlock()
	c.metrics.CacheLookup(hit)
	if hit {
		return t, found, nil
	}

	row, err := db.InPublicV(ctx, c.pool, func(q *publicdb.Queries) (publicdb.ResolveDomainRow, error) {
		return q.ResolveDomain(ctx, host)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return tenant{}, false, err
	default:
		s, perr := db.ParseSchema(row.SchemaName)
		if perr != nil {
			return tenant{}, false, perr
		}
		// Pinned: the request's transactions check that this very tenant
		// still owns the schema (see db.Schema).
		t, found = tenant{ID: row.ID, Schema: s.Pin(row.ID, row.SchemaOid)}, true
	}
	c.store(host, gen, t, found)
	return t, found, nil
}

// cached returns the cached answer for host, if there is a fresh one and
// the listener is connected. The caller holds mu.
func (c *tenantCache) cached(host string) (t tenant, found, ok bool) {
	if !c.listening {
		return tenant{}, false, false
	}
	if e, ok := c.known.Get(host); ok && time.Since(e.at) < cacheTTL {
		return e.t, true, true
	}
	if at, ok := c.unknown.Get(host); ok && time.Since(at) < cacheTTL {
		return tenant{}, false, true
	}
	return tenant{}, false, false
}

// store caches the answer for host that a lookup begun at generation gen
// found, unless an invalidation came in since: the NOTIFY that raced with
// the query must not be undone by the stale answer it may have read.
func (c *tenantCache) store(host string, gen uint64, t tenant, found bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || !c.listening {
		return
	}
	// An expired answer may still be in the other LRU.
	if found {
		c.unknown.Remove(host)
		c.known.Add(host, knownHost{t: t, at: time.Now()})
	} else {
		c.known.Remove(host)
		c.unknown.Add(host, time.Now())
	}
}

// routingChange is what the listener reads of a tenant_routing
// notification's payload (see the notify_tenant_routing trigger, which also
// names the table, operation and tenant, for people reading it): the hosts
// whose answers a change to a clients or domains row may have made wrong,
// or all when they would not fit in a notification.
type routingChange struct {
	Hosts []string `json:"hosts"`
	All   bool     `json:"all"`
}

// invalidate forgets the cached answers a routing change names, in both
// LRUs (a host may have become a tenant's or stopped being one). A payload
// that says all, or that it cannot read, forgets everything.
func (c *tenantCache) invalidate(payload string) {
	var ch routingChange
	err := json.Unmarshal([]byte(payload), &ch)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if err != nil || ch.All || ch.Hosts == nil {
		c.known.Purge()
		c.unknown.Purge()
		return
	}
	for _, h := range ch.Hosts {
		c.known.Remove(h)
		c.unknown.Remove(h)
	}
}

// forget drops the cached answer for host.
func (c *tenantCache) forget(host string) {
	c.mu.Lock()
	c.known.Remove(host)
	c.unknown.Remove(host)
	c.gen++
	c.mu.Unlock()
}

func (c *tenantCache) setListening(on bool) {
	c.mu.Lock()
	c.known.Purge()
	c.unknown.Purge()
	c.gen++
	c.listening = on
	c.mu.Unlock()
}

// listen keeps a LISTEN tenant_routing connection open until ctx ends,
// reconnecting after failures, and invalidates the cache on every
// notification.
func (c *tenantCache) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := c.listenOnce(ctx)
		c.setListening(false)
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("tenant routing listener disconnected; cache bypassed until it reconnects", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (c *tenantCache) listenOnce(ctx context.Context) error {
	cfg, err := c.listenConfig()
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN tenant_routing"); err != nil {
		return err
	}
	c.setListening(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		c.invalidate(n.Payload)
	}
}

// listenConfig is the connection config of the listener: the direct URL if
// one is configured, else the pool's own.
func (c *tenantCache) listenConfig() (*pgx.ConnConfig, error) {
	if c.listenURL == "" {
		return c.pool.Config().ConnConfig.Copy(), nil
	}
	pc, err := pgxpool.ParseConfig(c.listenURL)
	if err != nil {
		return nil, err
	}
	return pc.ConnConfig, nil
}
