package server

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/provision"
)

// The admin web UI at /admin/: server-rendered pages for superusers, working
// without JavaScript. Every change is a form POST answered by a redirect to
// a page that shows a flash message (post/redirect/get), or, when the input
// is invalid, by the same page again with the errors next to their fields.
// Sessions and CSRF are described in admin_session.go.

//go:embed admin/templates/*.html admin/static/*
var adminFS embed.FS

// adminPages are the parsed page templates, by name (the file name without
// .html); each is executed as "layout" with the page's "content".
type adminPages map[string]*template.Template

var adminFuncs = template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"whenPtr": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	// dict builds the arguments of a sub-template: dict "Key" value ...
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("dict needs key and value pairs")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"roles": func() []string { return []string{provision.RoleMember, provision.RoleAdmin, provision.RoleOwner} },
	"date": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.Format(time.DateOnly)
	},
}

// parseAdminPages parses the embedded templates; they are part of the
// binary, so a parse error is a bug caught by every test.
func parseAdminPages() adminPages { return parsePages(adminFS, "admin/templates") }

// parsePages parses each page template in dir of fsys with dir's
// layout.html around it, by name (the file name without .html).
func parsePages(fsys fs.FS, dir string) map[string]*template.Template {
	names, err := fs.Glob(fsys, dir+"/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		pages[strings.TrimSuffix(base, ".html")] = template.Must(
			template.New(base).Funcs(adminFuncs).ParseFS(fsys, dir+"/layout.html", n))
	}
	return pages
}

// view is what the layout renders around a page.
type view struct {
	Title      string
	User       string // the signed-in superuser; "" when signed out
	CSRF       string
	Flash      string
	FlashError bool
	Page       any
}

// render writes page with status. It renders into a buffer first, so a
// template error is a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, status int, sess *adminSession, page, title string, data any) error {
	v := view{Title: title, Page: data}
	if sess != nil {
		v.User, v.CSRF, v.Flash, v.FlashError = sess.username, sess.csrf, sess.flash, sess.flashError
	}
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("no admin page %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// adminHeaders are the security headers of every admin page: nothing is
// loaded from elsewhere, no script runs, no other site may frame the pages
// or receive their URLs, and nothing is cached.
func adminHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// uiHandler is an admin page or form handler. sess is nil only for the
// handlers wrapped by uiOpen.
type uiHandler func(w http.ResponseWriter, r *http.Request, sess *adminSession) error

// ui wraps a handler of a signed-in superuser. Without a session a GET is
// sent to the sign-in page (and back afterwards) and a POST changes
// nothing. Every POST must carry the session's CSRF token.
func (s *Server) ui(h uiHandler) http.Handler {
	return s.uiWith(h, true)
}

// uiOpen wraps a handler that also answers without a session (the sign-in
// page, not-found pages); it checks its own CSRF token.
func (s *Server) uiOpen(h uiHandler) http.Handler {
	return s.uiWith(h, false)
}

func (s *Server) uiWith(h uiHandler, needSession bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adminHeaders(w)
		var sess *adminSession
		err := func() error {
			if s.prov == nil {
				return errAdminUnavailable
			}
			var err error
			if sess, err = s.loadSession(r); err != nil {
				return err
			}
			if r.Method == http.MethodPost {
				if err := parseForm(w, r); err != nil {
					return err
				}
			}
			if !needSession {
				return h(w, r, sess)
			}
			if sess == nil {
				target := "/admin/login/"
				if r.Method == http.MethodGet || r.Method == http.MethodHead {
					target += "?next=" + url.QueryEscape(r.URL.RequestURI())
				}
				http.Redirect(w, r, target, http.StatusSeeOther)
				return nil
			}
			if r.Method == http.MethodPost {
				if err := checkOrigin(r); err != nil {
					return err
				}
				if !sameToken(r.PostForm.Get(csrfField), sess.csrf) {
					return errCSRF
				}
			}
			// The superuser is the actor of what the request changes in a
			// tenant (package provision reads it from the context).
			r = r.WithContext(audit.WithActor(r.Context(), audit.Superuser(sess.superuserID, sess.username)))
			return h(w, r, sess)
		}()
		if err != nil {
			s.uiError(w, r, sess, err)
		}
	})
}

