package provision

import (
	"context"
	"errors"
	"net/mail"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// The management operations of the admin (web UI and JSON API) that change
// or remove what exists: tenants' settings, users by id, superusers.

var (
	// ErrLastDomain refuses to remove a tenant's only domain: the tenant
	// would answer on no host. Delete the tenant instead, or add another
	// domain first.
	ErrLastDomain = errors.New("this is the tenant's only domain: add another domain before removing it, or delete the tenant")
	// ErrLastSuperuser refuses to delete the last active superuser: nobody
	// could sign in to the admin any more.
	ErrLastSuperuser = errors.New("this is the last active superuser: create another superuser before deleting it")
)

// TenantUpdate is a partial change of a tenant's settings: nil fields keep
// their value.
type TenantUpdate struct {
	Name    *string
	OnTrial *bool
	// SetPaidUntil says PaidUntil is given: a date, or nil to clear it.
	SetPaidUntil bool
	PaidUntil    *time.Time
}

// UpdateTenant changes the settings of the tenant of schemaName and returns
// the tenant. It returns a *FieldError (name) for an invalid name and
// ErrNotFound for an unknown tenant.
func (s *Service) UpdateTenant(ctx context.Context, schemaName string, u TenantUpdate) (Tenant, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return Tenant{}, err
	}
	if u.Name != nil {
		if err := validateName(*u.Name); err != nil {
			return Tenant{}, err
		}
	}
	_, err = db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Client, error) {
		return q.UpdateClient(ctx, publicdb.UpdateClientParams{
			Name: u.Name, OnTrial: u.OnTrial, SetPaidUntil: u.SetPaidUntil, PaidUntil: u.PaidUntil,
			SchemaName: schema.String(),
		})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Tenant{}, ErrNotFound
	}
	if err != nil {
		return Tenant{}, err
	}
	return s.DescribeTenant(ctx, schemaName)
}

// removeClientDomain unmaps domain d of tenant c, unless it is the tenant's
// only one (ErrLastDomain), and promotes the oldest remaining domain when d
// was primary. It locks the tenant's domains first, so concurrent removals
// cannot leave the tenant without any.
func removeClientDomain(ctx context.Context, q *publicdb.Queries, c publicdb.Client, d publicdb.Domain) error {
	ids, err := q.LockClientDomains(ctx, c.ID)
	if err != nil {
		return err
	}
	if !slices.Contains(ids, d.ID) {
		return ErrNotFound // removed meanwhile
	}
	if len(ids) < 2 {
		return ErrLastDomain
	}
	if err := q.DeleteDomain(ctx, d.ID); err != nil {
		return err
	}
	return q.PromoteOldestDomain(ctx, c.ID)
}

// UserUpdate is a partial change of a tenant user: nil fields keep their value.
type UserUpdate struct {
	Email    *string
	IsStaff  *bool
	IsActive *bool
}

// UpdateUser changes user id of the tenant of schemaName, in one
// transaction. Deactivating also revokes the user's refresh tokens, as
// SetUserActive does. It returns a *FieldError (email) for an invalid email
// and ErrNotFound for an unknown tenant or user.
func (s *Service) UpdateUser(ctx context.Context, schemaName string, id int64, u UserUpdate) (User, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return User{}, err
	}
	if u.Email != nil {
		if err := validateEmail("email", *u.Email); err != nil {
			return User{}, err
		}
	}
	out, err := db.InTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		row, err := q.UpdateUserByID(ctx, tenantdb.UpdateUserByIDParams{ID: id, Email: u.Email, IsStaff: u.IsStaff, IsActive: u.IsActive})
		if err != nil || u.IsActive == nil || *u.IsActive {
			return row, err
		}
		return row, q.RevokeUserRefreshTokens(ctx, id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, tenantGone(err)
	}
	return userOf(out), nil
}

// validateEmail checks an email address as validateUser does; "" is allowed.
func validateEmail(field, email string) error {
	if email == "" {
		return nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return fieldErr(field, "Enter a valid email address.")
	}
	return nil
}

