package cli_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/telemetry"
)

// TestServeMetrics: serve starts the METRICS_ADDR listener before the
// server, with the job workers' pool on it, and closes it when it stops;
// a METRICS_ADDR it cannot listen on is one error line.
func TestServeMetrics(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	a.env["METRICS_ADDR"] = "127.0.0.1:0"
	var addr string
	fake := func(_ context.Context, _ config.Config, _ *slog.Logger, _ *db.Pool, tel *telemetry.Telemetry) error {
		require.NotNil(t, tel.MetricsAddr())
		addr = tel.MetricsAddr().String()
		resp, err := http.Get("http://" + addr + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Contains(t, string(body), `tenantctl_db_pool_max_connections{pool="jobs"}`, "the workers' pool")
		assert.Contains(t, string(body), `tenantctl_signin_failures_total{surface="tenant"} 0`)
		return nil
	}
	r := a.runWith(runOpts{serve: fake}, "serve")
	require.NoError(t, r.err, r.stderr)
	assert.Contains(t, r.stderr, `msg="serving metrics" addr=`+addr)
	_, err := http.Get("http://" + addr + "/metrics")
	assert.Error(t, err, "the listener is closed once serve returns")

	t.Run("ErrAddr", func(t *testing.T) {
		a.env["METRICS_ADDR"] = "127.0.0.1:99999"
		wantErr(t, a.runWith(runOpts{serve: fake}, "serve"), 1, `METRICS_ADDR: cannot listen on "127.0.0.1:99999": listen tcp: address 99999: invalid port`)
	})
}
