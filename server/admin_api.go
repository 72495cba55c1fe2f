package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/telemetry"
	"github.com/tenantctl/tenantctl/token"
)

// The JSON admin API, under /api/admin/ on the public host only: superusers
// obtain an admin token from POST /api/admin/token/ and manage tenants, their
// domains and their users through the provisioning service, the same code
// (validation, all-or-nothing creation) as tenantctl.

// adminPageSize is the number of tenants or users in one page of a list.
const adminPageSize = 20

var (
	// errNotAdmin is DRF's answer to an authenticated user without the
	// permission: here, a tenant user's token on the admin API.
	errNotAdmin = errDetail(http.StatusForbidden, "You do not have permission to perform this action.")
	// errAdminUnavailable answers when the provisioning service could not be built.
	errAdminUnavailable = errDetail(http.StatusServiceUnavailable, "The admin is unavailable: the server cannot provision tenants (see its log).")
)

type adminTokenJSON struct {
	Access string `json:"access"`
}

type adminTenantJSON struct {
	ID            int64      `json:"id"`
	SchemaName    string     `json:"schema_name"`
	Name          string     `json:"name"`
	State         string     `json:"state"`
	OnTrial       bool       `json:"on_trial"`
	PaidUntil     *string    `json:"paid_until"`
	CreatedAt     time.Time  `json:"created_at"`
	PrimaryDomain *string    `json:"primary_domain"`
	Domains       []string   `json:"domains"`
	DeletedAt     *time.Time `json:"deleted_at"`
	// Node is the Citus node ("host:port") the tenant's schema lives on;
	// absent on plain PostgreSQL and for a tenant on no node yet.
	Node *string `json:"node,omitempty"`
}

func newAdminTenantJSON(t provision.Tenant) adminTenantJSON {
	out := adminTenantJSON{
		ID: t.ID, SchemaName: t.Schema, Name: t.Name, State: t.State, OnTrial: t.OnTrial,
		CreatedAt: t.CreatedAt.UTC(), Domains: t.Domains,
	}
	if out.Domains == nil {
		out.Domains = []string{}
	}
	if t.PaidUntil != nil {
		d := t.PaidUntil.Format(time.DateOnly)
		out.PaidUntil = &d
	}
	if t.PrimaryDomain != "" {
		out.PrimaryDomain = &t.PrimaryDomain
	}
	if t.DeletedAt != nil {
		d := t.DeletedAt.UTC()
		out.DeletedAt = &d
	}
	return out
}

type adminDomainJSON struct {
	Domain    string    `json:"domain"`
	IsPrimary bool      `json:"is_primary"`
	CreatedAt time.Time `json:"created_at"`
}

func newAdminDomainJSON(d publicdb.Domain) adminDomainJSON {
	return adminDomainJSON{Domain: d.Domain, IsPrimary: d.IsPrimary, CreatedAt: d.CreatedAt.UTC()}
}

// adminUserJSON is a tenant's user as the admin API shows it: as the
// tenant API does.
type adminUserJSON = userJSON

func newAdminUserJSON(u provision.User) adminUserJSON {
	out := adminUserJSON{ID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff, IsActive: u.IsActive,
		DateJoined: u.DateJoined.UTC(), Role: u.Role, EmailVerified: u.EmailVerified}
	if u.LastLogin != nil {
		t := u.LastLogin.UTC()
		out.LastLogin = &t
	}
	return out
}

// adminHandle adapts an admin API handler; every admin handler needs the
// provisioning service.
func (s *Server) adminHandle(h handlerFunc) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		if s.prov == nil {
			return errAdminUnavailable
		}
		return h(w, r)
	})
}

// adminAuthed wraps an admin API handler that needs a superuser's admin token.
func (s *Server) adminAuthed(h handlerFunc) http.Handler {
	return s.adminHandle(func(w http.ResponseWriter, r *http.Request) error {
		su, err := s.adminBearer(r)
		if err != nil {
			return err
		}
		// The superuser is the actor of what the request changes in a
		// tenant (package provision reads it from the context).
		return h(w, r.WithContext(audit.WithActor(r.Context(), audit.Superuser(su.ID, su.Username))))
	})
}

