package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// What a client of the Django starter learns from DRF's answers to a method
// a path does not accept (405 with Allow) and to OPTIONS (SimpleMetadata).
// Both are answered by the routers' MethodNotAllowedHandler, so every
// registered path has them without a route of its own.

// allowOrder is the order DRF lists a view's methods in (its
// http_method_names); HEAD follows GET, OPTIONS is always allowed.
var allowOrder = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowedMethods returns the methods router accepts on r's path, in DRF's
// order and format ("GET, POST, HEAD, OPTIONS"), and the path's template
// with its trailing slash. ok is false if no route has the path.
func allowedMethods(router *mux.Router, r *http.Request) (allow []string, template string, vars map[string]string, ok bool) {
	for _, m := range allowOrder {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if !router.Match(probe, &match) || match.MatchErr != nil || match.Route == nil {
			continue
		}
		allow = append(allow, m)
		if template == "" {
			template, _ = match.Route.GetPathTemplate()
			vars = match.Vars
		}
	}
	if len(allow) == 0 {
		return nil, "", nil, false
	}
	if allow[0] == http.MethodGet {
		allow = append(allow, http.MethodHead)
	}
	allow = append(allow, http.MethodOptions)
	if !strings.HasSuffix(template, "/") {
		template += "/"
	}
	return allow, template, vars, true
}

// methodNotAllowed answers a method no route of router takes on the path:
// 405 with the Allow header DRF sends, or, for OPTIONS, the path's metadata.
func (s *Server) methodNotAllowed(router *mux.Router) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allow, template, vars, ok := allowedMethods(router, r)
		if !ok {
			writeJSON(w, errNotFound.status, errNotFound.body)
			return
		}
		requestInfoFrom(r.Context()).Route = template
		w.Header().Set("Allow", strings.Join(allow, ", "))
		if r.Method == http.MethodOptions {
			// mux sets a route's variables only when its method matches.
			s.options(w, mux.SetURLVars(r, vars), template)
			return
		}
		writeJSON(w, http.StatusMethodNotAllowed, detail{Detail: fmt.Sprintf("Method %q not allowed.", r.Method)})
	})
}

// fieldInfo is one field of an action in DRF's SimpleMetadata.
type fieldInfo struct {
	name      string
	Type      string `json:"type"`
	Required  bool   `json:"required"`
	ReadOnly  bool   `json:"read_only"`
	Label     string `json:"label"`
	MaxLength int    `json:"max_length,omitempty"`
	// Choices are a choice field's values, as DRF lists them.
	Choices []choice `json:"choices,omitempty"`
}

// choice is one value of a choice field.
type choice struct {
	Value       string `json:"value"`
	DisplayName string `json:"display_name"`
}

// fields are an action's fields in the serializer's order, which DRF keeps.
type fields []fieldInfo

func (fs fields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.name)
		v, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// metadataJSON is DRF's SimpleMetadata answer to OPTIONS.
type metadataJSON struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Renders     []string          `json:"renders"`
	Parses      []string          `json:"parses"`
	Actions     map[string]fields `json:"actions,omitempty"`
}

var (
	renders = []string{"application/json"}
	parses  = []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
)

// itemFields are the item serializer's fields, as its POST and PUT actions
// describe them.
var itemFields = fields{
	{name: "id", Type: "integer", ReadOnly: true, Label: "ID"},
	{name: "name", Type: "string", Required: true, Label: "Name", MaxLength: 200},
	{name: "description", Type: "string", Label: "Description"},
	{name: "created_by", Type: "integer", ReadOnly: true, Label: "Created by"},
	{name: "created_by_username", Type: "string", ReadOnly: true, Label: "Created by username"},
	{name: "created_at", Type: "datetime", ReadOnly: true, Label: "Created at"},
	{name: "updated_at", Type: "datetime", ReadOnly: true, Label: "Updated at"},
}