// parseForm reads a form body of at most maxBody bytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errBodyTooLarge
		}
		return errDetail(http.StatusBadRequest, "The form could not be read.")
	}
	return nil
}

type errorPage struct {
	Status  int
	Heading string
	Message string
}

// uiError renders any error as an HTML error page with the status the JSON
// API would give it. Unexpected errors are logged, never shown.
func (s *Server) uiError(w http.ResponseWriter, r *http.Request, sess *adminSession, err error) {
	ae, unexpected := toAPIError(err)
	if unexpected {
		if r.Context().Err() != nil {
			return // the client went away
		}
		s.log.ErrorContext(r.Context(), "request failed", "status", ae.status, "err", err)
	}
	for k, vs := range ae.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	p := errorPage{Status: ae.status, Heading: http.StatusText(ae.status)}
	switch b := ae.body.(type) {
	case detail:
		p.Message = b.Detail
	case map[string][]string:
		for k, msgs := range b {
			p.Message = k + ": " + strings.Join(msgs, " ")
		}
	}
	switch ae.status {
	case http.StatusNotFound:
		p.Heading, p.Message = "Not found", "There is nothing here: the tenant, domain or user may have been deleted."
	case http.StatusForbidden:
		p.Heading = "Refused"
	case http.StatusInternalServerError:
		p.Heading, p.Message = "Server error", "Something went wrong on our side; it has been logged. Try again."
	}
	if rerr := s.render(w, ae.status, sess, "error", p.Heading, p); rerr != nil {
		s.log.ErrorContext(r.Context(), "render error page", "err", rerr)
		http.Error(w, p.Message, ae.status)
	}
}

// redirect answers a successful POST: the flash for the next page, then 303.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, sess *adminSession, to, flash string) error {
	if err := s.setFlash(r.Context(), sess, flash, false); err != nil {
		return err
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// form is a submitted form's values and its errors by field.
type form struct {
	Values map[string]string
	Errors map[string]string
}

// formOf returns the submitted values of fields (surrounding spaces
// trimmed, except in passwords).
func formOf(r *http.Request, fields ...string) form {
	f := form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range fields {
		v := r.PostForm.Get(k)
		if !strings.Contains(k, "password") {
			v = strings.TrimSpace(v)
		}
		f.Values[k] = v
	}
	return f
}

// fail records err in the form if it is a field error, and reports whether
// it was; any other error is for the caller to return.
func (f form) fail(err error) bool {
	var fe *provision.FieldError
	if errors.As(err, &fe) {
		f.Errors[fe.Field] = sentence(fe.Message)
		return true
	}
	return false
}

// sentence capitalises a message's first letter for display.
func sentence(msg string) string {
	r, n := utf8.DecodeRuneInString(msg)
	if n == 0 {
		return msg
	}
	return string(unicode.ToUpper(r)) + msg[n:]
}

func (f form) require(fields ...string) {
	for _, k := range fields {
		if f.Values[k] == "" {
			f.Errors[k] = "This field is required."
		}
	}
}

// safeNext returns where to go after signing in: a path of the admin, never
// another site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "/admin/login") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/tenants/"
	}
	return next
}

type loginPage struct {
	CSRF     string
	Next     string
	Username string
	Error    string
	Notice   string
}

// adminRoot sends /admin/ to the tenants list.
func (s *Server) adminRoot(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/admin/tenants/", http.StatusFound)
}

// adminLoginPage shows the sign-in form (or, to a signed-in superuser,
// goes on to where they were headed).
func (s *Server) adminLoginPage(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	next := safeNext(r.URL.Query().Get("next"))
	if sess != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	p := loginPage{CSRF: s.loginCSRF(w, r), Next: next}
	if r.URL.Query().Get("signed_out") != "" {
		p.Notice = "You are signed out."
	}
	return s.render(w, http.StatusOK, nil, "login", "Sign in", p)
}

