package server

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// routes returns the routers of tenant hosts, of the public host, and of the
// paths that answer alike on every host. Every path also answers without its
// trailing slash, as the Django starter's clients expect.
func (s *Server) routes() (tenantRoutes, publicRoutes http.Handler, anyHostRoutes *mux.Router) {
	t := s.newRouter()
	route(t, "/api/token/", s.handle(s.obtainToken), http.MethodPost)
	route(t, "/api/token/refresh/", s.handle(s.refreshToken), http.MethodPost)
	route(t, "/api/token/blacklist/", s.handle(s.blacklistToken), http.MethodPost)
	route(t, "/api/token/verify/", s.handle(s.verifyToken), http.MethodPost)
	route(t, "/api/items/", s.authed(s.listItems), http.MethodGet)
	route(t, "/api/items/", s.authed(s.createItem), http.MethodPost)
	route(t, "/api/items/{id}/", s.authed(s.getItem), http.MethodGet)
	route(t, "/api/items/{id}/", s.authed(s.updateItem(false)), http.MethodPut)
	route(t, "/api/items/{id}/", s.authed(s.updateItem(true)), http.MethodPatch)
	route(t, "/api/items/{id}/", s.authed(s.deleteItem), http.MethodDelete)
	route(t, "/api/profile/", s.authed(s.profile), http.MethodGet)
	route(t, "/api/users/", s.authed(s.listUsers), http.MethodGet)
	route(t, "/api/users/", s.authed(s.createUser), http.MethodPost)
	route(t, "/api/users/{id}/", s.authed(s.getUser), http.MethodGet)
	route(t, "/api/users/{id}/", s.authed(s.updateUser), http.MethodPatch)
	route(t, "/api/users/{id}/", s.authed(s.deleteUser), http.MethodDelete)
	route(t, "/api/invitations/", s.authed(s.listInvitations), http.MethodGet)
	route(t, "/api/invitations/", s.authed(s.createInvitation), http.MethodPost)
	route(t, "/api/invitations/accept/", s.handle(s.acceptInvitationAPI), http.MethodPost)
	route(t, "/api/invitations/{id}/", s.authed(s.deleteInvitation), http.MethodDelete)
	route(t, "/api/audit/", s.authed(s.listAudit), http.MethodGet)
	route(t, "/api/webhooks/", s.authed(s.listWebhooks), http.MethodGet)
	route(t, "/api/webhooks/", s.authed(s.createWebhook), http.MethodPost)
	route(t, "/api/webhooks/{id}/", s.authed(s.getWebhook), http.MethodGet)
	route(t, "/api/webhooks/{id}/", s.authed(s.updateWebhook), http.MethodPatch)
	route(t, "/api/webhooks/{id}/", s.authed(s.deleteWebhook), http.MethodDelete)
	route(t, "/api/webhooks/{id}/deliveries/", s.authed(s.listDeliveries), http.MethodGet)
	route(t, "/api/webhooks/{id}/test/", s.authed(s.testWebhook), http.MethodPost)
	// API keys (apikeys.go).
	route(t, "/api/api-keys/", s.authed(s.listAPIKeys), http.MethodGet)
	route(t, "/api/api-keys/", s.authed(s.createAPIKey), http.MethodPost)
	route(t, "/api/api-keys/{id}/", s.authed(s.deleteAPIKey), http.MethodDelete)
	route(t, "/accounts/invite/{token}/", http.HandlerFunc(s.invitationPage), http.MethodGet)
	route(t, "/accounts/invite/{token}/", http.HandlerFunc(s.invitationPage), http.MethodPost)
	// Passwords and email addresses (passwords.go).
	route(t, "/api/password/change/", s.authed(s.changePassword), http.MethodPost)
	route(t, "/api/password/reset/", s.handle(s.requestReset), http.MethodPost)
	route(t, "/api/password/reset/confirm/", s.handle(s.confirmReset), http.MethodPost)
	route(t, "/api/email/verify/", s.handle(s.verifyEmailAPI), http.MethodPost)
	route(t, "/api/email/verify/resend/", s.authed(s.resendVerification), http.MethodPost)
	route(t, "/accounts/reset/{token}/", s.handle(s.resetPageUI), http.MethodGet)
	route(t, "/accounts/reset/{token}/", s.handle(s.resetPageUI), http.MethodPost)
	route(t, "/accounts/verify/{token}/", s.handle(s.verifyPageUI), http.MethodGet)
	route(t, "/accounts/verify/{token}/", s.handle(s.verifyPageUI), http.MethodPost)
	t.PathPrefix("/accounts/static/").Handler(withRoute("/accounts/static/*", s.accountStatic())).Methods(http.MethodGet, http.MethodHead)

	p := s.newRouter()
	route(p, "/", s.handle(s.welcome), http.MethodGet)
	s.adminAPI(p)
	s.adminUI(p)
	route(p, "/api/signup/", s.handle(s.signup), http.MethodPost)

	a := s.newRouter()
	route(a, "/health/", http.HandlerFunc(s.health), http.MethodGet)
	route(a, "/ready/", http.HandlerFunc(s.ready), http.MethodGet)
	route(a, "/api/schema/", http.HandlerFunc(s.schema), http.MethodGet)
	route(a, "/api/docs/", http.HandlerFunc(s.apiDocs), http.MethodGet)
	return t, p, a
}

