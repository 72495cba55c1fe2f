package server

// Self-service signup (issue #12): POST /api/signup/ on the public host
// creates a tenant on <subdomain>.<TENANT_BASE_DOMAIN> with the caller as its
// owner, through the same all-or-nothing provisioning as `tenantctl tenant
// create`, sends the owner's verification email in the transaction that
// creates the owner, and signs the owner in on the new tenant.

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/provision"
)

// Signups are throttled per client address in the sign-in throttle's table
// (throttle.go), under keys of their own, each counted in its own window.
const (
	maxSignupsPerAddr = 10 // per client address and signupWindow
	signupWindow      = time.Hour
)

// subdomainPattern is what a subdomain may be: it is the tenant's schema
// name (lower-case letters, digits, underscores, not starting with a digit)
// and a DNS label of its host (letters, digits, hyphens), so only what both
// allow: a lower-case letter, then lower-case letters and digits, at most
// 63 in all.
var subdomainPattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,62}$`)

const (
	msgSubdomainInvalid  = "Enter a valid subdomain: 1-63 lower-case letters and digits, starting with a letter (it names both the tenant's host and its database schema, so no hyphens, underscores or dots)."
	msgSubdomainReserved = "This subdomain is reserved."
	msgSubdomainTaken    = "This subdomain is already taken."
)

var errSignupDisabled = errDetail(http.StatusForbidden, "Signup is disabled on this server.")

// signupJSON is the 201 answer of a signup: the new tenant and its owner's
// token pair, valid on domain.
type signupJSON struct {
	SchemaName string `json:"schema_name"`
	Domain     string `json:"domain"`
	Access     string `json:"access"`
	Refresh    string `json:"refresh"`
}

// signupRequest is a validated signup.
type signupRequest struct {
	organization string
	subdomain    string
	owner        provision.UserParams
}

// signup creates a tenant and its owner: POST /api/signup/ {organization,
// subdomain, username, email, password}, JSON or form-encoded. Every field
// is checked before the attempt is counted against the throttle, and the
// attempt is counted before the password is hashed.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.SignupEnabled {
		return errSignupDisabled
	}
	if s.prov == nil {
		return errUnavailable
	}
	req, err := s.decodeSignup(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	addr := clientAddr(r)
	wait, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (int32, error) {
		return q.SignupAttempt(ctx, publicdb.SignupAttemptParams{
			Keys: [][]byte{throttleKey("signup", addr)}, Limits: []int32{maxSignupsPerAddr}, WindowSecs: int32(signupWindow / time.Second),
		})
	})
	if err != nil {
		return err
	}
	if wait > 0 {
		return errThrottled(wait)
	}

	domain := req.subdomain + "." + s.cfg.TenantBaseDomain
	schema := db.MustParseSchema(req.subdomain) // decodeSignup checked it
	var pair tokenPair
	// The owner's creation is recorded in the new tenant as the product's:
	// nobody is signed in yet.
	ctx = audit.WithActor(ctx, audit.System("signup"))
	_, err = s.prov.CreateTenant(ctx, provision.TenantParams{
		Schema: req.subdomain, Name: req.organization, Domain: domain, Admin: &req.owner,
		OnCreated: func(ctx context.Context, tx pgx.Tx, c publicdb.Client, owner tenantdb.User) error {
			p, err := s.tokens.IssuePair(tokenUser(owner, tenant{ID: c.ID, Schema: schema}), uuid.Nil)
			if err != nil {
				return err
			}
			// Recorded as a sign-in is (refresh token, last login), with no
			// throttle keys to give back: a signup always counts.
			err = tenantdb.New(tx).RecordSignIn(ctx, tenantdb.RecordSignInParams{
				Jti: p.RefreshID, Family: p.Family, UserID: owner.ID, ExpiresAt: p.RefreshExpiry,
			})
			if err != nil {
				return err
			}
			pair = tokenPair{Access: p.Access, Refresh: p.Refresh}
			// Pinned to the new tenant's id, so that the email job is this
			// tenant's and no namesake's.
			return s.sendVerification(ctx, tx, schema.Pin(c.ID, 0), owner, func(kind, secret string) string {
				return s.accountLink(r, linkHost(r, domain), kind, secret)
			})
		},
	})
	if err != nil {
		return signupError(err)
	}
	// The client uses the new host next: do not let an answer cached
	// before the tenant existed (its NOTIFY may still be on the way) 404 it.
	s.tenants.forget(domain)
	s.log.InfoContext(ctx, "tenant signed up", "schema", schema.String(), "domain", domain)
	writeJSON(w, http.StatusCreated, signupJSON{SchemaName: schema.String(), Domain: domain, Access: pair.Access, Refresh: pair.Refresh})
	return nil
}

// decodeSignup reads and checks a signup's fields, reporting every field's
// first error at once (the user's fields as provision.ValidateUser finds
// them, one at a time).
func (s *Server) decodeSignup(r *http.Request) (signupRequest, error) {
	body, err := decodeObject(r, true)
	if err != nil {
		return signupRequest{}, err
	}
	fe := fieldErrors{}
	var req signupRequest
	var ok bool
	if req.organization, ok = requiredString(fe, body, "organization", 0); ok {
		if err := provision.ValidateName(req.organization); err != nil {
			addFieldError(fe, err)
		}
	}
	if sub, ok := requiredString(fe, body, "subdomain", 0); ok {
		// Not lower-cased: validated as a schema name is, so "Acme" is
		// refused rather than silently becoming another name.
		req.subdomain = sub
		if msg := s.checkSubdomain(req.subdomain); msg != "" {
			fe.add("subdomain", msg)
		}
	}
	// The owner is staff, as every owner and admin made through the API is.
	req.owner.Role, req.owner.Staff = provision.RoleOwner, true
	req.owner.Username, _ = requiredString(fe, body, "username", 0)
	req.owner.Email, _ = requiredString(fe, body, "email", 0)
	// Passwords are taken as sent (no trimming): spaces may be part of one.
	if f := field(body, "password"); !f.present {
		fe.add("password", "This field is required.")
	} else {
		req.owner.Password = optionalString(fe, body, "password", false)
	}
	for _, k := range []string{"username", "email", "password"} {
		if _, bad := fe[k]; bad {
			return req, fe.err()
		}
	}
	if err := provision.ValidateUser(req.owner); err != nil {
		addFieldError(fe, err)
	}
	return req, fe.err()
}

// checkSubdomain returns why sub cannot be signed up for, or "".
func (s *Server) checkSubdomain(sub string) string {
	if !subdomainPattern.MatchString(sub) {
		return msgSubdomainInvalid
	}
	if slices.Contains(s.cfg.ReservedSubdomains, sub) {
		return msgSubdomainReserved
	}
	if _, err := db.ParseSchema(sub); err != nil {
		// public, river: names PostgreSQL or the job queue keep.
		return msgSubdomainReserved
	}
	if slices.Contains(s.cfg.PublicHosts, sub+"."+s.cfg.TenantBaseDomain) {
		// The public site's own host, which no tenant may take.
		return msgSubdomainReserved
	}
	if _, err := provision.ParseDomain(sub + "." + s.cfg.TenantBaseDomain); err != nil {
		return msgSubdomainInvalid // too long with the base domain
	}
	return ""
}

// signupFields maps provision's field names to the signup's.
var signupFields = map[string]string{
	"schema_name": "subdomain", "domain": "subdomain", "name": "organization",
	"admin_username": "username", "admin_email": "email", "admin_password": "password",
	"username": "username", "email": "email", "password": "password",
}

// addFieldError adds a provision.FieldError to fe under the signup's name
// for its field.
func addFieldError(fe fieldErrors, err error) {
	var pe *provision.FieldError
	if !errors.As(err, &pe) {
		fe.add("non_field_errors", err.Error())
		return
	}
	f, ok := signupFields[pe.Field]
	if !ok {
		f = pe.Field
	}
	fe.add(f, pe.Message)
}

// signupError renders provisioning's errors in the signup's words: a schema
// or domain already taken is the subdomain taken.
func signupError(err error) error {
	var pe *provision.FieldError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Field {
	case "schema_name", "domain":
		return &apiError{status: http.StatusBadRequest, body: map[string][]string{"subdomain": {msgSubdomainTaken}}}
	}
	fe := fieldErrors{}
	addFieldError(fe, err)
	return fe.err()
}
