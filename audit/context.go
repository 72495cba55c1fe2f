package audit

import "context"

type actorKey struct{}

// WithActor returns ctx carrying a, the actor of the changes made under it
// by code that has no request of its own to ask: package provision's
// management operations, which the admin UI, the admin API and tenantctl
// share, record their entries with ActorFrom.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor WithActor put in ctx, and whether there is
// one.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Operator is the actor of a change made without a signed-in superuser
// (tenantctl, run by an operator with access to the database): no one the
// product knows signed in, so the command itself is named.
var Operator = System("tenantctl")

// OperatorFrom returns the actor WithActor put in ctx, or Operator when
// there is none: the management code that the admin and tenantctl share
// runs for a superuser only when the admin says so.
func OperatorFrom(ctx context.Context) Actor {
	if a, ok := ActorFrom(ctx); ok {
		return a
	}
	return Operator
}