// adminAPI adds the JSON admin API (public host only): a superuser's admin
// token from /api/admin/token/, then tenants, their domains and their users.
func (s *Server) adminAPI(p *mux.Router) {
	route(p, "/api/admin/token/", s.adminHandle(s.adminObtainToken), http.MethodPost)
	route(p, "/api/admin/tenants/", s.adminAuthed(s.adminListTenants), http.MethodGet)
	route(p, "/api/admin/tenants/", s.adminAuthed(s.adminCreateTenant), http.MethodPost)
	route(p, "/api/admin/tenants/{schema}/", s.adminAuthed(s.adminGetTenant), http.MethodGet)
	route(p, "/api/admin/tenants/{schema}/", s.adminAuthed(s.adminUpdateTenant), http.MethodPatch)
	route(p, "/api/admin/tenants/{schema}/", s.adminAuthed(s.adminDeleteTenant), http.MethodDelete)
	route(p, "/api/admin/tenants/{schema}/restore/", s.adminAuthed(s.adminRestoreTenant), http.MethodPost)
	route(p, "/api/admin/tenants/{schema}/move/", s.adminAuthed(s.adminMoveTenant), http.MethodPost)
	route(p, "/api/admin/tenants/{schema}/domains/", s.adminAuthed(s.adminListDomains), http.MethodGet)
	route(p, "/api/admin/tenants/{schema}/domains/", s.adminAuthed(s.adminAddDomain), http.MethodPost)
	route(p, "/api/admin/tenants/{schema}/domains/{domain}/", s.adminAuthed(s.adminUpdateDomain), http.MethodPatch)
	route(p, "/api/admin/tenants/{schema}/domains/{domain}/", s.adminAuthed(s.adminRemoveDomain), http.MethodDelete)
	route(p, "/api/admin/tenants/{schema}/users/", s.adminAuthed(s.adminListUsers), http.MethodGet)
	route(p, "/api/admin/tenants/{schema}/users/", s.adminAuthed(s.adminCreateUser), http.MethodPost)
	route(p, "/api/admin/tenants/{schema}/users/{id}/", s.adminAuthed(s.adminGetUser), http.MethodGet)
	route(p, "/api/admin/tenants/{schema}/users/{id}/", s.adminAuthed(s.adminUpdateUser), http.MethodPatch)
	route(p, "/api/admin/tenants/{schema}/users/{id}/", s.adminAuthed(s.adminDeleteUser), http.MethodDelete)
	route(p, "/api/admin/tenants/{schema}/users/{id}/set_password/", s.adminAuthed(s.adminSetPassword), http.MethodPost)
	route(p, "/api/admin/tenants/{schema}/users/{id}/send_password_reset/", s.adminAuthed(s.adminSendResetAPI), http.MethodPost)
	route(p, "/api/admin/superusers/", s.adminAuthed(s.adminListSuperusers), http.MethodGet)
	route(p, "/api/admin/superusers/{id}/", s.adminAuthed(s.adminDeleteSuperuser), http.MethodDelete)
	route(p, "/api/admin/superusers/{id}/set_password/", s.adminAuthed(s.adminSetSuperuserPassword), http.MethodPost)
}

