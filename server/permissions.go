package server

import (
	"net/http"
	"slices"

	"github.com/tenantctl/tenantctl/db/tenantdb"
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
	// Webhook endpoints and their deliveries (webhooks.go).
	webhooksList   action = "webhooks.list"
	webhooksCreate action = "webhooks.create"
	webhooksUpdate action = "webhooks.update"
	webhooksDelete action = "webhooks.delete"
	webhooksTest   action = "webhooks.test"
	// A user's own account (passwords.go).
	passwordChange action = "password.change"
	emailResend    action = "email.resend_verification"
	// The audit log (audit.go).
	auditList action = "audit.list"
	// API keys (apikeys.go): users only, never a key (not in keyScopes).
	apiKeysList   action = "api_keys.list"
	apiKeysCreate action = "api_keys.create"
	apiKeysDelete action = "api_keys.delete"
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
	auditList:         {owner, admin},

	webhooksList:   {owner, admin},
	webhooksCreate: {owner, admin},
	webhooksUpdate: {owner, admin},
	webhooksDelete: {owner, admin},
	webhooksTest:   {owner, admin},
	apiKeysList:    {owner, admin},
	apiKeysCreate:  {owner, admin},
	apiKeysDelete:  {owner, admin},
}

// API key scopes (apikeys.go).
const (
	scopeRead      = "read"
	scopeReadWrite = "read_write"
)

// keyScopes says which API keys may do each action: a key of scope read
// or read_write ("read"), or of scope read_write only. An action missing
// here is for signed-in users only: a key gets 403. A key acts with the
// role of the user who created it, so permissions applies to it too.
var keyScopes = map[action]string{
	itemsList:   scopeRead,
	itemsView:   scopeRead,
	itemsCreate: scopeReadWrite,
	itemsUpdate: scopeReadWrite,
	itemsDelete: scopeReadWrite,
	usersList:   scopeRead,
	usersView:   scopeRead,
	usersCreate: scopeReadWrite,
	usersUpdate: scopeReadWrite,
	usersDelete: scopeReadWrite,

	invitationsList:   scopeRead,
	invitationsCreate: scopeReadWrite,
	invitationsDelete: scopeReadWrite,
	// Integrations register their own webhooks with a key.
	webhooksList:   scopeRead,
	webhooksCreate: scopeReadWrite,
	webhooksUpdate: scopeReadWrite,
	webhooksDelete: scopeReadWrite,
	webhooksTest:   scopeReadWrite,
	auditList:      scopeRead, // an integration may read the log
	// Not passwordChange, emailResend: a user's own account; not the
	// apiKeys actions: a key cannot make or revoke keys.
}

// can reports whether a user of role may do act.
func can(role string, act action) bool {
	return slices.Contains(permissions[act], role)
}

// keyMay reports whether an API key of scope may do act.
func keyMay(scope string, act action) bool {
	need, ok := keyScopes[act]
	return ok && (need == scope || need == scopeRead && scope == scopeReadWrite)
}

// errForbidden is DRF's answer to a user without the permission.
var errForbidden = errDetail(http.StatusForbidden, "You do not have permission to perform this action.")

// allow returns errForbidden unless u, the request's user, may do act, and,
// for a request authenticated by an API key, unless the key may too.
func (a auth) allow(u tenantdb.User, act action) error {
	if !can(u.Role, act) || a.key != nil && !keyMay(a.key.scope, act) {
		return errForbidden
	}
	return nil
}