// adminLogin signs a superuser in: POST /admin/login/. Attempts are
// throttled like API sign-ins (authenticateSuperuser).
func (s *Server) adminLogin(w http.ResponseWriter, r *http.Request, _ *adminSession) error {
	if err := checkOrigin(r); err != nil {
		return err
	}
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !sameToken(r.PostForm.Get(csrfField), c.Value) {
		return errCSRF
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	pw := r.PostForm.Get("password")
	p := loginPage{CSRF: c.Value, Next: safeNext(r.PostForm.Get("next")), Username: username}
	if username == "" || pw == "" {
		p.Error = "Enter your username and password."
		return s.render(w, http.StatusBadRequest, nil, "login", "Sign in", p)
	}
	su, err := s.authenticateSuperuser(r, username, pw)
	var ae *apiError
	switch {
	case errors.Is(err, errBadCredential):
		p.Error = "Please enter the correct username and password of an active superuser. Both are case-sensitive."
		return s.render(w, http.StatusBadRequest, nil, "login", "Sign in", p)
	case errors.As(err, &ae) && ae.status == http.StatusTooManyRequests:
		for k, vs := range ae.header {
			w.Header()[k] = vs
		}
		p.Error = "Too many failed sign-ins. Try again later."
		if d, ok := ae.body.(detail); ok {
			p.Error = "Too many failed sign-ins. " + strings.TrimPrefix(d.Detail, "Request was throttled. ")
		}
		return s.render(w, ae.status, nil, "login", "Sign in", p)
	case err != nil:
		return err
	}
	if err := s.startSession(w, r, su.ID, "Signed in as "+su.Username+"."); err != nil {
		return err
	}
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
	return nil
}

// adminLogout signs out: POST /admin/logout/.
func (s *Server) adminLogout(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	if err := s.endSession(r.Context(), w, sess); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/login/?signed_out=1", http.StatusSeeOther)
	return nil
}

// adminNotFound is the HTML 404 of every other path under /admin/.
func (s *Server) adminNotFound(_ http.ResponseWriter, _ *http.Request, _ *adminSession) error {
	return errNotFound
}

// adminStatic serves the embedded stylesheet (files only, no listings).
func (s *Server) adminStatic() http.Handler {
	sub, err := fs.Sub(adminFS, "admin/static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/admin/static/", http.FileServerFS(sub))
	notFound := s.uiOpen(s.adminNotFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			notFound.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// pager is the position of one page in a list.
type pager struct {
	Page, Pages int64
	First, Last int64 // 1-based positions of the page's first and last entries
	Total       int64
	Prev, Next  string // URLs, "" at either end
}

func newPager(r *http.Request, page, total int64, n int) pager {
	p := pager{Page: page, Total: total, Pages: max(1, (total+adminPageSize-1)/adminPageSize)}
	if n > 0 {
		p.First = (page-1)*adminPageSize + 1
		p.Last = p.First + int64(n) - 1
	}
	link := func(to int64) string {
		q := r.URL.Query()
		if to == 1 {
			q.Del("page")
		} else {
			q.Set("page", strconv.FormatInt(to, 10))
		}
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return u.String()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < p.Pages {
		p.Next = link(page + 1)
	}
	return p
}

// uiPage reads ?page=N; anything that is not a page number is page 1.
func uiPage(r *http.Request) int64 {
	n, err := strconv.ParseInt(r.URL.Query().Get("page"), 10, 64)
	if err != nil || n < 1 || n > math.MaxInt32 {
		return 1
	}
	return n
}

type tenantsPage struct {
	Search  string
	Tenants []provision.Tenant
	Pager   pager
	// Nodes are the tenants' Citus nodes by schema; nil (and no Node
	// column) on plain PostgreSQL.
	Nodes map[string]string
}

// adminTenants lists the tenants: GET /admin/tenants/?q=&page=.
func (s *Server) adminTenants(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	search := strings.TrimSpace(r.URL.Query().Get("q"))
	page := uiPage(r)
	p, err := s.prov.SearchTenants(r.Context(), provision.Query{Search: search, Offset: (page - 1) * adminPageSize, Limit: adminPageSize})
	if err != nil {
		return err
	}
	if len(p.Items) == 0 && page > 1 {
		// Past the end (a deletion shortened the list): the last page.
		q := r.URL.Query()
		q.Set("page", strconv.FormatInt(max(1, (p.Total+adminPageSize-1)/adminPageSize), 10))
		http.Redirect(w, r, r.URL.Path+"?"+q.Encode(), http.StatusSeeOther)
		return nil
	}
	nodes, err := s.tenantNodes(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, sess, "tenants", "Tenants", tenantsPage{
		Search: search, Tenants: p.Items, Pager: newPager(r, page, p.Total, len(p.Items)), Nodes: nodes,
	})
}

var tenantFields = []string{"schema_name", "name", "domain", "on_trial", "paid_until", "admin_username", "admin_email", "admin_password"}

type newTenantPage struct {
	Form form
}

// adminNewTenantUI shows the create form: GET /admin/new-tenant/.
func (s *Server) adminNewTenantUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	return s.render(w, http.StatusOK, sess, "tenant_new", "New tenant", newTenantPage{
		Form: form{Values: map[string]string{}, Errors: map[string]string{}},
	})
}

// adminCreateTenantUI creates a tenant from the form: POST /admin/new-tenant/.
// Invalid input shows the form again with every error found next to its
// field (a schema or domain already taken is found by the creation itself,
// which is all or nothing).
func (s *Server) adminCreateTenantUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	f := formOf(r, tenantFields...)
	p := provision.TenantParams{
		Schema: f.Values["schema_name"], Name: f.Values["name"], Domain: f.Values["domain"], OnTrial: f.Values["on_trial"] != "",
	}
	if v := f.Values["paid_until"]; v != "" {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			f.Errors["paid_until"] = "Enter a date as YYYY-MM-DD."
		}
		p.PaidUntil = &d
	}
	if f.Values["admin_username"] != "" || f.Values["admin_email"] != "" || f.Values["admin_password"] != "" {
		p.Admin = &provision.UserParams{
			Username: f.Values["admin_username"], Email: f.Values["admin_email"], Password: f.Values["admin_password"], Staff: true,
		}
	}
	for _, fe := range provision.ValidateTenant(p) {
		f.Errors[fe.Field] = sentence(fe.Message)
	}
	if len(f.Errors) == 0 {
		_, err := s.prov.CreateTenant(r.Context(), p)
		if err != nil && !f.fail(err) {
			return err
		}
	}
	if len(f.Errors) > 0 {
		f.Values["admin_password"] = "" // never echoed back into the page
		return s.render(w, http.StatusBadRequest, sess, "tenant_new", "New tenant", newTenantPage{Form: f})
	}
	msg := fmt.Sprintf("Created tenant %s (%s) at %s", p.Schema, p.Name, strings.ToLower(p.Domain))
	if p.Admin != nil {
		msg += " with admin user " + p.Admin.Username
	}
	return s.redirect(w, r, sess, tenantURL(p.Schema), msg+".")
}

func tenantURL(schema string) string { return "/admin/tenants/" + schema + "/" }

type tenantPage struct {
	Tenant     provision.Tenant
	Domains    []publicdb.Domain
	Users      []provision.User
	UsersReady bool // false while the tenant is provisioning
	Pager      pager
	DomainForm form
	UserForm   form
	// SettingsForm edits the tenant's name, plan and paid-until date.
	SettingsForm form
	// Invitations are the pending ones (admin_ui_invitations.go).
	Invitations []adminInvitation
	// PurgeAt is when the purge job deletes a softly deleted tenant for
	// good (DeletedAt + TENANT_RETENTION); nil for a live tenant.
	PurgeAt *time.Time
	// Cluster is the tenant's node and the move form, on Citus only
	// (admin_cluster.go).
	Cluster *tenantCluster
	// Audit is the tenant's recent actions, newest first (admin_ui_audit.go).
	Audit []adminAuditEntry
}

// tenantView loads the detail page of schema, with the given forms (and
// their errors) in it.
func (s *Server) tenantView(ctx context.Context, r *http.Request, schema string, domainForm, userForm form) (tenantPage, error) {
	t, err := s.prov.DescribeTenant(ctx, schema)
	if err != nil {
		return tenantPage{}, err
	}
	ds, err := s.prov.ListDomains(ctx, schema)
	if err != nil {
		return tenantPage{}, err
	}
	p := tenantPage{Tenant: t, Domains: ds, DomainForm: domainForm, UserForm: userForm, SettingsForm: tenantSettingsForm(t),
		PurgeAt: s.purgeAt(t)}
	if p.Cluster, err = s.tenantClusterView(ctx, schema); err != nil {
		return tenantPage{}, err
	}
	page := int64(1)
	if r.Method == http.MethodGet {
		page = uiPage(r)
	}
	users, err := s.prov.ListUsers(ctx, schema, provision.Query{Offset: (page - 1) * adminPageSize, Limit: adminPageSize})
	switch {
	case errors.Is(err, provision.ErrNotFound) && t.State != "ready":
	case err != nil:
		return tenantPage{}, err
	default:
		p.UsersReady, p.Users = true, users.Items
		p.Pager = newPager(r, page, users.Total, len(users.Items))
		if p.Invitations, err = s.tenantInvitations(ctx, schema); err != nil {
			return tenantPage{}, err
		}
		if p.Audit, err = s.tenantAudit(ctx, schema, audit.Filter{}, 0, recentAudit); err != nil {
			return tenantPage{}, err
		}
	}
	return p, nil
}

func emptyForm() form { return form{Values: map[string]string{}, Errors: map[string]string{}} }

// adminTenant shows a tenant with its domains and users: GET /admin/tenants/{schema}/.
func (s *Server) adminTenant(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	p, err := s.tenantView(r.Context(), r, schema, emptyForm(), emptyForm())
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, sess, "tenant", p.Tenant.Name, p)
}

