package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// routes returns the router of tenant hosts and the router of the public host.
// Every path also answers without its trailing slash, as the Django starter
// (APPEND_SLASH aside) clients expect.
func (s *Server) routes() (tenantRoutes, publicRoutes http.Handler) {
	t := newRouter()
	route(t, "/api/token/", s.handle(s.obtainToken), http.MethodPost)
	route(t, "/api/token/refresh/", s.handle(s.refreshToken), http.MethodPost)
	route(t, "/api/token/blacklist/", s.handle(s.blacklistToken), http.MethodPost)
	route(t, "/api/items/", s.authed(s.listItems), http.MethodGet)
	route(t, "/api/items/", s.authed(s.createItem), http.MethodPost)
	route(t, "/api/items/{id}/", s.authed(s.getItem), http.MethodGet)
	route(t, "/api/items/{id}/", s.authed(s.updateItem(false)), http.MethodPut)
	route(t, "/api/items/{id}/", s.authed(s.updateItem(true)), http.MethodPatch)
	route(t, "/api/items/{id}/", s.authed(s.deleteItem), http.MethodDelete)
	route(t, "/api/profile/", s.authed(s.profile), http.MethodGet)
	s.everyHost(t)

	p := newRouter()
	route(p, "/", s.handle(s.welcome), http.MethodGet)
	route(p, "/admin/", http.HandlerFunc(s.adminPlaceholder), http.MethodGet)
	s.everyHost(p)
	return t, p
}

// everyHost adds the routes that answer on tenant and public hosts alike.
func (s *Server) everyHost(r *mux.Router) {
	route(r, "/health/", http.HandlerFunc(s.health), http.MethodGet)
	route(r, "/ready/", http.HandlerFunc(s.ready), http.MethodGet)
	route(r, "/api/schema/", http.HandlerFunc(s.schema), http.MethodGet)
}

func newRouter() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, errNotFound.status, errNotFound.body)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, detail{Detail: fmt.Sprintf("Method %q not allowed.", r.Method)})
	})
	return r
}

// route registers h for method on path and on path without its trailing slash.
func route(r *mux.Router, path string, h http.Handler, method string) {
	methods := []string{method}
	if method == http.MethodGet {
		methods = append(methods, http.MethodHead)
	}
	r.Handle(path, h).Methods(methods...)
	if trimmed := strings.TrimSuffix(path, "/"); trimmed != "" && trimmed != path {
		r.Handle(trimmed, h).Methods(methods...)
	}
}
