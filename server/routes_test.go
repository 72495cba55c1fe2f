package server

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// registeredOperations walks the routers of tenant hosts, of the public
// host and of every host and returns each "METHOD /path/" they serve, paths
// with their trailing slash. HEAD (implied by GET), the HTML admin under
// /admin/ and the HTML account pages under /accounts/ are left out: none is
// part of the JSON API.
func registeredOperations(t *testing.T) map[string]bool {
	t.Helper()
	s := &Server{}
	tenant, public, anyHost := s.routes()
	ops := map[string]bool{}
	for _, h := range []http.Handler{tenant, public, anyHost} {
		router, ok := h.(*mux.Router)
		require.True(t, ok, "a router is a %T", h)
		err := router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
			path, err := route.GetPathTemplate()
			if err != nil {
				return err
			}
			if strings.HasPrefix(path, "/admin") || strings.HasPrefix(path, "/accounts/") {
				return nil
			}
			methods, err := route.GetMethods()
			require.NoError(t, err, "route %s has no methods", path)
			if !strings.HasSuffix(path, "/") {
				path += "/"
			}
			for _, m := range methods {
				if m != http.MethodHead {
					ops[m+" "+path] = true
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
	return ops
}

// TestRoutesMatchOpenAPI fails when a registered route is not in the
// OpenAPI document, or the document lists an operation no route serves.
func TestRoutesMatchOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	require.NoError(t, err)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	registered := registeredOperations(t)
	require.Contains(t, registered, "POST /api/token/verify/", "the walk sees the tenant routes")
	require.Contains(t, registered, "GET /api/admin/tenants/", "the walk sees the public routes")
	require.Contains(t, registered, "GET /api/docs/", "the walk sees the routes of every host")

	var undocumented, unrouted []string
	for op := range registered {
		if !documented[op] {
			undocumented = append(undocumented, op)
		}
	}
	for op := range documented {
		if !registered[op] {
			unrouted = append(unrouted, op)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unrouted)
	assert.Empty(t, undocumented, "registered but missing from openapi.yaml")
	assert.Empty(t, unrouted, "in openapi.yaml but not registered")
}

func TestWantsJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                   false,
		"*/*":                                false,
		"application/json":                   true,
		"application/vnd.oai.openapi+json":   true,
		"application/json, text/plain, */*":  true,
		"application/yaml, application/json": false,
		"application/yaml;q=0.5, application/json": true,
		"text/html,application/xhtml+xml":          false,
		"application/json;q=0, */*":                false,
		"garbage;;;":                               false,
	} {
		r, _ := http.NewRequest(http.MethodGet, "/api/schema/", nil)
		r.Header.Set("Accept", accept)
		assert.Equal(t, want, wantsJSON(r), "Accept: %s", accept)
	}
}

func TestDocsText(t *testing.T) {
	for in, want := range map[string]string{
		"plain <b> & text":     "plain &lt;b&gt; &amp; text",
		"a `code <x>` span":    "a <code>code &lt;x&gt;</code> span",
		"**strong** `**not**`": "<strong>strong</strong> <code>**not**</code>",
		"## Head\nline\n":      "<strong class=\"doc-heading\">Head</strong>\nline",
		"unclosed `<script>":   "unclosed <code>&lt;script&gt;</code>",
		`quote "x" and 'y'`:    "quote &#34;x&#34; and &#39;y&#39;",
	} {
		assert.Equal(t, want, string(docsText(in)), "%q", in)
	}
}
