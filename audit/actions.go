package audit

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// The actions the product records. A webhook event is an action in Events.
const (
	SignedIn        = "auth.signed_in"
	SignInFailed    = "auth.sign_in_failed"
	SignedOut       = "auth.signed_out"
	RefreshReused   = "auth.refresh_reused" // a used refresh token presented again: its family is revoked
	PasswordChanged = "auth.password_changed"
	PasswordReset   = "auth.password_reset" // a reset link used
	ResetRequested  = "auth.password_reset_requested"
	EmailVerified   = "auth.email_verified"
	// PasswordSet: a superuser set a user's password (admin UI or API,
	// tenantctl user set-password); the user's own change is PasswordChanged.
	PasswordSet = "auth.password_set"

	UserCreated = "user.created"
	UserUpdated = "user.updated" // role, active, email, ... (the changed fields say which)
	UserDeleted = "user.deleted"

	UserInvited        = "user.invited"
	InvitationRevoked  = "invitation.revoked"
	InvitationAccepted = "invitation.accepted"

	APIKeyCreated = "api_key.created"
	APIKeyRevoked = "api_key.revoked"

	WebhookCreated = "webhook.created"
	WebhookUpdated = "webhook.updated"
	WebhookDeleted = "webhook.deleted"
	// WebhookDisabled: the product disabled an endpoint after sustained failure.
	WebhookDisabled = "webhook.disabled"

	ItemCreated = "item.created"
	ItemUpdated = "item.updated"
	ItemDeleted = "item.deleted"

	// Superuser actions on the tenant itself (admin UI, admin API, tenantctl).
	TenantUpdated  = "tenant.updated"
	TenantMoved    = "tenant.moved"
	TenantRestored = "tenant.restored"
	// TenantDeleted: deleted softly (it can be restored); a permanent
	// deletion drops the schema, and its log with it.
	TenantDeleted = "tenant.deleted"
	DomainAdded   = "domain.added"
	DomainUpdated = "domain.updated"
	DomainRemoved = "domain.removed"
)

// Events are the actions a customer can subscribe a webhook endpoint to:
// the changes to the tenant's data and membership that their own systems
// act on. Sign-ins and the product's housekeeping are in the audit log
// only. Ping is sent by POST /api/webhooks/{id}/test/ alone.
var Events = []string{
	ItemCreated, ItemUpdated, ItemDeleted,
	UserCreated, UserUpdated, UserDeleted,
	UserInvited, InvitationAccepted, InvitationRevoked,
	APIKeyCreated, APIKeyRevoked,
}

// Ping is the event type of a test delivery.
const Ping = "webhook.ping"

// IsEvent reports whether action is a webhook event type.
func IsEvent(action string) bool { return slices.Contains(Events, action) }

// Secret reports whether a field must never be logged: passwords, their
// hashes, tokens, keys and secrets, whatever a caller passes.
func Secret(field string) bool {
	f := strings.ToLower(field)
	for _, s := range []string{"password", "hash", "token", "secret", "key"} {
		if strings.Contains(f, s) && f != "key_prefix" && f != "prefix" {
			return true
		}
	}
	return false
}

// diff returns the JSON {"before": {...}, "after": {...}} of the fields
// that differ between before and after (all of after for a creation, all
// of before for a deletion), without Secret fields; nil when nothing is
// left.
func diff(before, after map[string]any) ([]byte, error) {
	b, a := map[string]any{}, map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if Secret(k) {
			continue
		}
		av, inAfter := after[k]
		if inAfter && reflect.DeepEqual(normal(before[k]), normal(av)) {
			continue
		}
		b[k] = before[k]
		if inAfter {
			a[k] = av
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok && !Secret(k) {
			a[k] = v
		}
	}
	if len(b) == 0 && len(a) == 0 {
		return nil, nil
	}
	out := map[string]any{}
	if before != nil {
		out["before"] = b
	}
	if after != nil {
		out["after"] = a
	}
	return json.Marshal(out)
}

// normal dereferences a pointer, so that *string "x" equals string "x".
func normal(v any) any {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil
	}
	return rv.Interface()
}
