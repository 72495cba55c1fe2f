package bench

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/google/uuid"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// The ceiling functions run the SQL of each endpoint's handler exactly as
// the handler sends it (server/auth.go, server/items.go): the same
// transactions through db.InTenant (db.ReadTenant for the reads), the same
// sqlc queries in the same order, with nothing of HTTP, JSON or JWT around
// them.

// ceilingOp is the load operation of sc's ceiling on pool.
func ceilingOp(pool *db.Pool, sc scenario) op {
	return func(ctx context.Context, t *tenant) *failure {
		if err := sc.ceiling(ctx, pool, t); err != nil {
			return &failure{key: "error", detail: err.Error()}
		}
		return nil
	}
}

// ceilingItemsList is GET /api/items/ (page 1): the token's user, then the
// page with its count, as reads.
func ceilingItemsList(ctx context.Context, pool *db.Pool, t *tenant) error {
	return db.ReadTenant(ctx, pool, t.schema, func(q *tenantdb.Queries) error {
		if _, err := q.GetActiveUser(ctx, t.userID); err != nil {
			return err
		}
		_, err := q.ListItems(ctx, tenantdb.ListItemsParams{Lim: 20, Off: 0})
		return err
	})
}

// ceilingProfile is GET /api/profile/: the token's user, as a read.
func ceilingProfile(ctx context.Context, pool *db.Pool, t *tenant) error {
	return db.ReadTenant(ctx, pool, t.schema, func(q *tenantdb.Queries) error {
		_, err := q.GetActiveUser(ctx, t.userID)
		return err
	})
}

// ceilingProfileAPIKey is GET /api/profile/ with an API key: the key's row
// and its user in one statement, by the key's hash.
func ceilingProfileAPIKey(ctx context.Context, pool *db.Pool, t *tenant) error {
	h := sha256.Sum256([]byte(t.apiKey))
	return db.ReadTenant(ctx, pool, t.schema, func(q *tenantdb.Queries) error {
		_, err := q.GetAPIKeyUser(ctx, h[:])
		return err
	})
}

// ceilingItemsCreate is POST /api/items/: the token's user, then the insert.
func ceilingItemsCreate(ctx context.Context, pool *db.Pool, t *tenant) error {
	return db.InTenant(ctx, pool, t.schema, func(q *tenantdb.Queries) error {
		u, err := q.GetActiveUser(ctx, t.userID)
		if err != nil {
			return err
		}
		_, err = q.CreateItem(ctx, tenantdb.CreateItemParams{
			Name: loadItemName, Description: "Created by the benchmark load.", CreatedBy: &u.ID,
		})
		return err
	})
}

// refreshTTL is the server's default REFRESH_TOKEN_TTL.
const refreshTTL = 168 * time.Hour

// ceilingToken is POST /api/token/ without the argon2id verification and
// the JWT signing: the throttle count and the user by name as a read, then
// the refresh token, the last login and the throttle's give-back in a
// transaction (the server's statements).
func ceilingToken(ctx context.Context, pool *db.Pool, t *tenant) error {
	// The server's keys are hashes of the account and the client address;
	// any two distinct 32-byte keys cost the same.
	keys := [][]byte{make([]byte, 32), append(make([]byte, 31), 1)}
	u, err := db.ReadTenantV(ctx, pool, t.schema, func(q *tenantdb.Queries) (tenantdb.SignInUserRow, error) {
		if _, err := q.Throttle(ctx, tenantdb.ThrottleParams{Keys: keys, Limits: []int32{1 << 30, 1 << 30}, WindowSecs: 300}); err != nil {
			return tenantdb.SignInUserRow{}, err
		}
		return q.SignInUser(ctx, adminUsername)
	})
	if err != nil {
		return err
	}
	return db.InTenant(ctx, pool, t.schema, func(q *tenantdb.Queries) error {
		err := q.RecordSignIn(ctx, tenantdb.RecordSignInParams{
			Jti: uuid.New(), Family: uuid.New(), UserID: u.ID, ExpiresAt: time.Now().Add(refreshTTL),
		})
		if err != nil {
			return err
		}
		return q.ThrottleSucceeded(ctx, keys)
	})
}
