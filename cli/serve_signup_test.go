package cli_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/telemetry"
)

// TestServeSignupCheck: with signup on, serve refuses a configuration under
// which the tenants signup creates would not be served.
func TestServeSignupCheck(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := newApp(t, d)
	calls := 0
	fake := func(context.Context, config.Config, *slog.Logger, *db.Pool, *telemetry.Telemetry) error {
		calls++
		return nil
	}
	a.env["ALLOWED_HOSTS"] = "example.com"
	a.env["TENANT_BASE_DOMAIN"] = "example.com"
	wantErr(t, a.runWith(runOpts{serve: fake}, "serve"), 1,
		"refusing to serve: ALLOWED_HOSTS does not admit the hosts signup creates (<subdomain>.example.com), so every new tenant would be refused; add .example.com to ALLOWED_HOSTS, or set SIGNUP_ENABLED=false")
	assert.Zero(t, calls)

	a.env["SIGNUP_ENABLED"] = "false"
	assert.NoError(t, a.runWith(runOpts{serve: fake}, "serve").err)
	assert.Equal(t, 1, calls)
}
