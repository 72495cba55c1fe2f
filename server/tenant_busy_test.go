package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/server"
)

// TestTenantBusy checks the per-tenant cap at the API: a server whose pool
// has one tenant connection and a cap of one answers a request of school1,
// while school1's transaction holds that connection and school2's request
// waits for it, with 503 tenant_busy and Retry-After once its wait is over;
// once the connection is back, school2 is served, then school1 again.
func TestTenantBusy(t *testing.T) {
	e := newEnv(t)
	tok, tok2 := e.demo(school1), e.demo(school2)
	url := e.db.URL
	if e.cfg.DatabaseURL != e.db.URL {
		url = e.cfg.DatabaseURL // through PgBouncer
	}
	pool, err := db.Open(t.Context(), url, db.Limits{Schemas: 100, Conns: 1, TenantConns: 1, TenantWait: 100 * time.Millisecond})
	require.NoError(t, err)
	defer pool.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	busy := *e
	busy.srv = httptest.NewServer(server.New(ctx, e.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), pool, password.NewHasher(0), nil))
	defer busy.srv.Close()
	items := req{method: "GET", host: school1, path: "/api/items/", bearer: tok}
	require.Equal(t, 200, busy.do(items).status)

	held, done, ended := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		ended <- db.InTenantTx(context.Background(), pool, db.MustParseSchema("school1"), func(*tenantdb.Queries, pgx.Tx) error {
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	other := make(chan int, 1)
	go func() {
		other <- busy.do(req{method: "GET", host: school2, path: "/api/items/", bearer: tok2}).status
	}()
	for pool.Waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	r := busy.do(items)
	assert.Equal(t, 503, r.status)
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	assert.Equal(t, map[string]any{"detail": "This tenant has too many requests in progress, try again shortly.", "code": "tenant_busy"}, r.json(t))
	assert.EqualValues(t, 1, pool.Rejected())

	close(done)
	require.NoError(t, <-ended)
	assert.Equal(t, 200, <-other, "school2, within its cap, waited and was served")
	assert.Equal(t, 200, busy.do(items).status)
}
