package provision

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
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
	var c publicdb.Client
	err = s.publicChange(ctx, func(q *publicdb.Queries) (publicdb.Client, audit.Entry, error) {
		old, err := q.GetClientBySchema(ctx, schema.String())
		if err != nil {
			return old, audit.Entry{}, err
		}
		c, err = q.UpdateClient(ctx, publicdb.UpdateClientParams{
			SchemaName:   schema.String(),
			Name:         ch.Name,
			OnTrial:      ch.OnTrial,
			SetPaidUntil: ch.PaidUntil != nil || ch.ClearPaidUntil,
			PaidUntil:    ch.PaidUntil,
		})
		if err != nil {
			return c, audit.Entry{}, err
		}
		before, after := tenantFields(old), tenantFields(c)
		if maps.Equal(before, after) {
			return c, audit.Entry{}, nil
		}
		return c, audit.Entry{Action: audit.TenantUpdated, Target: audit.Of("tenant", c.ID), Before: before, After: after}, nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// tenantFields are the fields of a tenant that UpdateTenant changes, as
// its audit entry shows them (paid_until a date, or nil).
func tenantFields(c publicdb.Client) map[string]any {
	var paid any
	if c.PaidUntil != nil {
		paid = c.PaidUntil.Format(time.DateOnly)
	}
	return map[string]any{"name": c.Name, "on_trial": c.OnTrial, "paid_until": paid}
}

// domainRemoved is the entry of domain d's removal.
func domainRemoved(d publicdb.Domain) audit.Entry {
	return audit.Entry{Action: audit.DomainRemoved, Target: audit.Target{Type: "domain", ID: d.Domain},
		Before: map[string]any{"domain": d.Domain, "is_primary": d.IsPrimary}}
}

// removeClientDomain unmaps domain d of tenant clientID, unless it is the tenant's
// only one (ErrLastDomain), and promotes the oldest remaining domain when d
// was primary. It locks the tenant's domains first, so concurrent removals
// cannot leave the tenant without any.
func removeClientDomain(ctx context.Context, q *publicdb.Queries, clientID int64, d publicdb.Domain) error {
	ids, err := q.LockClientDomains(ctx, clientID)
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
	return q.PromoteOldestDomain(ctx, clientID)
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
// its value. A superuser (admin API, admin UI, CLI) is not held to the
// tenant API's owner rules: an operator may demote or suspend a tenant's
// last owner, e.g. to stop abuse.
type UserChanges struct {
	Email  *string
	Staff  *bool
	Active *bool
	// Role, when set, also sets is_staff (owner and admin are staff)
	// unless Staff is set too.
	Role *string
}

// UpdateUserByID changes user id of the tenant of schemaName, as UpdateUser
// does the user of a username, in one transaction. Deactivating also revokes the user's refresh tokens, as
// SetUserActive does. It returns a *FieldError (email) for an invalid email
// and ErrNotFound for an unknown tenant or user.
func (s *Service) UpdateUserByID(ctx context.Context, schemaName string, id int64, ch UserChanges) (User, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return User{}, err
	}
	if ch.Email != nil {
		if err := validateEmail("email", *ch.Email); err != nil {
			return User{}, err
		}
	}
	if ch.Role != nil {
		if !ValidRole(*ch.Role) {
			return User{}, fieldErr("role", "\"%s\" is not a valid choice.", *ch.Role)
		}
		if ch.Staff == nil {
			staff := *ch.Role != RoleMember
			ch.Staff = &staff
		}
	}
	out, err := db.InTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		before, err := q.GetUserForUpdate(ctx, id)
		if err != nil {
			return before, err
		}
		row, err := q.UpdateUserByID(ctx, tenantdb.UpdateUserByIDParams{ID: id, Email: ch.Email, Role: ch.Role, IsStaff: ch.Staff, IsActive: ch.Active})
		if err != nil {
			return row, err
		}
		if ch.Active != nil && !*ch.Active {
			if err := q.RevokeUserRefreshTokens(ctx, id); err != nil {
				return row, err
			}
		}
		return row, recordUserChange(ctx, q, schema, before, row)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, tenantGone(err)
	}
	return UserOf(out), nil
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
		u, err := q.DeleteUserByID(ctx, id)
		if err != nil {
			return u, err
		}
		return u, record(ctx, q, schema, audit.Entry{
			Action: audit.UserDeleted, Target: audit.Of("user", u.ID),
			Before: audit.UserFields(u), Data: audit.UserDataOf(u),
		})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, tenantGone(err)
	}
	return UserOf(u), nil
}

// userID returns the id of the user username of the tenant of schemaName,
// for the commands that name users; ErrNotFound if there is none.
func (s *Service) userID(ctx context.Context, schemaName, username string) (int64, error) {
	schema, err := s.readyTenant(ctx, schemaName)
	if err != nil {
		return 0, err
	}
	u, err := db.ReadTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByUsername(ctx, username)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, tenantGone(err)
	}
	return u.ID, nil
}

// UpdateUser is UpdateUserByID for the user username.
func (s *Service) UpdateUser(ctx context.Context, schemaName, username string, ch UserChanges) (User, error) {
	id, err := s.userID(ctx, schemaName, username)
	if err != nil {
		return User{}, err
	}
	return s.UpdateUserByID(ctx, schemaName, id, ch)
}

// DeleteUser is DeleteUserByID for the user username.
func (s *Service) DeleteUser(ctx context.Context, schemaName, username string) (User, error) {
	id, err := s.userID(ctx, schemaName, username)
	if err != nil {
		return User{}, err
	}
	return s.DeleteUserByID(ctx, schemaName, id)
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

// GetSuperuserByID returns superuser id, or ErrNotFound.
func (s *Service) GetSuperuserByID(ctx context.Context, id int64) (Superuser, error) {
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
	if plain == "" {
		return Superuser{}, fieldErr("password", "This field is required.")
	}
	// The rules compare the password with the superuser's username and email.
	cur, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Superuser, error) {
		return q.GetSuperuserByID(ctx, id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Superuser{}, ErrNotFound
	}
	if err != nil {
		return Superuser{}, err
	}
	if err := checkPassword("password", plain, cur.Username, cur.Email); err != nil {
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

// DeleteSuperuser is DeleteSuperuserByID for the superuser username.
func (s *Service) DeleteSuperuser(ctx context.Context, username string) (Superuser, error) {
	su, err := s.GetSuperuser(ctx, username)
	if err != nil {
		return Superuser{}, err
	}
	return s.DeleteSuperuserByID(ctx, su.ID)
}

// SetSuperuserPassword is SetSuperuserPasswordByID for the superuser
// username.
func (s *Service) SetSuperuserPassword(ctx context.Context, username, plain string) (Superuser, error) {
	if plain == "" {
		return Superuser{}, fieldErr("password", "This field is required.")
	}
	su, err := s.GetSuperuser(ctx, username)
	if err != nil {
		return Superuser{}, err
	}
	return s.SetSuperuserPasswordByID(ctx, su.ID, plain)
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
