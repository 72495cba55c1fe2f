package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/server"
)

func TestSchemaNegotiation(t *testing.T) {
	e := newEnv(t)
	get := func(host, path, accept string) reply {
		rq := req{method: "GET", host: host, path: path}
		if accept != "" {
			rq.header = http.Header{"Accept": {accept}}
		}
		r := e.do(rq)
		require.Equal(t, 200, r.status)
		return r
	}
	isJSON := func(r reply) bool {
		var doc map[string]any
		return json.Unmarshal(r.body, &doc) == nil && doc["openapi"] == "3.0.3"
	}
	for _, c := range []struct {
		name, host, path, accept string
		json                     bool
	}{
		{"YAMLByDefault", public, "/api/schema/", "", false},
		{"YAMLForAnything", school1, "/api/schema/", "*/*", false},
		{"JSONForAcceptJSON", public, "/api/schema/", "application/json", true},
		{"JSONForAxiosAccept", school1, "/api/schema/", "application/json, text/plain, */*", true},
		{"JSONForOpenAPIJSON", public, "/api/schema", "application/vnd.oai.openapi+json", true},
		{"YAMLPreferred", public, "/api/schema/", "application/yaml, application/json;q=0.9", false},
		{"JSONByFormat", public, "/api/schema/?format=json", "", true},
		{"YAMLByFormat", public, "/api/schema/?format=yaml", "application/json", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := get(c.host, c.path, c.accept)
			assert.Equal(t, c.json, isJSON(r), "%.80s", r.body)
			if c.json {
				assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			} else {
				assert.True(t, strings.HasPrefix(string(r.body), "openapi: 3"))
				assert.Contains(t, r.header.Get("Content-Type"), "application/vnd.oai.openapi")
			}
			assert.Contains(t, r.header.Values("Vary"), "Accept")
		})
	}
}

func TestDocsPage(t *testing.T) {
	e := newEnv(t)
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI())
	require.NoError(t, err)
	for _, host := range []string{public, school1, "unknown.localhost:8000"} {
		t.Run(host, func(t *testing.T) {
			e.t = t
			r := e.do(req{method: "GET", host: host, path: "/api/docs/"})
			require.Equal(t, 200, r.status)
			assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
			page := string(r.body)
			assert.Contains(t, page, "<title>tenantctl API 1.0.0")
			for path, item := range doc.Paths.Map() {
				for method, op := range item.Operations() {
					assert.Contains(t, page, `id="`+op.OperationID+`"`, "%s %s has no section", method, path)
					assert.Contains(t, page, "<code>"+method+" "+path+"</code>", "%s %s is not listed", method, path)
				}
			}
			assert.Contains(t, page, `id="schema-TokenVerifyRequest"`)
			assert.Contains(t, page, "<code>multipart/form-data</code>", "request body media types are shown")
			assert.Contains(t, page, "--accent:", "the admin's styles are inlined")
			assert.NotContains(t, strings.ToLower(page), "<script")
			assert.Empty(t, regexp.MustCompile(`(?:src|href)="(?:https?:)?//`).FindAllString(page, -1), "nothing is loaded from elsewhere")
		})
	}
	t.Run("NoSlash", func(t *testing.T) {
		e.t = t
		assert.Equal(t, 200, e.do(req{method: "GET", host: school1, path: "/api/docs"}).status)
	})
}
