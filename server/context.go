package server

import (
	"context"

	"github.com/tenantctl/tenantctl/telemetry"
)

// requestInfo is what the request's log lines, metrics and span report:
// its id, route template, tenant and user. Middleware stores a pointer in
// the context; later stages fill in the route, the tenant and the user.
type requestInfo = telemetry.Scope

func withRequestInfo(ctx context.Context, ri *requestInfo) context.Context {
	return telemetry.WithScope(ctx, ri)
}

// requestInfoFrom returns the request's info; never nil inside the handler chain.
func requestInfoFrom(ctx context.Context) *requestInfo {
	if ri := telemetry.ScopeFrom(ctx); ri != nil {
		return ri
	}
	return &requestInfo{}
}

type tenantKey struct{}

func withTenant(ctx context.Context, t tenant) context.Context {
	return context.WithValue(ctx, tenantKey{}, t)
}

// tenantFrom returns the request's tenant; ok is false on the public host.
func tenantFrom(ctx context.Context) (tenant, bool) {
	t, ok := ctx.Value(tenantKey{}).(tenant)
	return t, ok
}
