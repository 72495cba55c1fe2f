package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/server"
)

// TestDatabaseRestart stops PostgreSQL under a running server: requests
// answer 503 (never 500) while it is down, and succeed again once it is
// back, without restarting the server.
func TestDatabaseRestart(t *testing.T) {
	c := dbtest.NewCluster(t)
	d := dbtest.NewOn(t, c.URL)
	hasher := password.NewHasher(1)
	_, err := provision.New(d.Pool, d.Migrator, hasher).Demo(t.Context())
	require.NoError(t, err)
	cfg := testConfig(t)
	cfg.DatabaseURL, cfg.DatabaseDirectURL = d.URL, d.URL
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), d.Pool, hasher, nil))
	t.Cleanup(func() { srv.Close(); cancel() })
	e := &env{t: t, db: d, srv: srv, cfg: cfg, token: map[string]string{}}
	tok := e.demo(school1)
	items := req{method: "GET", host: school1, path: "/api/items/", bearer: tok}
	require.Equal(t, 200, e.do(items).status)

	c.Stop()
	for _, rq := range []req{items, items, {method: "GET", host: school2, path: "/api/profile/", bearer: tok},
		{method: "POST", host: school1, path: "/api/token/", body: map[string]string{"username": "demo", "password": "demo123"}}} {
		r := e.do(rq)
		assert.Equal(t, 503, r.status, "%s %s while the database is down: %s", rq.method, rq.path, r.body)
	}
	assert.Equal(t, 503, e.do(req{method: "GET", host: public, path: "/ready/"}).status)
	assert.Equal(t, 200, e.do(req{method: "GET", host: public, path: "/health/"}).status, "liveness does not depend on the database")

	c.Start()
	eventually(t, func() bool { return e.do(items).status == 200 })
	assert.Equal(t, 200, e.do(req{method: "GET", host: public, path: "/ready/"}).status)
	r := e.do(req{method: "POST", host: school1, path: "/api/items/", body: map[string]string{"name": "after restart"}, bearer: tok})
	assert.Equal(t, 201, r.status)
}
