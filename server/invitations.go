package server

// Invitations (issue #12): an owner or admin invites an address to the
// tenant with a role; the email carries a single-use link whose secret is
// stored only as its SHA-256; whoever holds the link chooses a username and
// a password and becomes a user with the invited address (verified) and
// role. Accepting has two front doors, POST /api/invitations/accept/ and
// the page /accounts/invite/<token>/, and one implementation,
// acceptInvitation.
//
// Rules on top of the role x action table (permissions.go): only an owner
// invites an owner, replaces or revokes an owner's invitation
// (errInviteOwner); an address that has a pending invitation gets a new
// one in place of it (the earlier link stops working), serialised per
// address (LockInvitationAddress) so that concurrent invitations replace
// one another instead of colliding on the one-pending-per-address index.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/token"
)

var (
	errInviteOwner = errDetail(http.StatusForbidden,
		"Only an owner can invite an owner, or replace or revoke an owner's invitation.")
	// errInvitationInvalid is the answer to an invitation token that is
	// unknown (or of another tenant), expired, used, revoked or replaced.
	errInvitationInvalid = &apiError{status: http.StatusBadRequest,
		body: map[string][]string{"token": {"This invitation link is invalid or has expired."}}}
	// errInvitationTaken answers the acceptance of an invitation whose
	// address is a user's by now.
	errInvitationTaken = &apiError{status: http.StatusBadRequest,
		body: map[string][]string{"token": {"The invited email address already belongs to a user of this organization: sign in with that account instead."}}}
	errEmailTaken = &apiError{status: http.StatusBadRequest,
		body: map[string][]string{"email": {"A user with this email address already exists in this organization."}}}
)