// DeleteUserByID deletes user id of the tenant of schemaName and returns
// it. Their items stay (without an author) and their refresh tokens go with
// them, so every sign-in ends; their access tokens stop working too, as they
// name nobody. It returns ErrNotFound for an unknown tenant or user.
func (s *Service) DeleteUserByID(ctx context.Context, schemaName string, id int64) (User, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return User{}, err
	}
	u, err := db.InTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.DeleteUserByID(ctx, id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, tenantGone(err)
	}
	return userOf(u), nil
}

// Superuser is an administrator of the public side as the admin shows it:
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

// SearchSuperusers returns one page of the superusers, by username
// (q.Search is not used: there are few).
func (s *Service) SearchSuperusers(ctx context.Context, q Query) (Page[Superuser], error) {
	lim, off, ok := q.window()
	if !ok {
		return Page[Superuser]{}, nil
	}
	return db.InPublicV(ctx, s.pool, func(pq *publicdb.Queries) (Page[Superuser], error) {
		rows, err := pq.SearchSuperusers(ctx, publicdb.SearchSuperusersParams{Lim: lim, Off: off})
		if err != nil {
			return Page[Superuser]{}, err
		}
		p := Page[Superuser]{Items: make([]Superuser, len(rows))}
		for i, r := range rows {
			p.Items[i] = Superuser{ID: r.ID, Username: r.Username, Email: r.Email, IsActive: r.IsActive,
				DateJoined: r.DateJoined, LastLogin: r.LastLogin}
			p.Total = r.Total
		}
		if len(rows) == 0 && off > 0 {
			p.Total, err = pq.CountSuperusers(ctx)
		}
		return p, err
	})
}

// GetSuperuser returns superuser id, or ErrNotFound.
func (s *Service) GetSuperuser(ctx context.Context, id int64) (Superuser, error) {
	su, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Superuser, error) {
		return q.GetSuperuserByID(ctx, id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Superuser{}, ErrNotFound
	}
	if err != nil {
		return Superuser{}, err
	}
	return superuserOf(su), nil
}

// DeleteSuperuserByID deletes superuser id and returns it. Their admin
// sessions go with them, and their admin tokens stop working (the admin API
// checks that a token's superuser still exists). It returns ErrNotFound for
// an unknown superuser and ErrLastSuperuser when it is the last active one.
func (s *Service) DeleteSuperuserByID(ctx context.Context, id int64) (Superuser, error) {
	su, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Superuser, error) {
		active, err := q.LockActiveSuperusers(ctx)
		if err != nil {
			return publicdb.Superuser{}, err
		}
		if len(active) == 1 && active[0] == id {
			return publicdb.Superuser{}, ErrLastSuperuser
		}
		return q.DeleteSuperuserByID(ctx, id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Superuser{}, ErrNotFound
	}
	if err != nil {
		return Superuser{}, err
	}
	return superuserOf(su), nil
}

// SetSuperuserPasswordByID sets a new password for superuser id and signs
// them out of the admin UI everywhere (their admin tokens, short-lived like
// access tokens, run out on their own). It returns a *FieldError (password)
// for an invalid password and ErrNotFound for an unknown superuser.
func (s *Service) SetSuperuserPasswordByID(ctx context.Context, id int64, plain string) (Superuser, error) {
	if err := validatePassword("password", plain); err != nil {
		return Superuser{}, err
	}
	hash, err := s.hasher.Hash(ctx, plain)
	if err != nil {
		return Superuser{}, err
	}
	su, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Superuser, error) {
		su, err := q.SetSuperuserPasswordByID(ctx, publicdb.SetSuperuserPasswordByIDParams{ID: id, PasswordHash: hash})
		if err != nil {
			return su, err
		}
		return su, q.DeleteAdminSessionsOf(ctx, id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Superuser{}, ErrNotFound
	}
	if err != nil {
		return Superuser{}, err
	}
	return superuserOf(su), nil
}