// userFields are the fields of /api/users/'s serializer, as its POST
// action describes them.
var userFields = fields{
	{name: "id", Type: "integer", ReadOnly: true, Label: "ID"},
	{name: "username", Type: "string", Required: true, Label: "Username", MaxLength: 150},
	{name: "email", Type: "email", Label: "Email address", MaxLength: 254},
	{name: "password", Type: "string", Required: true, Label: "Password"},
	{name: "role", Type: "choice", Label: "Role", Choices: []choice{
		{Value: owner, DisplayName: "Owner"}, {Value: admin, DisplayName: "Admin"}, {Value: member, DisplayName: "Member"},
	}},
	{name: "is_staff", Type: "boolean", ReadOnly: true, Label: "Staff status"},
	{name: "is_active", Type: "boolean", ReadOnly: true, Label: "Active"},
	{name: "date_joined", Type: "datetime", ReadOnly: true, Label: "Date joined"},
	{name: "last_login", Type: "datetime", ReadOnly: true, Label: "Last login"},
	{name: "email_verified", Type: "boolean", ReadOnly: true, Label: "Email verified"},
}

// apiKeyFields are the fields of /api/api-keys/'s serializer.
var apiKeyFields = fields{
	{name: "id", Type: "integer", ReadOnly: true, Label: "ID"},
	{name: "name", Type: "string", Required: true, Label: "Name", MaxLength: 100},
	{name: "prefix", Type: "string", ReadOnly: true, Label: "Prefix"},
	{name: "scope", Type: "choice", Required: true, Label: "Scope", Choices: []choice{
		{Value: scopeRead, DisplayName: "Read"}, {Value: scopeReadWrite, DisplayName: "Read and write"},
	}},
	{name: "expires_at", Type: "datetime", Label: "Expires at"},
	{name: "created_by", Type: "integer", ReadOnly: true, Label: "Created by"},
	{name: "created_at", Type: "datetime", ReadOnly: true, Label: "Created at"},
	{name: "last_used_at", Type: "datetime", ReadOnly: true, Label: "Last used at"},
	{name: "key", Type: "string", ReadOnly: true, Label: "Key"},
}

// invitationFields are the fields of /api/invitations/'s serializer.
var invitationFields = fields{
	{name: "id", Type: "integer", ReadOnly: true, Label: "ID"},
	{name: "email", Type: "email", Required: true, Label: "Email address", MaxLength: 254},
	{name: "role", Type: "choice", Label: "Role", Choices: []choice{
		{Value: owner, DisplayName: "Owner"}, {Value: admin, DisplayName: "Admin"}, {Value: member, DisplayName: "Member"},
	}},
	{name: "invited_by", Type: "integer", ReadOnly: true, Label: "Invited by"},
	{name: "created_at", Type: "datetime", ReadOnly: true, Label: "Created at"},
	{name: "expires_at", Type: "datetime", ReadOnly: true, Label: "Expires at"},
}

// webhookFields are the fields of /api/webhooks/'s serializer; the secret
// is write-once, shown in the creation's answer only.
var webhookFields = fields{
	{name: "id", Type: "integer", ReadOnly: true, Label: "ID"},
	{name: "url", Type: "url", Required: true, Label: "URL", MaxLength: maxWebhookURL},
	{name: "event_types", Type: "multiple choice", Required: true, Label: "Event types", Choices: eventChoices()},
	{name: "enabled", Type: "boolean", Label: "Enabled"},
	{name: "disabled_reason", Type: "string", ReadOnly: true, Label: "Disabled reason"},
	{name: "created_at", Type: "datetime", ReadOnly: true, Label: "Created at"},
	{name: "updated_at", Type: "datetime", ReadOnly: true, Label: "Updated at"},
	{name: "secret", Type: "string", ReadOnly: true, Label: "Secret"},
}

// eventChoices are the webhook event types as choices.
func eventChoices() []choice {
	out := make([]choice, len(audit.Events))
	for i, e := range audit.Events {
		out[i] = choice{Value: e, DisplayName: e}
	}
	return out
}

func stringInput(name, label string) fieldInfo {
	return fieldInfo{name: name, Type: "string", Required: true, Label: label}
}

// viewAuth is who may ask a path for its metadata: DRF authenticates and
// checks permissions before it answers OPTIONS.
type viewAuth int

const (
	authNone viewAuth = iota
	authTenant
	authAdmin
)