// invitationJSON is an invitation as the API shows it: never its token.
type invitationJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	InvitedBy *int64    `json:"invited_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func newInvitationJSON(i tenantdb.Invitation) invitationJSON {
	return invitationJSON{ID: i.ID, Email: i.Email, Role: i.Role, InvitedBy: i.InvitedBy,
		CreatedAt: i.CreatedAt.UTC(), ExpiresAt: i.ExpiresAt.UTC()}
}

// invite is an invitation to send.
type invite struct {
	email, role string
	// invitedBy is the inviting user; nil for a superuser in the admin.
	invitedBy *int64
	// inviter names who invites, in the email: a username, or "" for
	// "An administrator".
	inviter string
	// asOwner: the inviter may invite an owner and replace an owner's
	// invitation.
	asOwner bool
	// replaces, if not 0, is the invitation this one must replace (a resend):
	// if the address's open invitation is another one, or none, the
	// invitation is not sent (pgx.ErrNoRows).
	replaces int64
	// link makes the invitation's URL from its secret.
	link func(secret string) string
	// actor is who invites, for the audit log: the user (or API key), or
	// the superuser.
	actor audit.Actor
}

// sendInvitation creates invitation in and enqueues its email, in tx (the
// email goes if and only if tx commits), replacing the open invitation of
// the same address. It returns errInviteOwner, errEmailTaken, or
// pgx.ErrNoRows (in.replaces is not the open invitation).
func (s *Server) sendInvitation(ctx context.Context, q *tenantdb.Queries, tx pgx.Tx, schema db.Schema, in invite) (tenantdb.Invitation, error) {
	var none tenantdb.Invitation
	if in.role == provision.RoleOwner && !in.asOwner {
		return none, errInviteOwner
	}
	if err := q.LockInvitationAddress(ctx, in.email); err != nil {
		return none, err
	}
	taken, err := q.EmailTaken(ctx, in.email)
	if err != nil {
		return none, err
	}
	if taken {
		return none, errEmailTaken
	}
	old, err := q.LockOpenInvitationByEmail(ctx, in.email)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if in.replaces != 0 {
			return none, err
		}
	case err != nil:
		return none, err
	default:
		if in.replaces != 0 && old.ID != in.replaces {
			return none, pgx.ErrNoRows
		}
		if old.Role == provision.RoleOwner && !in.asOwner {
			return none, errInviteOwner
		}
		if err := q.RevokeInvitation(ctx, old.ID); err != nil {
			return none, err
		}
		err := audit.Record(ctx, q, schema, audit.Entry{
			Action: audit.InvitationRevoked, Actor: in.actor, Target: audit.Of("invitation", old.ID),
			Before: map[string]any{"email": old.Email, "role": old.Role}, Data: newInvitationJSON(old),
		})
		if err != nil {
			return none, err
		}
	}
	raw, hash := token.NewSecret()
	inv, err := q.CreateInvitation(ctx, tenantdb.CreateInvitationParams{
		Email: in.email, Role: in.role, TokenHash: hash, InvitedBy: in.invitedBy,
		TtlSecs: s.cfg.InvitationTTL.Seconds(),
	})
	if err != nil {
		return none, err
	}
	err = audit.Record(ctx, q, schema, audit.Entry{
		Action: audit.UserInvited, Actor: in.actor, Target: audit.Of("invitation", inv.ID),
		After: map[string]any{"email": inv.Email, "role": inv.Role}, Data: newInvitationJSON(inv),
	})
	if err != nil {
		return none, err
	}
	who := "An administrator"
	if in.inviter != "" {
		who = in.inviter
	}
	until := inv.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	m := accountEmail(inv.Email, "You are invited to join", []string{
		"Hello,",
		fmt.Sprintf("%s invited you to join as %s.", who, roleWithArticle(inv.Role)),
		"Choose a username and a password to create your account. The invitation is valid until " + until + ".",
	}, "Accept the invitation", in.link(raw),
		"The link works once, until "+until+". If you did not expect this invitation, ignore this email: no account is made without it.")
	return inv, s.enqueueEmail(ctx, tx, schema, m)
}

// roleWithArticle writes a role as a sentence says it: "an owner", "a member".
func roleWithArticle(role string) string {
	if role == provision.RoleMember {
		return "a member"
	}
	return "an " + role
}

// createInvitation answers POST /api/invitations/ {email, role}: role is
// member unless given. The link points at this tenant's host, the one the
// request came to.
func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request, a auth) error {
	// An invalid body is refused after the permission check, as DRF reads
	// the body only once the view runs: a member gets 403 whatever they send.
	role := provision.RoleMember
	var email string
	body, invalid := decodeObject(r, true)
	if invalid == nil {
		fe := fieldErrors{}
		email, _ = requiredString(fe, body, "email", 254)
		if rl := roleField(fe, body); rl != nil {
			role = *rl
		}
		invalid = fe.err()
		if invalid == nil {
			invalid = provision.ValidateEmail("email", email)
		}
	}
	host, _ := splitHost(r.Host) // the tenant's router saw a valid host
	link := func(secret string) string { return s.accountLink(r, linkHost(r, host), linkInvite, secret) }
	ctx := r.Context()
	return a.txMail(ctx, w, func(q *tenantdb.Queries, tx pgx.Tx, u tenantdb.User) (response, error) {
		if err := a.allow(u, invitationsCreate); err != nil {
			return response{}, err
		}
		if invalid != nil {
			return response{}, invalid
		}
		isOwner, err := lockedOwner(ctx, q, u)
		if err != nil {
			return response{}, err
		}
		inv, err := s.sendInvitation(ctx, q, tx, a.tenant.Schema, invite{
			email: email, role: role, invitedBy: &u.ID, inviter: u.Username, asOwner: isOwner, link: link,
			actor: a.actor(u),
		})
		if err != nil {
			return response{}, err
		}
		return response{http.StatusCreated, newInvitationJSON(inv)}, nil
	})
}

// lockedOwner reports whether u is an active owner, from the locked active
// owners (as lockTarget reads it), so that an owner demoted by a
// concurrent change acts as one no more. An admin locks nothing.
func lockedOwner(ctx context.Context, q *tenantdb.Queries, u tenantdb.User) (bool, error) {
	if u.Role != provision.RoleOwner {
		return false, nil
	}
	owners, err := q.LockActiveOwners(ctx)
	if err != nil {
		return false, err
	}
	for _, id := range owners {
		if id == u.ID {
			return true, nil
		}
	}
	return false, nil
}

// listInvitations answers GET /api/invitations/: the pending invitations
// (neither accepted, revoked nor expired), newest first, DRF-paginated;
// ?search= in the address.
func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request, a auth) error {
	lq, err := parseList(r, pageSize, nil)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.read(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, invitationsList); err != nil {
			return response{}, err
		}
		out, err := pageOf(r, lq, func(lim int32, off int64) ([]invitationJSON, int64, error) {
			rows, err := q.ListPendingInvitations(ctx, tenantdb.ListPendingInvitationsParams{Patterns: lq.patterns, Lim: lim, Off: off})
			var total int64
			results := make([]invitationJSON, len(rows))
			for i, v := range rows {
				results[i] = newInvitationJSON(tenantdb.Invitation{ID: v.ID, Email: v.Email, Role: v.Role,
					InvitedBy: v.InvitedBy, CreatedAt: v.CreatedAt, ExpiresAt: v.ExpiresAt})
				total = v.Total
			}
			return results, total, err
		})
		if err != nil {
			return response{}, err
		}
		return response{http.StatusOK, out}, nil
	})
}

// deleteInvitation answers DELETE /api/invitations/{id}/: the invitation is
// revoked (its link stops working). 404 unless it is pending.
func (s *Server) deleteInvitation(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, invitationsDelete); err != nil {
			return response{}, err
		}
		isOwner, err := lockedOwner(ctx, q, u)
		if err != nil {
			return response{}, err
		}
		inv, err := q.LockOpenInvitation(ctx, tenantdb.LockOpenInvitationParams{ID: id, Pending: true})
		if err != nil {
			return response{}, err
		}
		if inv.Role == provision.RoleOwner && !isOwner {
			return response{}, errInviteOwner
		}
		if err := q.RevokeInvitation(ctx, inv.ID); err != nil {
			return response{}, err
		}
		err = a.record(ctx, q, u, audit.Entry{
			Action: audit.InvitationRevoked, Target: audit.Of("invitation", inv.ID),
			Before: map[string]any{"email": inv.Email, "role": inv.Role}, Data: newInvitationJSON(inv),
		})
		return response{status: http.StatusNoContent}, err
	})
}

// acceptInvitationAPI answers POST /api/invitations/accept/ {token,
// username, password}, without authentication: 201 {access, refresh} of
// the new user.
func (s *Server) acceptInvitationAPI(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeObject(r, true)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	raw, _ := requiredString(fe, body, "token", 0)
	username, _ := requiredString(fe, body, "username", 0)
	var pw string
	if f := field(body, "password"); !f.present {
		fe.add("password", "This field is required.")
	} else {
		pw = optionalString(fe, body, "password", false)
	}
	if err := fe.err(); err != nil {
		return err
	}
	t, _ := tenantFrom(r.Context())
	pair, _, err := s.acceptInvitation(r.Context(), t, raw, username, pw)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, pair)
	return nil
}

// acceptInvitation accepts the invitation of tenant t whose link's secret
// is raw: it creates the user (the invited address, verified; the invited
// role), marks the invitation accepted, and signs the user in, all in one
// transaction. The password is hashed before, outside it (it is slow), so
// the token is checked twice: before hashing, then locked in the
// transaction, so that of two concurrent acceptances one only succeeds.
// It returns errInvitationInvalid, errInvitationTaken, a
// *provision.FieldError (username, password), or the username field error.
func (s *Server) acceptInvitation(ctx context.Context, t tenant, raw, username, pw string) (tokenPair, tenantdb.User, error) {
	var user tenantdb.User
	hashed := token.HashSecret(raw)
	inv, err := db.ReadTenantV(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) (tenantdb.GetPendingInvitationByTokenRow, error) {
		return q.GetPendingInvitationByToken(ctx, hashed)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return tokenPair{}, user, errInvitationInvalid
	}
	if err != nil {
		return tokenPair{}, user, err
	}
	p := provision.UserParams{Username: username, Email: inv.Email, Password: pw, Role: inv.Role,
		Staff: inv.Role != provision.RoleMember}
	if err := provision.ValidateUser(p); err != nil {
		return tokenPair{}, user, err
	}
	pwHash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return tokenPair{}, user, err
	}
	var pair tokenPair
	err = db.InTenant(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) error {
		inv, err := q.LockPendingInvitationByToken(ctx, hashed)
		if errors.Is(err, pgx.ErrNoRows) {
			return errInvitationInvalid
		}
		if err != nil {
			return err
		}
		// An address that became a user's since the invitation was sent
		// (made by an owner or admin meanwhile) is not given a second user.
		taken, err := q.EmailTaken(ctx, inv.Email)
		if err != nil {
			return err
		}
		if taken {
			return errInvitationTaken
		}
		user, err = q.CreateInvitedUser(ctx, tenantdb.CreateInvitedUserParams{
			Username: p.Username, Email: inv.Email, PasswordHash: pwHash, IsStaff: inv.Role != provision.RoleMember, Role: inv.Role,
		})
		if db.IsUniqueViolation(err, "users_username_key") {
			return fieldErrors{"username": {"A user with that username already exists."}}.err()
		}
		if err != nil {
			return err
		}
		if err := q.MarkInvitationAccepted(ctx, tenantdb.MarkInvitationAcceptedParams{ID: inv.ID, UserID: &user.ID}); err != nil {
			return err
		}
		// The new user is the actor: the link's holder made the account.
		// Recorded as a creation too, for the webhooks of user.created.
		me, data := audit.User(user.ID, user.Username), newUserJSON(user)
		err = audit.Record(ctx, q, t.Schema, audit.Entry{
			Action: audit.UserCreated, Actor: me, Target: audit.Of("user", user.ID),
			After: audit.UserFields(user), Data: data,
		})
		if err != nil {
			return err
		}
		err = audit.Record(ctx, q, t.Schema, audit.Entry{
			Action: audit.InvitationAccepted, Actor: me, Target: audit.Of("user", user.ID),
			After: map[string]any{"invitation": inv.ID, "email": inv.Email, "role": inv.Role}, Data: data,
		})
		if err != nil {
			return err
		}
		// Signed in as POST /api/token/ signs in: a new refresh token family,
		// and the last login.
		issued, err := s.tokens.IssuePair(tokenUser(user, t), uuid.Nil)
		if err != nil {
			return err
		}
		pair = tokenPair{Access: issued.Access, Refresh: issued.Refresh}
		return q.RecordSignIn(ctx, tenantdb.RecordSignInParams{
			Jti: issued.RefreshID, Family: issued.Family, UserID: user.ID, ExpiresAt: issued.RefreshExpiry,
		})
	})
	if err != nil {
		return tokenPair{}, user, err
	}
	if ri := requestInfoFrom(ctx); ri != nil {
		ri.UserID = user.ID
	}
	return pair, user, nil
}

// The pages of an invitation link, /accounts/invite/<token>/ on the
// tenant's host: the form (GET), and its submission (POST), which accepts
// through acceptInvitation as the API does. The forms need no CSRF token:
// the secret in the URL is one an attacker does not have.

// invitePage is the data of invite.html and invite_done.html.
type invitePage struct {
	Tenant, Inviter, Email, Role string
	Expires                      time.Time
	F                            form
	Error                        string
	Username                     string
}

// invitationPage answers GET and POST /accounts/invite/{token}/.
func (s *Server) invitationPage(w http.ResponseWriter, r *http.Request) {
	if err := s.invitationPageErr(w, r); err != nil {
		s.accountError(w, r, err)
	}
}

func (s *Server) invitationPageErr(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, _ := tenantFrom(ctx)
	raw := mux.Vars(r)["token"]
	inv, err := db.ReadTenantV(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) (tenantdb.GetPendingInvitationByTokenRow, error) {
		return q.GetPendingInvitationByToken(ctx, token.HashSecret(raw))
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return errInvitationInvalid
	}
	if err != nil {
		return err
	}
	c, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Client, error) {
		return q.GetClientBySchema(ctx, t.Schema.String())
	})
	if err != nil {
		return err
	}
	p := invitePage{Tenant: c.Name, Inviter: inv.InvitedByUsername, Email: inv.Email, Role: roleWithArticle(inv.Role),
		Expires: inv.ExpiresAt, F: emptyForm()}
	title := "Join " + c.Name
	if r.Method != http.MethodPost {
		return s.renderAccount(w, http.StatusOK, "invite", title, p)
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	p.F = formOf(r, "username", "password", "password2")
	p.F.require("username", "password", "password2")
	if len(p.F.Errors) == 0 && p.F.Values["password"] != p.F.Values["password2"] {
		p.F.Errors["password2"] = "The two password fields didn’t match."
	}
	if len(p.F.Errors) == 0 {
		_, u, err := s.acceptInvitation(ctx, t, raw, p.F.Values["username"], p.F.Values["password"])
		if err == nil {
			return s.renderAccount(w, http.StatusOK, "invite_done", "Welcome to "+c.Name,
				invitePage{Tenant: c.Name, Username: u.Username})
		}
		if errors.Is(err, errInvitationInvalid) || !p.F.failAPI(err) {
			return err
		}
	}
	p.F.Values["password"], p.F.Values["password2"] = "", ""
	p.Error = "Please correct the errors below."
	return s.renderAccount(w, http.StatusBadRequest, "invite", title, p)
}

// failAPI is fail for the errors of the API: a *provision.FieldError or a
// 400 with field errors goes into the form (reporting true).
func (f form) failAPI(err error) bool {
	if f.fail(err) {
		return true
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusBadRequest {
		if m, ok := ae.body.(map[string][]string); ok {
			for k, msgs := range m {
				f.Errors[k] = sentence(strings.Join(msgs, " "))
			}
			return true
		}
	}
	return false
}

// accountError renders err as an account page with the status the API
// would give it: an invalid invitation link says so; unexpected errors are
// logged, never shown.
func (s *Server) accountError(w http.ResponseWriter, r *http.Request, err error) {
	ae, unexpected := toAPIError(err)
	if unexpected {
		if r.Context().Err() != nil {
			return
		}
		s.log.ErrorContext(r.Context(), "request failed", "status", ae.status, "err", err)
	}
	p := errorPage{Status: ae.status, Heading: http.StatusText(ae.status)}
	switch {
	case errors.Is(err, errInvitationInvalid):
		p.Heading = "This invitation link does not work"
		p.Message = "It is invalid, was already used, was revoked or replaced by a newer invitation, or has expired. Ask whoever invited you to send a new invitation."
	case ae.status == http.StatusInternalServerError:
		p.Heading, p.Message = "Server error", "Something went wrong on our side; it has been logged. Try again."
	default:
		if d, ok := ae.body.(detail); ok {
			p.Message = d.Detail
		}
	}
	if rerr := s.renderAccount(w, ae.status, "invite_invalid", p.Heading, p); rerr != nil {
		s.log.ErrorContext(r.Context(), "render account error page", "err", rerr)
		http.Error(w, p.Message, ae.status)
	}
}