// adminAddDomainUI maps a domain: POST /admin/tenants/{schema}/domains/.
func (s *Server) adminAddDomainUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	f := formOf(r, "domain", "is_primary")
	f.require("domain")
	if len(f.Errors) == 0 {
		d, err := s.prov.AddDomain(r.Context(), schema, f.Values["domain"], f.Values["is_primary"] != "")
		if err != nil && !f.fail(err) {
			return err
		}
		if err == nil {
			msg := "Added domain " + d.Domain
			if d.IsPrimary {
				msg += " as the primary domain"
			}
			return s.redirect(w, r, sess, tenantURL(schema), msg+".")
		}
	}
	p, err := s.tenantView(r.Context(), r, schema, f, emptyForm())
	if err != nil {
		return err
	}
	return s.render(w, http.StatusBadRequest, sess, "tenant", p.Tenant.Name, p)
}

// adminRemoveDomainUI unmaps a domain: POST /admin/tenants/{schema}/domains/{domain}/remove/
// (from the confirmation page). The tenant's only domain is not removed:
// the confirmation page says why, with status 400.
func (s *Server) adminRemoveDomainUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, domain, err := pathSchemaDomain(r)
	if err != nil {
		return err
	}
	err = s.prov.RemoveTenantDomain(r.Context(), schema, domain)
	if errors.Is(err, provision.ErrLastDomain) {
		p, verr := s.domainRemoveView(r)
		if verr != nil {
			return verr
		}
		p.Error = errLastDomain.body.(detail).Detail
		return s.render(w, http.StatusBadRequest, sess, "domain_remove", "Remove "+domain, p)
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, sess, tenantURL(schema), "Removed domain "+domain+".")
}

