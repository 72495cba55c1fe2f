package server

import (
	"bytes"
	_ "embed"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// The OpenAPI document as a page people read: /api/docs/ renders the
// embedded document on the server, in the admin's style, with no script and
// nothing fetched from elsewhere.

//go:embed apidocs/docs.html
var docsTemplate string

// wantsJSON reports whether the request's Accept header prefers JSON to
// YAML (the default, also for */*): the type with the highest q wins, the
// first listed among equals.
func wantsJSON(r *http.Request) bool {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best == "application/json" || best == "application/vnd.oai.openapi+json"
}

// docsPage renders the documentation page once: the document is part of
// the binary, so the page never changes.
var docsPage = sync.OnceValues(func() ([]byte, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		return nil, err
	}
	css, err := fs.ReadFile(adminFS, "admin/static/admin.css")
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("docs").Funcs(template.FuncMap{"md": docsText}).Parse(docsTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, newDocsView(doc, template.CSS(css))); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
})

// docsText renders the document's descriptions, which are Markdown, well
// enough to read: text is escaped, then `code`, **strong** and "## "
// headings become HTML; line breaks stay (the page keeps white space).
func docsText(md string) template.HTML {
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimRight(md, "\n"), "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		if h, ok := strings.CutPrefix(line, "## "); ok {
			b.WriteString("<strong class=\"doc-heading\">" + inlineText(h) + "</strong>")
			continue
		}
		b.WriteString(inlineText(line))
	}
	return template.HTML(b.String()) // every piece of text went through inlineText
}

// inlineText escapes a line and turns its `code` and **strong** spans into HTML.
func inlineText(line string) string {
	var b strings.Builder
	for i, part := range strings.Split(line, "`") {
		if i%2 == 1 {
			b.WriteString("<code>" + template.HTMLEscapeString(part) + "</code>")
			continue
		}
		for j, p := range strings.Split(part, "**") {
			if j%2 == 1 {
				b.WriteString("<strong>" + template.HTMLEscapeString(p) + "</strong>")
			} else {
				b.WriteString(template.HTMLEscapeString(p))
			}
		}
	}
	return b.String()
}

// apiDocs serves the documentation page (every host, like /api/schema/).
func (s *Server) apiDocs(w http.ResponseWriter, r *http.Request) {
	page, err := docsPage()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(page)
}

type docsView struct {
	Title, Version, Description string
	CSS                         template.CSS
	Tags                        []docsTag
	Schemas                     []docsSchema
}

type docsTag struct {
	Name, Description string
	Ops               []docsOp
}

type docsOp struct {
	ID, Method, MethodLower, Path, Summary, Description, Auth string
	Params                                                    []docsParam
	Body                                                      *docsBody
	Responses                                                 []docsResponse
}

type docsParam struct {
	Name, In, Type, Description string
	Required                    bool
}

type docsBody struct {
	Required     bool
	ContentTypes []string
	Schema       string
}

type docsResponse struct {
	Code, Description string
	ContentTypes      []string
	Schema            string
}

type docsSchema struct {
	Name, Type, Description string
	Props                   []docsParam
}

// methodOrder is the order a path's operations are listed in.
var methodOrder = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

func newDocsView(doc *openapi3.T, css template.CSS) docsView {
	v := docsView{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description, CSS: css}
	byTag := map[string]int{}
	for _, t := range doc.Tags {
		byTag[t.Name] = len(v.Tags)
		v.Tags = append(v.Tags, docsTag{Name: t.Name, Description: t.Description})
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for _, m := range methodOrder {
			op := item.GetOperation(m)
			if op == nil {
				continue
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			i, ok := byTag[tag]
			if !ok {
				i = len(v.Tags)
				byTag[tag] = i
				v.Tags = append(v.Tags, docsTag{Name: tag})
			}
			v.Tags[i].Ops = append(v.Tags[i].Ops, newDocsOp(path, m, item, op))
		}
	}
	for _, t := range v.Tags {
		slices.SortStableFunc(t.Ops, func(a, b docsOp) int { return strings.Compare(a.Path, b.Path) })
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := doc.Components.Schemas[name].Value
		ds := docsSchema{Name: name, Type: schemaType(doc.Components.Schemas[name]), Description: s.Description}
		props := make([]string, 0, len(s.Properties))
		for p := range s.Properties {
			props = append(props, p)
		}
		slices.Sort(props)
		for _, p := range props {
			ps := s.Properties[p]
			ds.Props = append(ds.Props, docsParam{Name: p, Type: schemaType(ps), Description: ps.Value.Description,
				Required: slices.Contains(s.Required, p)})
		}
		v.Schemas = append(v.Schemas, ds)
	}
	return v
}

func newDocsOp(path, method string, item *openapi3.PathItem, op *openapi3.Operation) docsOp {
	o := docsOp{ID: op.OperationID, Method: method, MethodLower: strings.ToLower(method), Path: path,
		Summary: op.Summary, Description: op.Description}
	if op.Security != nil {
		for _, req := range *op.Security {
			for name := range req {
				o.Auth = name
			}
		}
	}
	for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
		if p.Value == nil {
			continue
		}
		o.Params = append(o.Params, docsParam{Name: p.Value.Name, In: p.Value.In, Type: schemaType(p.Value.Schema),
			Description: p.Value.Description, Required: p.Value.Required})
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		b := &docsBody{Required: op.RequestBody.Value.Required}
		b.ContentTypes, b.Schema = contentOf(op.RequestBody.Value.Content)
		o.Body = b
	}
	codes := make([]string, 0, op.Responses.Len())
	for code := range op.Responses.Map() {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		r := op.Responses.Value(code).Value
		if r == nil {
			continue
		}
		dr := docsResponse{Code: code}
		if r.Description != nil {
			dr.Description = *r.Description
		}
		dr.ContentTypes, dr.Schema = contentOf(r.Content)
		o.Responses = append(o.Responses, dr)
	}
	return o
}

// contentOf lists a body's media types and names the schema of the first.
func contentOf(c openapi3.Content) (types []string, schema string) {
	for mt := range c {
		types = append(types, mt)
	}
	slices.Sort(types)
	if len(types) > 0 {
		schema = schemaType(c[types[0]].Schema)
	}
	return types, schema
}

// schemaType names a schema: its component's name, or its type.
func schemaType(ref *openapi3.SchemaRef) string {
	if ref == nil {
		return ""
	}
	if ref.Ref != "" {
		return ref.Ref[strings.LastIndex(ref.Ref, "/")+1:]
	}
	s := ref.Value
	if s == nil {
		return ""
	}
	if len(s.OneOf) > 0 {
		names := make([]string, len(s.OneOf))
		for i, o := range s.OneOf {
			names[i] = schemaType(o)
		}
		return strings.Join(names, " or ")
	}
	t := ""
	if s.Type != nil && len(*s.Type) > 0 {
		t = (*s.Type)[0]
	}
	if t == "array" && s.Items != nil {
		t = "array of " + schemaType(s.Items)
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if s.Nullable {
		t += ", nullable"
	}
	return t
}