// adminBearer checks the request's admin token and that its superuser still
// exists and is active. A valid tenant user's access token is authenticated
// but not allowed (403); anything else that is not an admin token is 401.
func (s *Server) adminBearer(r *http.Request) (publicdb.Superuser, error) {
	h := r.Header.Get("Authorization")
	scheme, raw, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") {
		return publicdb.Superuser{}, errNotProvided
	}
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.ContainsAny(raw, " \t") {
		return publicdb.Superuser{}, errToken("Authorization header must contain two space-delimited values")
	}
	c, err := s.tokens.Parse(raw, token.Admin)
	if err != nil {
		if _, aerr := s.tokens.Parse(raw, token.Access); aerr == nil {
			return publicdb.Superuser{}, errNotAdmin
		}
		return publicdb.Superuser{}, errToken("Given token not valid for any token type")
	}
	su, err := s.prov.ActiveSuperuser(r.Context(), c.UserID)
	if errors.Is(err, provision.ErrNotFound) {
		return su, errToken("User not found or inactive")
	}
	if err != nil {
		return su, err
	}
	requestInfoFrom(r.Context()).UserID = su.ID
	return su, nil
}

// adminObtainToken signs a superuser in: POST /api/admin/token/
// {username, password} -> {access}. The token works on the admin API only.
func (s *Server) adminObtainToken(w http.ResponseWriter, r *http.Request) error {
	username, pw, err := decodeCredentials(r)
	if err != nil {
		return err
	}
	su, err := s.authenticateSuperuser(r, username, pw)
	if err != nil {
		return err
	}
	requestInfoFrom(r.Context()).UserID = su.ID
	access, err := s.tokens.IssueAdmin(su.ID, su.Username)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminTokenJSON{Access: access})
	return nil
}

// authenticateSuperuser checks a superuser's username and password for the
// admin API and web UI, throttled like tenant sign-ins: the attempt is
// counted before the password is hashed, in the statement that looks the
// superuser up, and given back on success in the one that records the
// login. It returns an errThrottled 429, errBadCredential for
// an unknown or inactive superuser or a wrong password, or the database's
// error.
func (s *Server) authenticateSuperuser(r *http.Request, username, pw string) (publicdb.StartSuperuserSignInRow, error) {
	ctx := r.Context()
	attempt := adminSignIn(r, username)
	su, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.StartSuperuserSignInRow, error) {
		return q.StartSuperuserSignIn(ctx, publicdb.StartSuperuserSignInParams{
			Keys: attempt.keys, Limits: attempt.limits, WindowSecs: windowSecs, Username: username,
		})
	})
	if err != nil {
		return su, err
	}
	if su.WaitSeconds > 0 {
		s.metrics.SignInThrottled(telemetry.SurfaceAdmin)
		return su, errThrottled(su.WaitSeconds)
	}
	// Verify outside the transaction: it is slow and must not hold a connection.
	ok, err := s.hasher.Verify(ctx, pw, su.PasswordHash)
	if err != nil {
		return su, err
	}
	if !ok || !su.IsActive {
		s.metrics.SignInFailed(telemetry.SurfaceAdmin)
		return su, errBadCredential
	}
	err = db.InPublic(ctx, s.pool, func(q *publicdb.Queries) error {
		return q.RecordSuperuserSignIn(ctx, publicdb.RecordSuperuserSignInParams{ID: su.ID, Keys: attempt.keys})
	})
	return su, err
}

// pathSchema returns the {schema} of the request's path; a name that cannot
// be a tenant's is as not found as an unknown one.
func pathSchema(r *http.Request) (string, error) {
	v := mux.Vars(r)["schema"]
	if _, err := db.ParseSchema(v); err != nil {
		return "", errNotFound
	}
	return v, nil
}

// pathUserID returns the {id} of the request's path.
func pathUserID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil || id < 1 {
		return 0, errNotFound
	}
	return id, nil
}

// pathDomain returns the {domain} of the request's path.
func pathDomain(r *http.Request) (string, error) {
	d, err := provision.ParseDomain(mux.Vars(r)["domain"])
	if err != nil {
		return "", errNotFound
	}
	return d, nil
}

// pathSchemaDomain returns the {schema} and {domain} of the request's path.
func pathSchemaDomain(r *http.Request) (schema, domain string, err error) {
	if schema, err = pathSchema(r); err != nil {
		return "", "", err
	}
	domain, err = pathDomain(r)
	return schema, domain, err
}