// adminUI adds the admin web UI (public host only). Pages are GETs; every
// change is a POST of a form carrying the session's CSRF token.
func (s *Server) adminUI(p *mux.Router) {
	route(p, "/admin/", http.HandlerFunc(s.adminRoot), http.MethodGet)
	p.PathPrefix("/admin/static/").Handler(withRoute("/admin/static/*", s.adminStatic())).Methods(http.MethodGet, http.MethodHead)
	route(p, "/admin/login/", s.uiOpen(s.adminLoginPage), http.MethodGet)
	route(p, "/admin/login/", s.uiOpen(s.adminLogin), http.MethodPost)
	route(p, "/admin/logout/", s.ui(s.adminLogout), http.MethodPost)
	route(p, "/admin/tenants/", s.ui(s.adminTenants), http.MethodGet)
	route(p, "/admin/new-tenant/", s.ui(s.adminNewTenantUI), http.MethodGet)
	route(p, "/admin/new-tenant/", s.ui(s.adminCreateTenantUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/", s.ui(s.adminTenant), http.MethodGet)
	route(p, "/admin/tenants/{schema}/delete/", s.ui(s.adminDeleteUI), http.MethodGet)
	route(p, "/admin/tenants/{schema}/delete/", s.ui(s.adminDeleteUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/restore/", s.ui(s.adminRestoreUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/move/", s.ui(s.adminMoveTenantUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/domains/", s.ui(s.adminAddDomainUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/domains/{domain}/primary/", s.ui(s.adminPrimaryDomainUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/settings/", s.ui(s.adminTenantSettingsUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/domains/{domain}/remove/", s.ui(s.adminRemoveDomainPage), http.MethodGet)
	route(p, "/admin/tenants/{schema}/domains/{domain}/remove/", s.ui(s.adminRemoveDomainUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/users/", s.ui(s.adminCreateUserUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/users/{id}/", s.ui(s.adminUserUI), http.MethodGet)
	route(p, "/admin/tenants/{schema}/users/{id}/", s.ui(s.adminUserUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/users/{id}/active/", s.ui(s.adminUserDeactivateUI), http.MethodGet)
	route(p, "/admin/tenants/{schema}/users/{id}/active/", s.ui(s.adminUserActiveUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/users/{id}/delete/", s.ui(s.adminUserDeleteUI), http.MethodGet)
	route(p, "/admin/tenants/{schema}/users/{id}/delete/", s.ui(s.adminUserDeleteUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/users/{id}/password/", s.ui(s.adminPasswordUI), http.MethodGet)
	route(p, "/admin/tenants/{schema}/users/{id}/password/", s.ui(s.adminPasswordUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/users/{id}/send_password_reset/", s.ui(s.adminSendResetUI), http.MethodPost)
	route(p, "/admin/superusers/", s.ui(s.adminSuperusersUI), http.MethodGet)
	route(p, "/admin/superusers/{id}/password/", s.ui(s.adminSuperuserPasswordUI), http.MethodGet)
	route(p, "/admin/superusers/{id}/password/", s.ui(s.adminSuperuserPasswordUI), http.MethodPost)
	route(p, "/admin/superusers/{id}/delete/", s.ui(s.adminSuperuserDeleteUI), http.MethodGet)
	route(p, "/admin/superusers/{id}/delete/", s.ui(s.adminSuperuserDeleteUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/audit/", s.ui(s.adminAuditUI), http.MethodGet)
	route(p, "/admin/tenants/{schema}/invitations/{id}/resend/", s.ui(s.adminResendInvitationUI), http.MethodPost)
	route(p, "/admin/tenants/{schema}/invitations/{id}/revoke/", s.ui(s.adminRevokeInvitationUI), http.MethodPost)
	route(p, "/admin/jobs/", s.ui(s.adminJobsUI), http.MethodGet)
	route(p, "/admin/jobs/{id}/retry/", s.ui(s.adminJobRetryUI), http.MethodPost)
	// Any other path under /admin/ is an HTML 404.
	p.PathPrefix("/admin/").Handler(s.uiOpen(s.adminNotFound))
}

// newRouter returns a router whose unknown paths are JSON 404s, and whose
// paths answer a method they do not take with a 405 carrying Allow, or,
// for OPTIONS, with DRF's metadata (see options.go).
func (s *Server) newRouter() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, errNotFound.status, errNotFound.body)
	})
	r.MethodNotAllowedHandler = s.methodNotAllowed(r)
	return r
}

// route registers h for method on path and on path without its trailing
// slash, both under path as their route template.
func route(r *mux.Router, path string, h http.Handler, method string) {
	h = withRoute(path, h)
	methods := []string{method}
	if method == http.MethodGet {
		methods = append(methods, http.MethodHead)
	}
	r.Handle(path, h).Methods(methods...)
	if trimmed := strings.TrimSuffix(path, "/"); trimmed != "" && trimmed != path {
		r.Handle(trimmed, h).Methods(methods...)
	}
}
