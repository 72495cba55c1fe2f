package provision

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// TenantChanges are the fields of a tenant to change; a nil field keeps its
// value.
type TenantChanges struct {
	Name    *string
	OnTrial *bool
	// PaidUntil, if not nil, sets the date; ClearPaidUntil removes it. At
	// most one of the two may be set.
	PaidUntil      *time.Time
	ClearPaidUntil bool
}

// UpdateTenant changes the given fields of the tenant of schemaName and
// returns it as it now is. It returns ErrNotFound for an unknown tenant and a
// *FieldError for an invalid value.
func (s *Service) UpdateTenant(ctx context.Context, schemaName string, ch TenantChanges) (publicdb.Client, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return publicdb.Client{}, err
	}
	if ch.Name != nil {
		if err := validateName(*ch.Name); err != nil {
			return publicdb.Client{}, err
		}
	}
	if ch.PaidUntil != nil && ch.ClearPaidUntil {
		return publicdb.Client{}, fieldErr("paid_until", "Give a date or clear it, not both.")
	}
	c, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Client, error) {
		return q.UpdateClient(ctx, publicdb.UpdateClientParams{
			SchemaName:   schema.String(),
			Name:         ch.Name,
			OnTrial:      ch.OnTrial,
			SetPaidUntil: ch.PaidUntil != nil || ch.ClearPaidUntil,
			PaidUntil:    ch.PaidUntil,
		})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// Domain is a mapped domain with its tenant's schema.
type Domain struct {
	Domain    string
	Schema    string
	IsPrimary bool
	CreatedAt time.Time
}

// ListAllDomains returns the domains of the tenant of schemaName, or of every
// tenant when schemaName is "", by schema, primary first, then by name. It
// returns ErrNotFound for an unknown tenant.
func (s *Service) ListAllDomains(ctx context.Context, schemaName string) ([]Domain, error) {
	var only *string
	if schemaName != "" {
		schema, err := parseSchema(schemaName)
		if err != nil {
			return nil, err
		}
		name := schema.String()
		only = &name
	}
	rows, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) ([]publicdb.ListDomainsBySchemaRow, error) {
		if only != nil {
			if _, err := q.GetClientBySchema(ctx, *only); err != nil {
				return nil, err
			}
		}
		return q.ListDomainsBySchema(ctx, only)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := make([]Domain, len(rows))
	for i, r := range rows {
		out[i] = Domain{Domain: r.Domain, Schema: r.SchemaName, IsPrimary: r.IsPrimary, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// UserChanges are the fields of a tenant's user to change; a nil field keeps
// its value.
type UserChanges struct {
	Email  *string
	Staff  *bool
	Active *bool
}

// UpdateUser changes the given fields of the user username of the tenant of
// schemaName and returns the user as they now are. Deactivating a user also
// revokes their refresh tokens, as SetUserActive does. It returns
// ErrNotFound for an unknown tenant or user and a *FieldError for an invalid
// email.
func (s *Service) UpdateUser(ctx context.Context, schemaName, username string, ch UserChanges) (User, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return User{}, err
	}
	if ch.Email != nil {
		if err := validateEmail("email", *ch.Email); err != nil {
			return User{}, err
		}
	}
	u, err := db.InTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		u, err := q.UpdateUserByUsername(ctx, tenantdb.UpdateUserByUsernameParams{
			Username: username, Email: ch.Email, IsStaff: ch.Staff, IsActive: ch.Active,
		})
		if err != nil || ch.Active == nil || *ch.Active {
			return u, err
		}
		return u, q.RevokeUserRefreshTokens(ctx, u.ID)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, tenantGone(err)
	}
	return userOf(u), nil
}

// DeleteUser deletes the user username of the tenant of schemaName, with
// their refresh tokens; the items they wrote stay, without an author. It
// returns ErrNotFound for an unknown tenant or user.
func (s *Service) DeleteUser(ctx context.Context, schemaName, username string) (User, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return User{}, err
	}
	u, err := db.InTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.DeleteUserByUsername(ctx, username)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, tenantGone(err)
	}
	return userOf(u), nil
}

// Superuser is an administrator of the public side as the admin sees it:
// everything but the password hash.
type Superuser struct {
	ID         int64
	Username   string
	Email      string
	IsActive   bool
	DateJoined time.Time
	LastLogin  *time.Time
}

func superuserOf(su publicdb.Superuser) Superuser {
	return Superuser{ID: su.ID, Username: su.Username, Email: su.Email, IsActive: su.IsActive,
		DateJoined: su.DateJoined, LastLogin: su.LastLogin}
}

// ListSuperusers returns every superuser, by username.
func (s *Service) ListSuperusers(ctx context.Context) ([]Superuser, error) {
	rows, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) ([]publicdb.Superuser, error) {
		return q.ListSuperusers(ctx)
	})
	if err != nil {
		return nil, err
	}
	out := make([]Superuser, len(rows))
	for i, su := range rows {
		out[i] = superuserOf(su)
	}
	return out, nil
}

// DeleteSuperuser deletes the superuser username; their admin sessions end
// with them, and their admin tokens stop working (every request checks the
// superuser). It returns ErrNotFound for an unknown username.
func (s *Service) DeleteSuperuser(ctx context.Context, username string) (Superuser, error) {
	su, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Superuser, error) {
		return q.DeleteSuperuser(ctx, username)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Superuser{}, ErrNotFound
	}
	if err != nil {
		return Superuser{}, err
	}
	return superuserOf(su), nil
}

// SetSuperuserPassword sets a new password for the superuser username and
// ends their admin UI sessions. It returns a *FieldError (password) for an
// invalid password and ErrNotFound for an unknown username.
func (s *Service) SetSuperuserPassword(ctx context.Context, username, plain string) (Superuser, error) {
	if err := validatePassword("password", plain); err != nil {
		return Superuser{}, err
	}
	hash, err := s.hasher.Hash(ctx, plain)
	if err != nil {
		return Superuser{}, err
	}
	su, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Superuser, error) {
		su, err := q.SetSuperuserPassword(ctx, publicdb.SetSuperuserPasswordParams{Username: username, PasswordHash: hash})
		if err != nil {
			return su, err
		}
		return su, q.DeleteSuperuserSessions(ctx, su.ID)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Superuser{}, ErrNotFound
	}
	if err != nil {
		return Superuser{}, err
	}
	return superuserOf(su), nil
}

// GetSuperuser returns the superuser username, or ErrNotFound.
func (s *Service) GetSuperuser(ctx context.Context, username string) (Superuser, error) {
	su, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Superuser, error) {
		return q.GetSuperuserByUsername(ctx, username)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Superuser{}, ErrNotFound
	}
	if err != nil {
		return Superuser{}, err
	}
	return superuserOf(su), nil
}
