package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/provision"
)

// A tenant's own user management, /api/users/, for its owners and admins
// (permissions.go). On top of the role x action table, two rules depend on
// the user acted on:
//   - only an owner may create, change or delete an owner, or make one
//     (errOwnerOnly, 403);
//   - the last active owner cannot be demoted, deactivated or deleted
//     (errLastOwner, 400). The active owners are locked (FOR UPDATE) in the
//     transaction of the change, so two concurrent changes cannot each
//     remove one of the last two.
//
// is_staff stays a stored column, for the clients that read it: a user
// created or given a role here is staff when owner or admin, not staff when
// member. The admin API still sets is_staff on its own.

var (
	errOwnerOnly = errDetail(http.StatusForbidden, "Only an owner can add, change or delete an owner.")
	errLastOwner = errDetail(http.StatusBadRequest,
		"The last active owner cannot be demoted, deactivated or deleted; make another user owner first.")
)

// userJSON is a tenant's user as /api/users/ and the admin API show it:
// audit.UserData, which is also the data of the user.* webhook events,
// whichever surface made the change.
type userJSON = audit.UserData

func newUserJSON(u tenantdb.User) userJSON { return audit.UserDataOf(u) }

// listUsers answers GET /api/users/ with DRF's list parameters (see
// parseList): ?search= in the username and email; by username unless
// ?ordering= says otherwise.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, a auth) error {
	lq, err := parseList(r, pageSize, userOrderings)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.read(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, usersList); err != nil {
			return response{}, err
		}
		out, err := pageOf(r, lq, func(lim int32, off int64) ([]userJSON, int64, error) {
			rows, err := q.SearchUsersOrdered(ctx, tenantdb.SearchUsersOrderedParams{
				Patterns: lq.patterns, O1: lq.order[0], O2: lq.order[1], O3: lq.order[2], Lim: lim, Off: off,
			})
			var total int64
			results := make([]userJSON, len(rows))
			for i, u := range rows {
				results[i] = newUserJSON(tenantdb.User{ID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff,
					IsActive: u.IsActive, DateJoined: u.DateJoined, LastLogin: u.LastLogin, Role: u.Role, EmailVerified: u.EmailVerified})
				total = u.Total
			}
			return results, total, err
		})
		if err != nil {
			return response{}, err
		}
		return response{http.StatusOK, out}, nil
	})
}

// roleField reads an optional role: nil when absent (or invalid, with the
// error in fe).
func roleField(fe fieldErrors, m map[string]json.RawMessage) *string {
	f := field(m, "role")
	switch {
	case !f.present:
	case f.null:
		fe.add("role", "This field may not be null.")
	case f.invalid || !provision.ValidRole(f.value):
		fe.add("role", fmt.Sprintf("%q is not a valid choice.", f.value))
	default:
		return &f.value
	}
	return nil
}

// createUser answers POST /api/users/ {username, email, password, role}:
// role is member unless given; only an owner may create an owner.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request, a auth) error {
	ctx := r.Context()
	// Check the permission first, as DRF does, and before hashing, so that
	// a member's request costs no hashing work; it is checked again in the
	// transaction that inserts.
	u, err := a.user(ctx)
	if err != nil {
		return err
	}
	if err := a.allow(u, usersCreate); err != nil {
		return err
	}
	body, err := decodeObject(r, true)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	p := provision.UserParams{Role: provision.RoleMember}
	p.Username, _ = requiredString(fe, body, "username", 0)
	p.Email = optionalString(fe, body, "email", true)
	if f := field(body, "password"); !f.present {
		fe.add("password", "This field is required.")
	} else {
		p.Password = optionalString(fe, body, "password", false)
	}
	if role := roleField(fe, body); role != nil {
		p.Role = *role
	}
	if err := fe.err(); err != nil {
		return err
	}
	p.Staff = p.Role != provision.RoleMember
	if err := a.mayCreate(u, p.Role); err != nil {
		return err
	}
	if err := provision.ValidateUser(p); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, p.Password)
	if err != nil {
		return err
	}
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.mayCreate(u, p.Role); err != nil {
			return response{}, err
		}
		if p.Role == provision.RoleOwner {
			// Whether u is still an owner, from the locked owners, as
			// lockTarget reads it for a change.
			owners, err := q.LockActiveOwners(ctx)
			if err != nil {
				return response{}, err
			}
			if !slices.Contains(owners, u.ID) {
				return response{}, errOwnerOnly
			}
		}
		created, err := q.CreateUser(ctx, tenantdb.CreateUserParams{
			Username: p.Username, Email: p.Email, PasswordHash: hash, IsStaff: p.Staff, Role: p.Role,
		})
		if db.IsUniqueViolation(err, "users_username_key") {
			return response{}, fieldErrors{"username": {"A user with that username already exists."}}.err()
		}
		if err != nil {
			return response{}, err
		}
		out := newUserJSON(created)
		err = a.record(ctx, q, u, audit.Entry{
			Action: audit.UserCreated, Target: audit.Of("user", created.ID),
			After: audit.UserFields(created), Data: out,
		})
		return response{http.StatusCreated, out}, err
	})
}

// mayCreate returns the error that forbids u creating a user of role, or nil.
func (a auth) mayCreate(u tenantdb.User, role string) error {
	if err := a.allow(u, usersCreate); err != nil {
		return err
	}
	if role == provision.RoleOwner && u.Role != provision.RoleOwner {
		return errOwnerOnly
	}
	return nil
}