// pathSchemaUser returns the {schema} and user {id} of the request's path.
func pathSchemaUser(r *http.Request) (schema string, id int64, err error) {
	if schema, err = pathSchema(r); err != nil {
		return "", 0, err
	}
	id, err = pathUserID(r)
	return schema, id, err
}

// tenantOrderings are the fields ?ordering= sorts the tenant list by.
var tenantOrderings = []string{"id", "schema_name", "name", "created_at", "paid_until"}

// adminListTenants answers GET /api/admin/tenants/ with DRF's list
// parameters (see parseList): ?search= in the name, schema name and
// domains; by schema name unless ?ordering= says otherwise.
func (s *Server) adminListTenants(w http.ResponseWriter, r *http.Request) error {
	lq, err := parseList(r, adminPageSize, tenantOrderings)
	if err != nil {
		return err
	}
	ctx := r.Context()
	out, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (page[adminTenantJSON], error) {
		return pageOf(r, lq, func(lim int32, off int64) ([]adminTenantJSON, int64, error) {
			tenants, total, err := provision.TenantPage(ctx, q, lq.patterns, lq.order, lim, off)
			results := make([]adminTenantJSON, len(tenants))
			for i, t := range tenants {
				results[i] = newAdminTenantJSON(t)
			}
			return results, total, err
		})
	})
	if err != nil {
		return err
	}
	nodes, err := s.tenantNodes(ctx)
	if err != nil {
		return err
	}
	for i, t := range out.Results {
		if n, ok := nodes[t.SchemaName]; ok {
			out.Results[i].Node = &n
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// optionalString reads an optional string field: absent or null is "".
// trim removes surrounding whitespace (not for passwords).
func optionalString(fe fieldErrors, m map[string]json.RawMessage, key string, trim bool) string {
	f := field(m, key)
	switch {
	case !f.present || f.null:
		return ""
	case f.invalid:
		fe.add(key, "Not a valid string.")
	case strings.ContainsRune(f.value, 0):
		fe.add(key, "Null characters are not allowed.")
	case trim:
		return strings.TrimSpace(f.value)
	default:
		return f.value
	}
	return ""
}

// optionalBool reads an optional boolean field the way DRF's BooleanField
// does: true and false, the strings of its TRUE_VALUES and FALSE_VALUES
// ("true", "yes", "on", "1", "t", "y" and their capitalised spellings, and
// the same for false), and the numbers 1 and 0. Anything else, "" included,
// is "Must be a valid boolean."; null is "This field may not be null." (the
// booleans here are not nullable). Absent is def.
func optionalBool(fe fieldErrors, m map[string]json.RawMessage, key string, def bool) (v, present bool) {
	raw, ok := m[key]
	if !ok {
		return def, false
	}
	b, err := parseBool(raw)
	if err != nil {
		fe.add(key, err.Error())
		return def, false
	}
	return b, true
}

// errNotBool and errNullBool are DRF's messages for a BooleanField.
var (
	errNotBool  = errors.New("Must be a valid boolean.")
	errNullBool = errors.New("This field may not be null.")
)

// drfBools are the strings DRF's BooleanField accepts (TRUE_VALUES and
// FALSE_VALUES).
var drfBools = map[string]bool{
	"t": true, "T": true, "y": true, "Y": true, "yes": true, "Yes": true, "YES": true,
	"true": true, "True": true, "TRUE": true, "on": true, "On": true, "ON": true, "1": true,
	"f": false, "F": false, "n": false, "N": false, "no": false, "No": false, "NO": false,
	"false": false, "False": false, "FALSE": false, "off": false, "Off": false, "OFF": false, "0": false,
}

// parseBool reads one JSON value as DRF's BooleanField would.
func parseBool(raw json.RawMessage) (bool, error) {
	var x any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return false, errNotBool
	}
	switch v := x.(type) {
	case nil:
		return false, errNullBool
	case bool:
		return v, nil
	case string:
		if b, ok := drfBools[v]; ok {
			return b, nil
		}
	case json.Number:
		// Python compares 1.0 == 1 and 0.0 == 0 (and DRF lists 0.0).
		switch f, err := v.Float64(); {
		case err != nil:
		case f == 1:
			return true, nil
		case f == 0:
			return false, nil
		}
	}
	return false, errNotBool
}

// optionalDate reads an optional YYYY-MM-DD field; absent, null or "" is nil.
func optionalDate(fe fieldErrors, m map[string]json.RawMessage, key string) *time.Time {
	f := field(m, key)
	if !f.present || f.null || (!f.invalid && strings.TrimSpace(f.value) == "") {
		return nil
	}
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(f.value))
	if f.invalid || err != nil {
		fe.add(key, "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.")
		return nil
	}
	return &d
}

