package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
)

// AddPool reports pool's statistics under pool=name (requests, jobs) for
// its public connections and pool=name_tenants for its tenant parts, added
// up. Adding a name again replaces its pool.
func (m *Metrics) AddPool(name string, pool *db.Pool) {
	if m == nil {
		return
	}
	m.pools.mu.Lock()
	defer m.pools.mu.Unlock()
	if m.pools.pools == nil {
		m.pools.pools = map[string]*db.Pool{}
	}
	m.pools.pools[name] = pool
}

// WatchJobQueue reports the job queue's depth, read from pool at every
// scrape (not per request: a scrape every few seconds is one cheap query).
// Its errors are logged to log.
func (m *Metrics) WatchJobQueue(pool *db.Pool, log *slog.Logger) {
	if m == nil {
		return
	}
	m.queue.mu.Lock()
	m.queue.pool, m.queue.log = pool, log
	m.queue.mu.Unlock()
}

var (
	descAcq     = poolDesc("tenantctl_db_pool_acquired_connections", "Connections of the pool in use.")
	descIdle    = poolDesc("tenantctl_db_pool_idle_connections", "Connections of the pool idle.")
	descTotal   = poolDesc("tenantctl_db_pool_connections", "Connections of the pool, in use, idle or being opened.")
	descMax     = poolDesc("tenantctl_db_pool_max_connections", "The pool's size limit.")
	descAcqs    = poolDesc("tenantctl_db_pool_acquires_total", "Connections taken from the pool.")
	descWaited  = poolDesc("tenantctl_db_pool_waited_acquires_total", "Acquires that had to wait for a connection (none was idle).")
	descWait    = poolDesc("tenantctl_db_pool_acquire_seconds_total", "Time spent acquiring connections.")
	descCancels = poolDesc("tenantctl_db_pool_canceled_acquires_total", "Acquires given up (the request's context ended) before a connection was free.")
	descNew     = poolDesc("tenantctl_db_pool_opened_connections_total", "Connections opened.")
	descBusy    = poolDesc("tenantctl_db_pool_tenant_busy_total", "Tenant transactions refused (503 tenant_busy): over the tenant's cap, no connection came within DB_TENANT_QUEUE_WAIT.")
	poolDescs   = []*prometheus.Desc{descAcq, descIdle, descTotal, descMax, descAcqs, descWaited, descWait, descCancels, descNew, descBusy}
)

func poolDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"pool"}, nil)
}

// poolCollector reads pgxpool's statistics at scrape time.
type poolCollector struct {
	mu    sync.Mutex
	pools map[string]*db.Pool
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range poolDescs {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, p := range c.pools {
		collectPools(ch, name, p.Pool)
		if parts := p.Parts(); len(parts) > 0 {
			collectPools(ch, name+"_tenants", parts...)
			ch <- prometheus.MustNewConstMetric(descBusy, prometheus.CounterValue, float64(p.Rejected()), name+"_tenants")
		}
	}
}

// collectPools reports the statistics of pools, added up, under pool=name.
func collectPools(ch chan<- prometheus.Metric, name string, pools ...*pgxpool.Pool) {
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, name)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, name)
	}
	var acq, idle, total, maxConns, acqs, waited, cancels, opened int64
	var wait time.Duration
	for _, p := range pools {
		s := p.Stat()
		acq += int64(s.AcquiredConns())
		idle += int64(s.IdleConns())
		total += int64(s.TotalConns())
		maxConns += int64(s.MaxConns())
		acqs += s.AcquireCount()
		waited += s.EmptyAcquireCount()
		wait += s.AcquireDuration()
		cancels += s.CanceledAcquireCount()
		opened += s.NewConnsCount()
	}
	gauge(descAcq, float64(acq))
	gauge(descIdle, float64(idle))
	gauge(descTotal, float64(total))
	gauge(descMax, float64(maxConns))
	counter(descAcqs, float64(acqs))
	counter(descWaited, float64(waited))
	counter(descWait, wait.Seconds())
	counter(descCancels, float64(cancels))
	counter(descNew, float64(opened))
}

var (
	descJobs = prometheus.NewDesc("tenantctl_jobs",
		"Background jobs not finished yet, by state: available (due, waiting for a worker), running, retryable (failed, retried later), scheduled, pending.",
		[]string{"state"}, nil)
	descOldest = prometheus.NewDesc("tenantctl_jobs_oldest_available_seconds",
		"How long the oldest available job has been due: the queue's backlog in time (0 when none is waiting).", nil, nil)
)

// queueStates are reported even at 0, so that a queue that empties shows 0
// rather than no series.
var queueStates = []string{"available", "pending", "retryable", "running", "scheduled"}

// queueCollector reads the job queue's depth at scrape time.
type queueCollector struct {
	mu   sync.Mutex
	pool *db.Pool
	log  *slog.Logger
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descJobs
	ch <- descOldest
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	pool, log := c.pool, c.log
	c.mu.Unlock()
	if pool == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := db.InPublicV(ctx, pool, func(q *publicdb.Queries) ([]publicdb.JobQueueDepthRow, error) {
		return q.JobQueueDepth(ctx)
	})
	if err != nil {
		// The other metrics are still worth a scrape: these are left out.
		log.Error("metrics: read the job queue's depth", "err", err)
		return
	}
	counts := map[string]float64{}
	oldest := 0.0
	for _, r := range rows {
		counts[r.State] = float64(r.Jobs)
		if r.State == "available" {
			oldest = max(r.OldestSeconds, 0)
		}
	}
	for _, s := range queueStates {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, counts[s], s)
	}
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, oldest)
}
