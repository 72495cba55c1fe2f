package server

import (
	"context"
)

// requestInfo is what the request log line reports. Middleware stores a
// pointer in the context; later stages fill in the tenant and the user.
type requestInfo struct {
	id     string
	tenant string
	userID int64
}

type requestInfoKey struct{}

func withRequestInfo(ctx context.Context, ri *requestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// requestInfoFrom returns the request's info; never nil inside the handler chain.
func requestInfoFrom(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
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