// apiView is what OPTIONS tells of one path: DRF's view name and description,
// and the fields of the actions (POST, PUT) the user may take.
type apiView struct {
	name        string
	description string
	auth        viewAuth
	post        fields
	put         fields // only when the item of the path exists
	// perm, if set, is the action a tenant user's role must allow
	// (permissions.go), as DRF checks the view's permissions on OPTIONS.
	perm action
}

// apiViews describes the API's paths by template. A path missing here is
// described by its last segment, without actions.
var apiViews = map[string]apiView{
	"/api/token/": {name: "Token Obtain Pair", post: fields{stringInput("username", "Username"), stringInput("password", "Password")},
		description: "Takes a set of user credentials and returns an access and refresh JSON web token pair to prove the authentication of those credentials."},
	"/api/token/refresh/": {name: "Token Refresh", post: fields{stringInput("refresh", "Refresh"), {name: "access", Type: "string", ReadOnly: true, Label: "Access"}},
		description: "Takes a refresh type JSON web token and returns an access type JSON web token if the refresh token is valid."},
	"/api/token/blacklist/": {name: "Token Blacklist", post: fields{stringInput("refresh", "Refresh")},
		description: "Takes a token and blacklists it. Must be used with the `rest_framework_simplejwt.token_blacklist` app installed."},
	"/api/token/verify/": {name: "Token Verify", post: fields{stringInput("token", "Token")},
		description: "Takes a token and indicates if it is valid.  This view provides no information about a token's fitness for a particular use."},
	"/api/items/":      {name: "Item List", auth: authTenant, post: itemFields, description: "The tenant's items, newest first, 20 a page."},
	"/api/items/{id}/": {name: "Item Instance", auth: authTenant, put: itemFields, description: "One item of the tenant."},
	"/api/profile/":    {name: "Profile", auth: authTenant, description: "The signed-in user and their tenant."},
	"/api/users/": {name: "User List", auth: authTenant, perm: usersList, post: userFields,
		description: "The tenant's users, by username, 20 a page (owners and admins)."},
	"/api/users/{id}/": {name: "User Instance", auth: authTenant, perm: usersView, description: "One user of the tenant (owners and admins)."},
	"/api/invitations/": {name: "Invitation List", auth: authTenant, perm: invitationsList, post: invitationFields,
		description: "The tenant's pending invitations, newest first, 20 a page (owners and admins)."},
	"/api/invitations/{id}/": {name: "Invitation Instance", auth: authTenant, perm: invitationsDelete,
		description: "One pending invitation: DELETE revokes it (owners and admins)."},
	"/api/audit/": {name: "Audit Log", auth: authTenant, perm: auditList,
		description: "The tenant's audit log, newest first, 50 a page, with cursor pagination (owners and admins)."},
	"/api/invitations/accept/": {name: "Invitation Accept", post: fields{stringInput("token", "Token"), stringInput("username", "Username"), stringInput("password", "Password")},
		description: "Takes an invitation's token, a username and a password, creates the invited user and returns an access and refresh JSON web token pair."},
	"/api/webhooks/": {name: "Webhook List", auth: authTenant, perm: webhooksList, post: webhookFields,
		description: "The tenant's webhook endpoints, newest first, 20 a page (owners and admins)."},
	"/api/webhooks/{id}/": {name: "Webhook Instance", auth: authTenant, perm: webhooksList,
		description: "One webhook endpoint: PATCH changes it, DELETE deletes it (owners and admins)."},
	"/api/webhooks/{id}/deliveries/": {name: "Webhook Delivery List", auth: authTenant, perm: webhooksList,
		description: "The endpoint's deliveries, newest first, 20 a page (owners and admins)."},
	"/api/webhooks/{id}/test/": {name: "Webhook Test", auth: authTenant, perm: webhooksTest,
		description: "POST sends the endpoint a webhook.ping event (owners and admins)."},
	"/api/api-keys/": {name: "Api Key List", auth: authTenant, perm: apiKeysList, post: apiKeyFields,
		description: "The tenant's API keys not revoked, newest first, 20 a page (owners and admins)."},
	"/api/api-keys/{id}/": {name: "Api Key Instance", auth: authTenant, perm: apiKeysDelete,
		description: "One API key: DELETE revokes it (owners and admins)."},
	// Passwords and email addresses (passwords.go).
	"/api/password/change/": {name: "Password Change", auth: authTenant, perm: passwordChange,
		post:        fields{stringInput("old_password", "Old password"), stringInput("new_password", "New password")},
		description: "Changes the signed-in user's password, ends their other sign-ins and returns a new token pair."},
	"/api/password/reset/": {name: "Password Reset",
		post:        fields{{name: "email", Type: "email", Required: true, Label: "Email", MaxLength: 254}},
		description: "Emails a single-use link to reset the password to the accounts with this address."},
	"/api/password/reset/confirm/": {name: "Password Reset Confirm",
		post:        fields{stringInput("token", "Token"), stringInput("new_password", "New password")},
		description: "Sets a new password with the token of a reset link."},
	"/api/email/verify/": {name: "Verify Email", post: fields{stringInput("token", "Token")},
		description: "Verifies an email address with the token of a verification link."},
	"/api/email/verify/resend/": {name: "Resend Email Verification", auth: authTenant, perm: emailResend,
		description: "Emails the signed-in user a new verification link."},
	"/api/signup/": {name: "Signup", post: fields{
		{name: "organization", Type: "string", Required: true, Label: "Organization", MaxLength: 100},
		{name: "subdomain", Type: "string", Required: true, Label: "Subdomain", MaxLength: 63},
		stringInput("username", "Username"),
		{name: "email", Type: "email", Required: true, Label: "Email address", MaxLength: 254},
		stringInput("password", "Password"),
	}, description: "Creates a tenant on <subdomain>.TENANT_BASE_DOMAIN with the caller as its owner, emails a verification link, and returns the schema, the domain and a token pair valid there."},
	"/api/admin/token/": {name: "Admin Token Obtain", post: fields{stringInput("username", "Username"), stringInput("password", "Password")},
		description: "Takes a superuser's credentials and returns an admin access token."},
}

