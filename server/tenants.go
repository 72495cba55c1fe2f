package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"time"

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

// maxCachedHosts bounds the host cache (about 100 bytes an entry): hosts are
// client input, and a wildcard ALLOWED_HOSTS entry admits any number of
// them. When it is full, expired answers are dropped, and if that frees
// nothing the cache is emptied. It is ten times the tenant count the
// benchmark drives: at exactly its size, the cache emptied itself over and
// over.
const maxCachedHosts = 100_000

// cacheTTL is a safety net under LISTEN/NOTIFY invalidation, which is what
// keeps answers fresh. It is long because every expiry costs a query: with
// 10,000 tenants sharing 600 requests a second, a one-minute TTL sent more
// than a quarter of the requests to the database for their host.
const cacheTTL = 10 * time.Minute

// tenantCache resolves hosts to tenants, caching answers (including "not a
// tenant") in process. Every change to clients or domains NOTIFYs
// tenant_routing naming the tenant and host, and the listener drops the
// answers it concerns; while the listener is not connected, the cache is
// bypassed, so an answer is never staler than the NOTIFY delivery.
type tenantCache struct {
	pool *db.Pool
	log  *slog.Logger
	// metrics counts hits and misses; nil when metrics are off.
	metrics *telemetry.Metrics
	// listenURL reaches PostgreSQL directly: LISTEN needs a session of its
	// own, which a transaction pooler does not keep.
	listenURL string

	mu        sync.Mutex
	entries   map[string]cacheEntry
	gen       uint64 // bumped on every invalidation
	listening bool
}

type cacheEntry struct {
	t     tenant
	found bool
	at    time.Time
}

func newTenantCache(pool *db.Pool, log *slog.Logger, listenURL string) *tenantCache {
	return &tenantCache{pool: pool, log: log, listenURL: listenURL, entries: map[string]cacheEntry{}}
}

// resolve returns the tenant of host, or found=false for a host that is not
// a ready tenant's domain.
func (c *tenantCache) resolve(ctx context.Context, host string) (t tenant, found bool, err error) {
	c.mu.Lock()
	e, ok := c.entries[host]
	gen, listening := c.gen, c.listening
	c.mu.Unlock()
	if ok && listening && time.Since(e.at) < cacheTTL {
		c.metrics.CacheLookup(true)
		return e.t, e.found, nil
	}
	c.metrics.CacheLookup(false)

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

	c.mu.Lock()
	// Store only if nothing changed while we asked: an invalidation that
	// raced with the query must not be undone by a stale answer.
	if c.gen == gen && c.listening {
		if len(c.entries) >= maxCachedHosts {
			maps.DeleteFunc(c.entries, func(_ string, e cacheEntry) bool { return time.Since(e.at) >= cacheTTL })
			if len(c.entries) >= maxCachedHosts {
				clear(c.entries)
			}
		}
		c.entries[host] = cacheEntry{t: t, found: found, at: time.Now()}
	}
	c.mu.Unlock()
	return t, found, nil
}

// routingChange is a tenant_routing notification's payload: which tenant
// changed and, for a domain, which host.
type routingChange struct {
	Table    string `json:"table"`
	TenantID int64  `json:"tenant_id"`
	Host     string `json:"host"`
}

// invalidate forgets the cached answers a routing change may have made
// wrong: a changed domain's host; for a changed tenant, its hosts and every
// "not a tenant" answer (a tenant that became ready makes hosts routable).
// A payload it cannot read forgets everything.
func (c *tenantCache) invalidate(payload string) {
	var ch routingChange
	err := json.Unmarshal([]byte(payload), &ch)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch {
	case err == nil && ch.Table == "domains" && ch.Host != "":
		delete(c.entries, ch.Host)
	case err == nil && ch.Table == "clients" && ch.TenantID != 0:
		maps.DeleteFunc(c.entries, func(_ string, e cacheEntry) bool { return !e.found || e.t.ID == ch.TenantID })
	default:
		clear(c.entries)
	}
}

// forget drops the cached answer for host.
func (c *tenantCache) forget(host string) {
	c.mu.Lock()
	delete(c.entries, host)
	c.gen++
	c.mu.Unlock()
}

func (c *tenantCache) setListening(on bool) {
	c.mu.Lock()
	clear(c.entries)
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