// getUser answers GET /api/users/{id}/.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.read(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, usersView); err != nil {
			return response{}, err
		}
		target, err := q.GetUserByID(ctx, id)
		if err != nil {
			return response{}, err
		}
		return response{http.StatusOK, newUserJSON(target)}, nil
	})
}

// updateUser answers PATCH /api/users/{id}/ {email, role, is_active}, each
// optional; other fields are ignored, as DRF ignores read-only and unknown
// ones. Deactivating ends the user's sign-ins: their refresh tokens are
// revoked, and their access tokens are refused from the next request on
// (every request loads its user, active, from the database).
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	// An invalid body is refused after the permission check, as DRF reads
	// the body only once the view runs: a member gets 403 whatever they send.
	var email, role *string
	var active *bool
	body, invalid := decodeObject(r, true)
	if invalid == nil {
		fe := fieldErrors{}
		email = optionalText(fe, body, "email")
		role = roleField(fe, body)
		active = patchBool(fe, body, "is_active")
		invalid = fe.err()
		if invalid == nil && email != nil {
			invalid = provision.ValidateEmail("email", *email)
		}
	}
	var staff *bool
	if role != nil {
		v := *role != provision.RoleMember
		staff = &v
	}
	demote := role != nil && *role != provision.RoleOwner
	deactivate := active != nil && !*active
	ctx := r.Context()
	link := s.tenantLink(r)
	return a.txMail(ctx, w, func(q *tenantdb.Queries, tx pgx.Tx, u tenantdb.User) (response, error) {
		if err := a.allow(u, usersUpdate); err != nil {
			return response{}, err
		}
		if invalid != nil {
			return response{}, invalid
		}
		target, isOwner, err := lockTarget(ctx, q, u, id, demote || deactivate)
		if err != nil {
			return response{}, err
		}
		if role != nil && *role == provision.RoleOwner && !isOwner {
			return response{}, errOwnerOnly
		}
		out, err := q.UpdateUserByID(ctx, tenantdb.UpdateUserByIDParams{
			ID: target.ID, Email: email, Role: role, IsStaff: staff, IsActive: active,
		})
		if err != nil {
			return response{}, err
		}
		if deactivate {
			if err := q.RevokeUserRefreshTokens(ctx, target.ID); err != nil {
				return response{}, err
			}
		}
		if email != nil && !strings.EqualFold(*email, target.Email) {
			// A new address is not verified: mark it so, and send it a
			// link, in this transaction (the link to the old address stops
			// working, as UseAccountToken checks the address).
			if err := q.SetEmailUnverified(ctx, out.ID); err != nil {
				return response{}, err
			}
			out.EmailVerified = false
			if err := s.sendVerification(ctx, tx, a.tenant.Schema, out, link); err != nil {
				return response{}, err
			}
		}
		res := newUserJSON(out)
		if before, after := audit.UserFields(target), audit.UserFields(out); !maps.Equal(before, after) {
			err = a.record(ctx, q, u, audit.Entry{
				Action: audit.UserUpdated, Target: audit.Of("user", out.ID),
				Before: before, After: after, Data: res,
			})
		}
		return response{http.StatusOK, res}, err
	})
}

// deleteUser answers DELETE /api/users/{id}/: the user's items stay
// (without an author), their refresh tokens go with them and their access
// tokens name nobody any more.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, usersDelete); err != nil {
			return response{}, err
		}
		target, _, err := lockTarget(ctx, q, u, id, true)
		if err != nil {
			return response{}, err
		}
		deleted, err := q.DeleteUserByID(ctx, target.ID)
		if err != nil {
			return response{}, err
		}
		err = a.record(ctx, q, u, audit.Entry{
			Action: audit.UserDeleted, Target: audit.Of("user", deleted.ID),
			Before: audit.UserFields(deleted), Data: newUserJSON(deleted),
		})
		return response{status: http.StatusNoContent}, err
	})
}

// lockTarget locks the tenant's active owners, then user id, for a change
// by u, and applies the rules that depend on the user changed: an owner is
// changed by an owner only (errOwnerOnly), and removing (demoting,
// deactivating or deleting: removes) the last active owner is errLastOwner.
// Whether u is an owner is read from the locked owners, not from u, so that
// an owner demoted by a concurrent change acts as one no more. The owners
// are always locked first, in id order, so that concurrent changes queue up
// instead of deadlocking. It returns pgx.ErrNoRows (404) for an unknown user.
func lockTarget(ctx context.Context, q *tenantdb.Queries, u tenantdb.User, id int64, removes bool) (target tenantdb.User, isOwner bool, err error) {
	owners, err := q.LockActiveOwners(ctx)
	if err != nil {
		return target, false, err
	}
	isOwner = slices.Contains(owners, u.ID)
	target, err = q.GetUserForUpdate(ctx, id)
	if err != nil {
		return target, isOwner, err
	}
	if target.Role == provision.RoleOwner && !isOwner {
		return target, isOwner, errOwnerOnly
	}
	if removes && target.Role == provision.RoleOwner && target.IsActive && len(owners) <= 1 {
		return target, isOwner, errLastOwner
	}
	return target, isOwner, nil
}

// user reads the signed-in user on its own, as tx and read do, for a check
// before slow work outside a transaction.
func (a auth) user(ctx context.Context) (tenantdb.User, error) {
	return db.ReadTenantV(ctx, a.s.pool, a.tenant.Schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return a.activeUser(ctx, q)
	})
}
