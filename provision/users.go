package provision

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// MaxPageSize is the most rows one search returns.
const MaxPageSize = 100

// Query selects one page of a search.
type Query struct {
	// Search is matched case-insensitively as a substring; "" matches all.
	Search string
	// Offset is how many matches to skip; Limit how many to return at most
	// (1 to MaxPageSize; out of range means MaxPageSize).
	Offset int64
	Limit  int
}

// Page is one page of search results, with the number of all matches.
type Page[T any] struct {
	Total int64
	Items []T
}

// User is a tenant's user as the admin sees it: everything but the password hash.
type User struct {
	ID         int64
	Username   string
	Email      string
	IsStaff    bool
	IsActive   bool
	DateJoined time.Time
	LastLogin  *time.Time
	// Role is owner, admin or member (RoleOwner...).
	Role          string
	EmailVerified bool
}

// UserOf is the admin's view of a tenant's user row.
func UserOf(u tenantdb.User) User {
	return User{ID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff, IsActive: u.IsActive,
		DateJoined: u.DateJoined, LastLogin: u.LastLogin, Role: u.Role, EmailVerified: u.EmailVerified}
}

// likePatterns turns a search into the one ILIKE pattern matching it as a
// substring, with the pattern characters escaped (none for an empty
// search), for the queries the admin API's lists share. Text PostgreSQL
// cannot store (NUL, invalid UTF-8) is dropped rather than failing the query.
func likePatterns(search string) []string {
	search = strings.ReplaceAll(strings.ToValidUTF8(search, ""), "\x00", "")
	search = strings.TrimSpace(search)
	if search == "" {
		return nil
	}
	return []string{"%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(search) + "%"}
}

// window returns the query's LIMIT and OFFSET, and ok=false when the offset
// is beyond any page that can exist.
func (q Query) window() (lim, off int32, ok bool) {
	lim = int32(q.Limit)
	if q.Limit < 1 || q.Limit > MaxPageSize {
		lim = MaxPageSize
	}
	if q.Offset < 0 || q.Offset > math.MaxInt32 {
		return lim, 0, false
	}
	return lim, int32(q.Offset), true
}

// readyTenant returns the schema of a tenant that exists and is ready,
// pinned to it, or ErrNotFound.
func (s *Service) readyTenant(ctx context.Context, schemaName string) (db.Schema, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return db.Schema{}, err
	}
	pinned, err := db.Pinned(ctx, s.pool, schema)
	if errors.Is(err, db.ErrTenantGone) {
		return db.Schema{}, ErrNotFound
	}
	return pinned, err
}

// tenantGone maps the error of work in a tenant from readyTenant to
// ErrNotFound when the tenant was deleted meanwhile (the schema is pinned,
// so db says so).
func tenantGone(err error) error {
	if errors.Is(err, db.ErrTenantGone) {
		return ErrNotFound
	}
	return err
}

// ListUsers returns one page of the users of the tenant of schemaName, by
// username, whose username or email contains q.Search. It returns
// ErrNotFound for an unknown tenant.
func (s *Service) ListUsers(ctx context.Context, schemaName string, q Query) (Page[User], error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return Page[User]{}, err
	}
	lim, off, ok := q.window()
	if !ok {
		return Page[User]{}, nil
	}
	rows, err := db.InTenantV(ctx, s.pool, schema, func(tq *tenantdb.Queries) ([]tenantdb.SearchUsersOrderedRow, error) {
		return tq.SearchUsersOrdered(ctx, tenantdb.SearchUsersOrderedParams{Patterns: likePatterns(q.Search), Lim: lim, Off: int64(off)})
	})
	if err != nil {
		return Page[User]{}, tenantGone(err)
	}
	p := Page[User]{Items: make([]User, len(rows))}
	for i, u := range rows {
		p.Items[i] = User{ID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff, IsActive: u.IsActive,
			DateJoined: u.DateJoined, LastLogin: u.LastLogin, Role: u.Role, EmailVerified: u.EmailVerified}
		p.Total = u.Total
	}
	if len(rows) == 0 && off > 0 {
		// Past the end: count the matches on their own, so callers can tell
		// an empty page from an empty result.
		all, err := s.ListUsers(ctx, schemaName, Query{Search: q.Search, Limit: 1})
		if err != nil {
			return Page[User]{}, err
		}
		p.Total = all.Total
	}
	return p, nil
}

// GetUser returns the user id of the tenant of schemaName. It returns
// ErrNotFound for an unknown tenant or user.
func (s *Service) GetUser(ctx context.Context, schemaName string, id int64) (User, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return User{}, err
	}
	u, err := db.InTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByID(ctx, id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, tenantGone(err)
	}
	return UserOf(u), nil
}

// SetUserActive activates or deactivates user id of the tenant of
// schemaName. Deactivating also revokes the user's refresh tokens, so that
// reactivating them later does not revive old sign-ins. It returns
// ErrNotFound for an unknown tenant or user.
func (s *Service) SetUserActive(ctx context.Context, schemaName string, id int64, active bool) (User, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return User{}, err
	}
	u, err := db.InTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		before, err := q.GetUserForUpdate(ctx, id)
		if err != nil {
			return before, err
		}
		u, err := q.SetUserActive(ctx, tenantdb.SetUserActiveParams{ID: id, IsActive: active})
		if err != nil {
			return u, err
		}
		if !active {
			if err := q.RevokeUserRefreshTokens(ctx, id); err != nil {
				return u, err
			}
		}
		return u, recordUserChange(ctx, q, schema, before, u)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, tenantGone(err)
	}
	return UserOf(u), nil
}

// SetUserPassword sets a new password for user id of the tenant of
// schemaName and revokes the user's refresh tokens (signs them out
// everywhere; access tokens already issued live out their short TTL). It
// returns a *FieldError (password) for an invalid password and ErrNotFound
// for an unknown tenant or user.
func (s *Service) SetUserPassword(ctx context.Context, schemaName string, id int64, plain string) (User, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return User{}, err
	}
	if plain == "" {
		return User{}, fieldErr("password", "This field is required.")
	}
	// The rules compare the password with the user's username and email.
	cur, err := db.ReadTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByID(ctx, id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, tenantGone(err)
	}
	if err := checkPassword("password", plain, cur.Username, cur.Email); err != nil {
		return User{}, err
	}
	hash, err := s.hasher.Hash(ctx, plain)
	if err != nil {
		return User{}, err
	}
	u, err := db.InTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		u, err := q.SetUserPassword(ctx, tenantdb.SetUserPasswordParams{ID: id, PasswordHash: hash})
		if err != nil {
			return u, err
		}
		if err := q.RevokeUserRefreshTokens(ctx, id); err != nil {
			return u, err
		}
		return u, record(ctx, q, schema, audit.Entry{Action: audit.PasswordSet, Target: audit.Of("user", u.ID)})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, tenantGone(err)
	}
	return UserOf(u), nil
}

// ActiveSuperuser returns superuser id if it exists and is active, or
// ErrNotFound.
func (s *Service) ActiveSuperuser(ctx context.Context, id int64) (publicdb.Superuser, error) {
	su, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Superuser, error) {
		return q.GetActiveSuperuser(ctx, id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return su, ErrNotFound
	}
	return su, err
}