// adminCreateTenant answers POST /api/admin/tenants/: the fields of
// `tenantctl tenant create`, all or nothing.
func (s *Server) adminCreateTenant(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeObject(r, false)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	p := provision.TenantParams{}
	p.Schema, _ = requiredString(fe, body, "schema_name", 0)
	p.Name, _ = requiredString(fe, body, "name", 0)
	p.Domain, _ = requiredString(fe, body, "domain", 0)
	p.OnTrial, _ = optionalBool(fe, body, "on_trial", false)
	p.PaidUntil = optionalDate(fe, body, "paid_until")
	admin := provision.UserParams{
		Username: optionalString(fe, body, "admin_username", true),
		Email:    optionalString(fe, body, "admin_email", true),
		Password: optionalString(fe, body, "admin_password", false),
		Staff:    true, // as tenantctl tenant create makes it
	}
	if admin.Username != "" || admin.Email != "" || admin.Password != "" {
		p.Admin = &admin
	}
	// Report every invalid field at once, as DRF does; the creation itself
	// validates again and finds what is already taken.
	for _, e := range provision.ValidateTenant(p) {
		if _, ok := fe[e.Field]; !ok {
			fe.add(e.Field, e.Message)
		}
	}
	if err := fe.err(); err != nil {
		return err
	}
	if _, err := s.prov.CreateTenant(r.Context(), p); err != nil {
		return err
	}
	t, err := s.prov.DescribeTenant(r.Context(), p.Schema)
	if err != nil {
		return err
	}
	return s.writeTenant(w, r, http.StatusCreated, t)
}

// adminGetTenant answers GET /api/admin/tenants/{schema}/.
func (s *Server) adminGetTenant(w http.ResponseWriter, r *http.Request) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	t, err := s.prov.DescribeTenant(r.Context(), schema)
	if err != nil {
		return err
	}
	return s.writeTenant(w, r, http.StatusOK, t)
}

// adminUpdateTenant answers PATCH /api/admin/tenants/{schema}/ {"name",
// "on_trial", "paid_until"}, each optional (a partial update): a null
// paid_until clears it. The schema and domains do not change here.
func (s *Server) adminUpdateTenant(w http.ResponseWriter, r *http.Request) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	body, err := decodeObject(r, false)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	ch := provision.TenantChanges{}
	if field(body, "name").present {
		if name, ok := requiredString(fe, body, "name", 100); ok {
			ch.Name = &name
		}
	}
	ch.OnTrial = patchBool(fe, body, "on_trial")
	if field(body, "paid_until").present {
		ch.PaidUntil = optionalDate(fe, body, "paid_until")
		ch.ClearPaidUntil = ch.PaidUntil == nil
	}
	if err := fe.err(); err != nil {
		return err
	}
	if _, err := s.prov.UpdateTenant(r.Context(), schema, ch); err != nil {
		return err
	}
	t, err := s.prov.DescribeTenant(r.Context(), schema)
	if err != nil {
		return err
	}
	return s.writeTenant(w, r, http.StatusOK, t)
}

// adminDeleteTenant answers DELETE /api/admin/tenants/{schema}/: the schema
// is dropped with all its data; with ?soft=true the tenant is only
// unrouted, its data kept until TENANT_RETENTION ends (restorable).
func (s *Server) adminDeleteTenant(w http.ResponseWriter, r *http.Request) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	soft := false
	if v, ok := r.URL.Query()["soft"]; ok {
		if soft, err = strconv.ParseBool(v[len(v)-1]); err != nil || len(v) > 1 {
			return fieldErrors{"soft": {"Must be a valid boolean."}}.err()
		}
	}
	if soft {
		_, err = s.prov.SoftDeleteTenant(r.Context(), schema)
	} else {
		err = s.prov.DeleteTenant(r.Context(), schema)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminRestoreTenant answers POST /api/admin/tenants/{schema}/restore/: a
// softly deleted tenant is routable again, with its data.
func (s *Server) adminRestoreTenant(w http.ResponseWriter, r *http.Request) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	t, err := s.prov.RestoreTenant(r.Context(), schema)
	if err != nil {
		return err
	}
	return s.writeTenant(w, r, http.StatusOK, t)
}