// adminPrimaryDomainUI makes a domain primary: POST /admin/tenants/{schema}/domains/{domain}/primary/.
func (s *Server) adminPrimaryDomainUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, domain, err := pathSchemaDomain(r)
	if err != nil {
		return err
	}
	if _, err := s.prov.SetPrimaryDomain(r.Context(), schema, domain); err != nil {
		return err
	}
	return s.redirect(w, r, sess, tenantURL(schema), domain+" is now the primary domain.")
}

// adminCreateUserUI creates a tenant user: POST /admin/tenants/{schema}/users/.
func (s *Server) adminCreateUserUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	f := formOf(r, "username", "email", "password", "role")
	f.require("username", "password")
	if len(f.Errors) == 0 {
		role := cmp.Or(f.Values["role"], provision.RoleMember)
		u, err := s.prov.CreateUser(r.Context(), schema, provision.UserParams{
			Username: f.Values["username"], Email: f.Values["email"], Password: f.Values["password"],
			Role: role, Staff: role != provision.RoleMember,
		})
		if err != nil && !f.fail(err) {
			return err
		}
		if err == nil {
			return s.redirect(w, r, sess, tenantURL(schema), "Created user "+u.Username+".")
		}
	}
	f.Values["password"] = ""
	p, err := s.tenantView(r.Context(), r, schema, emptyForm(), f)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusBadRequest, sess, "tenant", p.Tenant.Name, p)
}

