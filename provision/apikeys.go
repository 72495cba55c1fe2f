package provision

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/token"
)

// APIKey is an API key of a tenant, without the key itself (server/apikeys.go
// serves the same keys over HTTP).
type APIKey struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scope      string     `json:"scope"`
	ExpiresAt  *time.Time `json:"expires_at"`
	CreatedBy  int64      `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func apiKeyOf(k tenantdb.ApiKey) APIKey {
	return APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scope: k.Scope, ExpiresAt: utcOrNil(k.ExpiresAt),
		CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt.UTC(), LastUsedAt: utcOrNil(k.LastUsedAt)}
}

func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// APIKeyParams are a new API key's: the user it acts as (by username), its
// name (1 to 100 characters), scope (read or read_write) and optional
// expiry (in the future).
type APIKeyParams struct {
	Username, Name, Scope string
	ExpiresAt             *time.Time
}

// CreateAPIKey makes an API key for the user params.Username of the tenant
// of schemaName, recorded in the tenant's audit log as made by tenantctl,
// and returns it with the key itself, which is stored only as a hash. It
// returns a FieldError for invalid params or an unknown or inactive user,
// ErrNotFound for an unknown tenant.
func (s *Service) CreateAPIKey(ctx context.Context, schemaName string, p APIKeyParams) (APIKey, string, error) {
	name := strings.TrimSpace(p.Name)
	switch {
	case name == "":
		return APIKey{}, "", fieldErr("name", "This field may not be blank.")
	case utf8.RuneCountInString(p.Name) > 100:
		return APIKey{}, "", fieldErr("name", "Ensure this field has no more than 100 characters.")
	case p.Scope != "read" && p.Scope != "read_write":
		return APIKey{}, "", fieldErr("scope", "%q is not a valid choice.", p.Scope)
	case p.ExpiresAt != nil && !p.ExpiresAt.After(time.Now()):
		return APIKey{}, "", fieldErr("expires_at", "Ensure this value is in the future.")
	}
	t, err := s.GetTenant(ctx, schemaName)
	if err != nil {
		return APIKey{}, "", err
	}
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return APIKey{}, "", err
	}
	key, prefix, hash := token.NewAPIKey(t.ID)
	k, err := inTenantV(ctx, s, schema, func(q *tenantdb.Queries) (APIKey, error) {
		u, err := q.GetUserByUsername(ctx, p.Username)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !u.IsActive {
			return APIKey{}, fieldErr("username", "No active user with this username.")
		}
		if err != nil {
			return APIKey{}, err
		}
		row, err := q.CreateAPIKey(ctx, tenantdb.CreateAPIKeyParams{
			Name: p.Name, Prefix: prefix, KeyHash: hash, Scope: p.Scope, CreatedBy: u.ID, ExpiresAt: p.ExpiresAt,
		})
		if err != nil {
			return APIKey{}, err
		}
		k := apiKeyOf(row)
		return k, record(ctx, q, schema, audit.Entry{
			Action: audit.APIKeyCreated, Target: audit.Of("api_key", k.ID),
			After: map[string]any{"name": k.Name, "scope": k.Scope, "expires_at": k.ExpiresAt, "prefix": k.Prefix},
			Data:  k,
		})
	})
	return k, key, err
}

// ListAPIKeys returns the API keys of the tenant of schemaName that are not
// revoked, newest first. It returns ErrNotFound for an unknown tenant.
func (s *Service) ListAPIKeys(ctx context.Context, schemaName string) ([]APIKey, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return nil, err
	}
	return inTenantV(ctx, s, schema, func(q *tenantdb.Queries) ([]APIKey, error) {
		var out []APIKey
		for {
			rows, err := q.ListAPIKeys(ctx, tenantdb.ListAPIKeysParams{Lim: MaxPageSize, Off: int64(len(out))})
			if err != nil {
				return nil, err
			}
			for _, r := range rows {
				out = append(out, apiKeyOf(tenantdb.ApiKey{ID: r.ID, Name: r.Name, Prefix: r.Prefix, Scope: r.Scope,
					CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt}))
			}
			if len(rows) < MaxPageSize {
				return out, nil
			}
		}
	})
}

// RevokeAPIKey revokes API key id of the tenant of schemaName, recorded in
// the tenant's audit log as done by tenantctl. It returns ErrNotFound for
// an unknown tenant, or a key unknown or revoked already.
func (s *Service) RevokeAPIKey(ctx context.Context, schemaName string, id int64) (APIKey, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return APIKey{}, err
	}
	return inTenantV(ctx, s, schema, func(q *tenantdb.Queries) (APIKey, error) {
		row, err := q.RevokeAPIKey(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return APIKey{}, ErrNotFound
		}
		if err != nil {
			return APIKey{}, err
		}
		k := apiKeyOf(row)
		return k, record(ctx, q, schema, audit.Entry{
			Action: audit.APIKeyRevoked, Target: audit.Of("api_key", k.ID),
			Before: map[string]any{"name": k.Name, "scope": k.Scope, "prefix": k.Prefix},
			Data:   k,
		})
	})
}

// inTenantV is db.InTenantV with a tenant deleted meanwhile as ErrNotFound.
func inTenantV[T any](ctx context.Context, s *Service, schema db.Schema, fn func(q *tenantdb.Queries) (T, error)) (T, error) {
	v, err := db.InTenantV(ctx, s.pool, schema, fn)
	return v, tenantGone(err)
}