// viewOf returns the description of the path template.
func viewOf(template string) apiView {
	if v, ok := apiViews[template]; ok {
		return v
	}
	v := apiView{auth: authNone}
	if strings.HasPrefix(template, "/api/admin/") {
		v.auth = authAdmin
	}
	segs := strings.Split(strings.Trim(template, "/"), "/")
	last := segs[len(segs)-1]
	if strings.HasPrefix(last, "{") && len(segs) > 1 {
		last = segs[len(segs)-2] + " Instance"
	}
	last = strings.ReplaceAll(last, "_", " ")
	if last == "" {
		last = "Api Root"
	}
	v.name = strings.ToUpper(last[:1]) + last[1:]
	return v
}

// options answers OPTIONS on the path of template with DRF's metadata,
// after the same authentication and permission checks as the path's
// other methods.
func (s *Server) options(w http.ResponseWriter, r *http.Request, template string) {
	v := viewOf(template)
	meta := metadataJSON{Name: v.name, Description: v.description, Renders: renders, Parses: parses}
	if v.post != nil {
		meta.Actions = map[string]fields{http.MethodPost: v.post}
	}
	switch v.auth {
	case authNone:
		writeJSON(w, http.StatusOK, meta)
	case authAdmin:
		s.adminAuthed(func(w http.ResponseWriter, _ *http.Request) error {
			writeJSON(w, http.StatusOK, meta)
			return nil
		}).ServeHTTP(w, r)
	case authTenant:
		s.authed(func(w http.ResponseWriter, r *http.Request, a auth) error {
			ctx := r.Context()
			return a.read(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
				if v.perm != "" {
					if err := a.allow(u, v.perm); err != nil {
						return response{}, err
					}
				}
				if v.put != nil {
					// DRF offers PUT only on an object it can fetch.
					id, err := itemID(r)
					if err == nil {
						_, err = q.GetItem(ctx, id)
						if err != nil && !errors.Is(err, pgx.ErrNoRows) {
							return response{}, err
						}
					}
					if err == nil {
						meta.Actions = map[string]fields{http.MethodPut: v.put}
					}
				}
				return response{http.StatusOK, meta}, nil
			})
		}).ServeHTTP(w, r)
	}
}
