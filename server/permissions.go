package server

import (
	"net/http"
	"slices"

	"github.com/tenantctl/tenantctl/provision"
)

// action is something a tenant's user may be allowed to do.
type action string

// The actions of the tenant API. An extension adds its own here and a rule
// for it in permissions.
const (
	itemsList   action = "items.list"
	itemsCreate action = "items.create"
	itemsView   action = "items.view"
	itemsUpdate action = "items.update"
	itemsDelete action = "items.delete"
	usersList   action = "users.list"
	usersCreate action = "users.create"
	usersView   action = "users.view"
	usersUpdate action = "users.update"
	usersDelete action = "users.delete"

	invitationsList   action = "invitations.list"
	invitationsCreate action = "invitations.create"
	invitationsDelete action = "invitations.delete"
	// A user's own account (passwords.go).
	passwordChange action = "password.change"
	emailResend    action = "email.resend_verification"
)

const (
	owner  = provision.RoleOwner
	admin  = provision.RoleAdmin
	member = provision.RoleMember
)

// everyone is every role.
var everyone = []string{owner, admin, member}

// permissions is the one role x action table of the tenant API: which roles
// may do each action. An action missing here is allowed to nobody. Rules
// that depend on the user acted on (an admin cannot change an owner; the
// last active owner stays) are in the handlers (users.go), on top of this.
var permissions = map[action][]string{
	itemsList:   everyone,
	itemsCreate: everyone,
	itemsView:   everyone,
	itemsUpdate: everyone, // as in the starter, any user may edit any item
	itemsDelete: everyone,
	usersList:   {owner, admin},
	usersCreate: {owner, admin},
	usersView:   {owner, admin},
	usersUpdate: {owner, admin},
	usersDelete: {owner, admin},

	invitationsList:   {owner, admin},
	invitationsCreate: {owner, admin}, // only an owner invites an owner (invitations.go)
	invitationsDelete: {owner, admin},
	passwordChange:    everyone,
	emailResend:       everyone,
}

// can reports whether a user of role may do act.
func can(role string, act action) bool {
	return slices.Contains(permissions[act], role)
}

// errForbidden is DRF's answer to a user without the permission.
var errForbidden = errDetail(http.StatusForbidden, "You do not have permission to perform this action.")

// allow returns errForbidden unless a user of role may do act.
func allow(role string, act action) error {
	if !can(role, act) {
		return errForbidden
	}
	return nil
}