// adminUserActiveUI deactivates or reactivates a tenant user:
// POST /admin/tenants/{schema}/users/{id}/active/ with active=true|false.
func (s *Server) adminUserActiveUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, id, err := pathSchemaUser(r)
	if err != nil {
		return err
	}
	var active bool
	switch r.PostForm.Get("active") {
	case "true":
		active = true
	case "false":
	default:
		return errDetail(http.StatusBadRequest, `The form must say active=true or active=false.`)
	}
	u, err := s.prov.SetUserActive(r.Context(), schema, id, active)
	if err != nil {
		return err
	}
	msg := "Deactivated " + u.Username + ": they can no longer sign in, and their sign-ins were ended."
	if active {
		msg = "Activated " + u.Username + ": they can sign in again."
	}
	return s.redirect(w, r, sess, tenantURL(schema), msg)
}

type passwordPage struct {
	Tenant provision.Tenant
	User   provision.User
	Form   form
}

// adminPasswordUI shows (GET) and handles (POST) the reset-password form of
// a tenant user: /admin/tenants/{schema}/users/{id}/password/.
func (s *Server) adminPasswordUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, id, err := pathSchemaUser(r)
	if err != nil {
		return err
	}
	t, err := s.prov.DescribeTenant(r.Context(), schema)
	if err != nil {
		return err
	}
	u, err := s.prov.GetUser(r.Context(), schema, id)
	if err != nil {
		return err
	}
	f, status := emptyForm(), http.StatusOK
	if r.Method == http.MethodPost {
		f = formOf(r, "password")
		f.require("password")
		if len(f.Errors) == 0 {
			_, err := s.prov.SetUserPassword(r.Context(), schema, id, f.Values["password"])
			if err != nil && !f.fail(err) {
				return err
			}
			if err == nil {
				return s.redirect(w, r, sess, tenantURL(schema),
					"Set a new password for "+u.Username+"; their other sign-ins were ended.")
			}
		}
		f.Values["password"], status = "", http.StatusBadRequest
	}
	return s.render(w, status, sess, "user_password", "Reset password", passwordPage{Tenant: t, User: u, Form: f})
}

type deletePage struct {
	Tenant provision.Tenant
	Users  int64
	Form   form
	// Retention is how long a soft deletion can be undone (TENANT_RETENTION).
	Retention string
	PurgeAt   *time.Time
}

// adminDeleteUI shows (GET) and handles (POST) the deletion of a tenant:
// /admin/tenants/{schema}/delete/. The page offers first the deletion that
// can be undone (mode=soft: the tenant is unrouted, its data kept for
// TENANT_RETENTION), then the permanent one, which deletes only when the
// schema name was typed exactly.
func (s *Server) adminDeleteUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	t, err := s.prov.DescribeTenant(r.Context(), schema)
	if err != nil {
		return err
	}
	f, status := emptyForm(), http.StatusOK
	if r.Method == http.MethodPost {
		f = formOf(r, "confirm", "mode")
		switch {
		case f.Values["mode"] == "soft":
			d, err := s.prov.SoftDeleteTenant(r.Context(), schema)
			if err == nil {
				return s.redirect(w, r, sess, tenantURL(schema),
					fmt.Sprintf("Deleted tenant %s (%s): its domains no longer answer and its sign-ins were ended. It can be restored until %s.",
						schema, t.Name, s.purgeAt(d).UTC().Format("2006-01-02 15:04 UTC")))
			}
			if !errors.Is(err, provision.ErrTenantDeleted) {
				return err
			}
			f.Errors["mode"] = "This tenant is already deleted: restore it, or delete it permanently below."
		case f.Values["confirm"] == schema:
			err := s.prov.DeleteTenant(r.Context(), schema)
			if err == nil {
				return s.redirect(w, r, sess, "/admin/tenants/",
					fmt.Sprintf("Deleted tenant %s (%s) with all its data.", schema, t.Name))
			}
			var se *provision.SchemaInUseError
			if !errors.As(err, &se) {
				return err
			}
			f.Errors["confirm"] = se.Error() + " Nothing was deleted."
		default:
			f.Errors["confirm"] = fmt.Sprintf("Type %s exactly to confirm; nothing was deleted.", schema)
		}
		status = http.StatusBadRequest
	}
	p := deletePage{Tenant: t, Form: f, Retention: retentionText(s.cfg.TenantRetention), PurgeAt: s.purgeAt(t)}
	if users, err := s.prov.ListUsers(r.Context(), schema, provision.Query{Limit: 1}); err == nil {
		p.Users = users.Total
	}
	return s.render(w, status, sess, "tenant_delete", "Delete "+t.Name, p)
}
