package server

// The pending invitations on the admin's tenant page (issue #12), with
// "Resend" (a new invitation in place of the old one: a new link and
// email, the old link stops working, the expiry starts again) and
// "Revoke". A superuser acts as the tenant's owner here, and is named in
// neither the invitation (invited_by NULL) nor its email.

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// adminInvitation is a pending invitation as the tenant page lists it.
type adminInvitation struct {
	ID        int64
	Email     string
	Role      string
	InvitedBy string // "" when sent from the admin
	CreatedAt time.Time
	ExpiresAt time.Time
}

// maxAdminInvitations is how many pending invitations the tenant page
// shows, newest first.
const maxAdminInvitations = 100

// pinnedSchema returns the ready tenant of schema, pinned (db.Pinned), or
// an error that is a 404.
func (s *Server) pinnedSchema(ctx context.Context, schema string) (db.Schema, error) {
	sc, err := db.ParseSchema(schema)
	if err != nil {
		return db.Schema{}, errNotFound
	}
	return db.Pinned(ctx, s.pool, sc)
}

// tenantInvitations returns the pending invitations of a ready tenant.
func (s *Server) tenantInvitations(ctx context.Context, schema string) ([]adminInvitation, error) {
	sc, err := s.pinnedSchema(ctx, schema)
	if err != nil {
		return nil, err
	}
	rows, err := db.ReadTenantV(ctx, s.pool, sc, func(q *tenantdb.Queries) ([]tenantdb.ListPendingInvitationsRow, error) {
		return q.ListPendingInvitations(ctx, tenantdb.ListPendingInvitationsParams{Lim: maxAdminInvitations})
	})
	if err != nil {
		return nil, err
	}
	out := make([]adminInvitation, len(rows))
	for i, v := range rows {
		out[i] = adminInvitation{ID: v.ID, Email: v.Email, Role: v.Role, InvitedBy: v.InvitedByUsername,
			CreatedAt: v.CreatedAt, ExpiresAt: v.ExpiresAt}
	}
	return out, nil
}

// adminResendInvitationUI replaces an invitation by a new one to the same
// address and role: POST /admin/tenants/{schema}/invitations/{id}/resend/.
// The link points at the tenant's primary domain.
func (s *Server) adminResendInvitationUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := s.prov.DescribeTenant(ctx, schema)
	if err != nil {
		return err
	}
	if t.PrimaryDomain == "" {
		return errDetail(http.StatusBadRequest, "This tenant has no domain for the invitation's link: add one first.")
	}
	host := linkHost(r, t.PrimaryDomain)
	sc, err := s.pinnedSchema(ctx, schema)
	if err != nil {
		return err
	}
	var email string
	err = db.InTenantTx(ctx, s.pool, sc, func(q *tenantdb.Queries, tx pgx.Tx) error {
		// Read the address without a lock: sendInvitation locks the
		// address first, then its open invitation, as an invitation from
		// the API does, and checks it is still this one.
		old, err := q.GetInvitation(ctx, id)
		if err != nil {
			return err
		}
		email = old.Email
		_, err = s.sendInvitation(ctx, q, tx, sc, invite{
			email: old.Email, role: old.Role, asOwner: true, replaces: old.ID,
			link:  func(secret string) string { return s.accountLink(r, host, linkInvite, secret) },
			actor: audit.OperatorFrom(ctx), // the superuser (ui)
		})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return errDetail(http.StatusNotFound, "This invitation is no longer pending.")
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, sess, tenantURL(schema)+"#invitations", "Sent a new invitation to "+email+"; the earlier link no longer works.")
}

// adminRevokeInvitationUI revokes an invitation: POST
// /admin/tenants/{schema}/invitations/{id}/revoke/.
func (s *Server) adminRevokeInvitationUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	sc, err := s.pinnedSchema(ctx, schema)
	if err != nil {
		return err
	}
	email, err := db.InTenantV(ctx, s.pool, sc, func(q *tenantdb.Queries) (string, error) {
		inv, err := q.LockOpenInvitation(ctx, tenantdb.LockOpenInvitationParams{ID: id, Pending: false})
		if err != nil {
			return "", err
		}
		if err := q.RevokeInvitation(ctx, inv.ID); err != nil {
			return "", err
		}
		return inv.Email, audit.Record(ctx, q, sc, audit.Entry{
			Action: audit.InvitationRevoked, Actor: audit.OperatorFrom(ctx), Target: audit.Of("invitation", inv.ID),
			Before: map[string]any{"email": inv.Email, "role": inv.Role}, Data: newInvitationJSON(inv),
		})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return errDetail(http.StatusNotFound, "This invitation is no longer pending.")
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, sess, tenantURL(schema)+"#invitations", "Revoked the invitation of "+email+".")
}