// domainOrderings are the fields ?ordering= sorts a tenant's domains by.
var domainOrderings = []string{"domain", "created_at", "is_primary"}

// adminListDomains answers GET /api/admin/tenants/{schema}/domains/ with
// every domain of the tenant, primary first (a plain list: a tenant has
// few), filtered by ?search= and sorted by ?ordering= as the other lists.
func (s *Server) adminListDomains(w http.ResponseWriter, r *http.Request) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	lq, err := parseList(r, adminPageSize, domainOrderings)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ds, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) ([]publicdb.Domain, error) {
		c, err := q.GetClientBySchema(ctx, schema)
		if err != nil {
			return nil, err // pgx.ErrNoRows is a 404
		}
		return q.SearchClientDomains(ctx, publicdb.SearchClientDomainsParams{
			ClientID: c.ID, Patterns: lq.patterns, O1: lq.order[0], O2: lq.order[1], O3: lq.order[2],
		})
	})
	if err != nil {
		return err
	}
	out := make([]adminDomainJSON, len(ds))
	for i, d := range ds {
		out[i] = newAdminDomainJSON(d)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// adminAddDomain answers POST /api/admin/tenants/{schema}/domains/
// {domain, is_primary}.
func (s *Server) adminAddDomain(w http.ResponseWriter, r *http.Request) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	body, err := decodeObject(r, false)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	domain, _ := requiredString(fe, body, "domain", 0)
	primary, _ := optionalBool(fe, body, "is_primary", false)
	if err := fe.err(); err != nil {
		return err
	}
	d, err := s.prov.AddDomain(r.Context(), schema, domain, primary)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newAdminDomainJSON(d))
	return nil
}

// adminUpdateDomain answers PATCH /api/admin/tenants/{schema}/domains/{domain}/
// {"is_primary": true}: the domain becomes the tenant's primary one.
func (s *Server) adminUpdateDomain(w http.ResponseWriter, r *http.Request) error {
	schema, domain, err := pathSchemaDomain(r)
	if err != nil {
		return err
	}
	body, err := decodeObject(r, false)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	primary, present := optionalBool(fe, body, "is_primary", false)
	switch {
	case len(fe) > 0:
	case !present:
		fe.add("is_primary", "This field is required.")
	case !primary:
		fe.add("is_primary", "A tenant always has one primary domain: make another domain primary instead.")
	}
	if err := fe.err(); err != nil {
		return err
	}
	d, err := s.prov.SetPrimaryDomain(r.Context(), schema, domain)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newAdminDomainJSON(d))
	return nil
}

