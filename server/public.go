package server

import (
	"context"
	_ "embed"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Version is the product version reported by the welcome endpoint.
const Version = "0.1.0"

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the embedded OpenAPI document (YAML).
func OpenAPI() []byte { return openapiYAML }

// openapiJSON is the same document as JSON, converted on first use (loading
// the document is too slow to pay on every start of the CLI).
var openapiJSON = sync.OnceValue(func() []byte {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		panic("embedded openapi.yaml does not load: " + err.Error())
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
})

type welcomeJSON struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Message string            `json:"message"`
	Links   map[string]string `json:"links"`
}

func (s *Server) welcome(w http.ResponseWriter, r *http.Request) error {
	scheme := requestScheme(r)
	base := scheme + "://" + r.Host
	// The example tenant URL has the port this request came in on.
	port := ""
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = ":" + p
	}
	writeJSON(w, http.StatusOK, welcomeJSON{
		Name:    "tenantctl",
		Version: Version,
		Message: "This is the public host. Each tenant's API answers on the tenant's own domain, e.g. " + scheme + "://school1.localhost" + port + "/api/.",
		Links: map[string]string{
			"admin":  base + "/admin/",
			"schema": base + "/api/schema/",
			"docs":   base + "/api/docs/",
			"health": base + "/health/",
			"ready":  base + "/ready/",
		},
	})
	return nil
}

// health answers without touching the database: the process is up.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ready also checks that the database answers.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": "ok"})
}

// schema serves the OpenAPI document: YAML by default, JSON with
// ?format=json or when the Accept header prefers JSON.
func (s *Server) schema(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	if f := r.URL.Query().Get("format"); f == "json" || (f != "yaml" && wantsJSON(r)) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapiJSON())
		return
	}
	w.Header().Set("Content-Type", "application/vnd.oai.openapi; charset=utf-8")
	_, _ = w.Write(openapiYAML)
}