// adminRemoveDomain answers DELETE /api/admin/tenants/{schema}/domains/{domain}/.
// A tenant's only domain is not removed (400): delete the tenant instead.
func (s *Server) adminRemoveDomain(w http.ResponseWriter, r *http.Request) error {
	schema, domain, err := pathSchemaDomain(r)
	if err != nil {
		return err
	}
	if err := s.prov.RemoveTenantDomain(r.Context(), schema, domain); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userOrderings are the fields ?ordering= sorts a tenant's users by.
var userOrderings = []string{"id", "username", "email", "date_joined", "last_login"}

// adminListUsers answers GET /api/admin/tenants/{schema}/users/ with DRF's
// list parameters (see parseList): ?search= in the username and email; by
// username unless ?ordering= says otherwise. A tenant that is not ready is
// not found.
func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	schemaName, err := pathSchema(r)
	if err != nil {
		return err
	}
	lq, err := parseList(r, adminPageSize, userOrderings)
	if err != nil {
		return err
	}
	ctx := r.Context()
	schema, err := db.ParseSchema(schemaName)
	if err != nil {
		return errNotFound
	}
	// A ready tenant, pinned: its users are read only if it still is.
	if schema, err = db.Pinned(ctx, s.pool, schema); err != nil {
		return err
	}
	out, err := db.ReadTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (page[adminUserJSON], error) {
		return pageOf(r, lq, func(lim int32, off int64) ([]adminUserJSON, int64, error) {
			rows, err := q.SearchUsersOrdered(ctx, tenantdb.SearchUsersOrderedParams{
				Patterns: lq.patterns, O1: lq.order[0], O2: lq.order[1], O3: lq.order[2], Lim: lim, Off: off,
			})
			var total int64
			results := make([]adminUserJSON, len(rows))
			for i, u := range rows {
				results[i] = newAdminUserJSON(provision.User{ID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff,
					IsActive: u.IsActive, DateJoined: u.DateJoined, LastLogin: u.LastLogin, Role: u.Role, EmailVerified: u.EmailVerified})
				total = u.Total
			}
			return results, total, err
		})
	})
	if err != nil {
		return err // ErrTenantGone (404) if it was deleted since
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// adminCreateUser answers POST /api/admin/tenants/{schema}/users/
// {username, email, password, is_staff, role}: role is admin for a staff
// user and member otherwise unless given; is_staff follows role unless
// given.
func (s *Server) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	schema, err := pathSchema(r)
	if err != nil {
		return err
	}
	body, err := decodeObject(r, false)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	u := provision.UserParams{}
	u.Username, _ = requiredString(fe, body, "username", 0)
	u.Email = optionalString(fe, body, "email", true)
	if f := field(body, "password"); !f.present {
		fe.add("password", "This field is required.")
	} else {
		u.Password = optionalString(fe, body, "password", false)
	}
	u.Staff, _ = optionalBool(fe, body, "is_staff", false)
	if role := roleField(fe, body); role != nil {
		u.Role = *role
		if !field(body, "is_staff").present {
			u.Staff = u.Role != provision.RoleMember
		}
	}
	if err := fe.err(); err != nil {
		return err
	}
	created, err := s.prov.CreateUser(r.Context(), schema, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newAdminUserJSON(provision.UserOf(created)))
	return nil
}

// adminGetUser answers GET /api/admin/tenants/{schema}/users/{id}/.
func (s *Server) adminGetUser(w http.ResponseWriter, r *http.Request) error {
	schema, id, err := pathSchemaUser(r)
	if err != nil {
		return err
	}
	u, err := s.prov.GetUser(r.Context(), schema, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newAdminUserJSON(u))
	return nil
}

// adminUpdateUser answers PATCH /api/admin/tenants/{schema}/users/{id}/
// {"email", "is_staff", "is_active", "role"}, each optional (a partial update, as
// DRF's PATCH): deactivating also ends the user's sign-ins. Other fields
// are ignored, as DRF ignores read-only and unknown ones.
func (s *Server) adminUpdateUser(w http.ResponseWriter, r *http.Request) error {
	schema, id, err := pathSchemaUser(r)
	if err != nil {
		return err
	}
	body, err := decodeObject(r, false)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	ch := provision.UserChanges{
		Email:  optionalText(fe, body, "email"),
		Staff:  patchBool(fe, body, "is_staff"),
		Active: patchBool(fe, body, "is_active"),
		Role:   roleField(fe, body),
	}
	if err := fe.err(); err != nil {
		return err
	}
	out, err := s.prov.UpdateUserByID(r.Context(), schema, id, ch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newAdminUserJSON(out))
	return nil
}

// patchBool reads an optional boolean field of a partial update: nil when
// absent (or invalid, with the error in fe).
func patchBool(fe fieldErrors, m map[string]json.RawMessage, key string) *bool {
	v, present := optionalBool(fe, m, key, false)
	if !present {
		return nil
	}
	return &v
}

// optionalText reads an optional, not nullable string field of a partial
// update that may be blank (DRF's CharField(allow_blank=True)), trimmed:
// nil when absent (or invalid, with the error in fe).
func optionalText(fe fieldErrors, m map[string]json.RawMessage, key string) *string {
	f := field(m, key)
	switch {
	case !f.present:
	case f.null:
		fe.add(key, "This field may not be null.")
	case f.invalid:
		fe.add(key, "Not a valid string.")
	case strings.ContainsRune(f.value, 0):
		fe.add(key, "Null characters are not allowed.")
	default:
		v := strings.TrimSpace(f.value)
		return &v
	}
	return nil
}

// adminSetPassword answers POST /api/admin/tenants/{schema}/users/{id}/set_password/
// {"password"}: the new password, and every refresh token of the user revoked.
func (s *Server) adminSetPassword(w http.ResponseWriter, r *http.Request) error {
	schema, id, err := pathSchemaUser(r)
	if err != nil {
		return err
	}
	body, err := decodeObject(r, false)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	pw := ""
	if f := field(body, "password"); !f.present {
		fe.add("password", "This field is required.")
	} else {
		pw = optionalString(fe, body, "password", false)
	}
	if err := fe.err(); err != nil {
		return err
	}
	u, err := s.prov.SetUserPassword(r.Context(), schema, id, pw)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newAdminUserJSON(u))
	return nil
}

// adminDeleteUser answers DELETE /api/admin/tenants/{schema}/users/{id}/:
// the user's items stay (without an author) and their sign-ins end.
func (s *Server) adminDeleteUser(w http.ResponseWriter, r *http.Request) error {
	schema, id, err := pathSchemaUser(r)
	if err != nil {
		return err
	}
	if _, err := s.prov.DeleteUserByID(r.Context(), schema, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Refusals: operations that would leave the product unusable.
var (
	errLastDomain = errDetail(http.StatusBadRequest,
		"A tenant keeps at least one domain: add another domain before removing this one, or delete the tenant.")
	errLastSuperuser = errDetail(http.StatusBadRequest,
		"This is the last active superuser: nobody could sign in to the admin without it. Create another superuser first.")
	errDeleteSelf = errDetail(http.StatusBadRequest,
		"You cannot delete your own account: another superuser can.")
)

type adminSuperuserJSON struct {
	ID         int64      `json:"id"`
	Username   string     `json:"username"`
	Email      string     `json:"email"`
	IsActive   bool       `json:"is_active"`
	DateJoined time.Time  `json:"date_joined"`
	LastLogin  *time.Time `json:"last_login"`
}

func newAdminSuperuserJSON(su provision.Superuser) adminSuperuserJSON {
	out := adminSuperuserJSON{ID: su.ID, Username: su.Username, Email: su.Email, IsActive: su.IsActive,
		DateJoined: su.DateJoined.UTC()}
	if su.LastLogin != nil {
		t := su.LastLogin.UTC()
		out.LastLogin = &t
	}
	return out
}

// adminListSuperusers answers GET /api/admin/superusers/?page=&page_size=,
// by username.
func (s *Server) adminListSuperusers(w http.ResponseWriter, r *http.Request) error {
	lq, err := parseList(r, adminPageSize, nil)
	if err != nil {
		return err
	}
	out, err := pageOf(r, lq, func(lim int32, off int64) ([]adminSuperuserJSON, int64, error) {
		p, err := s.prov.SearchSuperusers(r.Context(), provision.Query{Offset: off, Limit: int(lim)})
		results := make([]adminSuperuserJSON, len(p.Items))
		for i, su := range p.Items {
			results[i] = newAdminSuperuserJSON(su)
		}
		return results, p.Total, err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// adminDeleteSuperuser answers DELETE /api/admin/superusers/{id}/. It
// refuses to delete the caller or the last active superuser (400). The
// deleted superuser's admin sessions end, and their admin tokens stop
// working (adminBearer finds nobody).
func (s *Server) adminDeleteSuperuser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	if id == requestInfoFrom(r.Context()).UserID { // set by adminBearer
		return errDeleteSelf
	}
	if _, err := s.prov.DeleteSuperuserByID(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminSetSuperuserPassword answers POST /api/admin/superusers/{id}/set_password/
// {"password"}: the new password, and the superuser's admin sessions ended.
func (s *Server) adminSetSuperuserPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	pw, err := decodePassword(r)
	if err != nil {
		return err
	}
	su, err := s.prov.SetSuperuserPasswordByID(r.Context(), id, pw)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newAdminSuperuserJSON(su))
	return nil
}

// decodePassword reads the {"password"} body of a set_password request.
func decodePassword(r *http.Request) (string, error) {
	body, err := decodeObject(r, false)
	if err != nil {
		return "", err
	}
	fe := fieldErrors{}
	pw := ""
	if f := field(body, "password"); !f.present {
		fe.add("password", "This field is required.")
	} else {
		pw = optionalString(fe, body, "password", false)
	}
	return pw, fe.err()
}
