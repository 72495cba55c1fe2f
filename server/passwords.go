package server

// Passwords and email addresses (issue #12): change, reset by email, and
// email verification, as JSON endpoints and as the small pages the emails'
// links open. Each flow is one function that the endpoint and the page
// share; the password rules are package password's, the same for every
// flow that sets a password.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/telemetry"
	"github.com/tenantctl/tenantctl/token"
)

// The limits of the flows that send email on request, in the sign-in
// throttle's table (throttle.go) under their own key namespaces, counted in
// windows of an hour. (The sign-in throttle prunes rows whose window of
// five minutes has ended, so a row of these may go after five minutes when
// sign-ins prune it: the limit holds per five minutes at least, per hour at
// most.)
const (
	mailWindowSecs      = int32(time.Hour / time.Second)
	maxResetsPerAddress = 5  // reset requests per email address (of a tenant) and client address
	maxResetsPerClient  = 20 // reset requests per client address, over every tenant
	maxResendsPerUser   = 5  // verification emails a user asks for
)

var (
	// resetAccepted is the answer to every valid reset request, whether or
	// not an account uses the address, so that it reveals none.
	resetAccepted = detail{Detail: "If an account uses this address, we sent it a link to reset the password."}

	errOldPassword = fieldErrors{"old_password": {"Your old password was entered incorrectly. Please enter it again."}}
	errLinkInvalid = fieldErrors{"token": {"This link is invalid or has expired, or it was already used."}}.err()
	errNoEmail     = fieldErrors{"email": {"Your account has no email address to verify; add one first."}}.err()
	errVerified    = errDetail(http.StatusBadRequest, "Your email address is already verified.")
	errUnverified  = &apiError{status: http.StatusForbidden, body: detail{
		Detail: "Verify your email address before signing in.", Code: "email_not_verified",
	}}
)

// passwordText reads a required password field: like requiredString, but
// never trimmed (as Django's password fields, strip=False).
func passwordText(fe fieldErrors, m map[string]json.RawMessage, key string) string {
	f := field(m, key)
	switch {
	case !f.present:
		fe.add(key, "This field is required.")
	case f.null:
		fe.add(key, "This field may not be null.")
	case f.invalid:
		fe.add(key, "Not a valid string.")
	case strings.ContainsRune(f.value, 0):
		fe.add(key, "Null characters are not allowed.")
	case f.value == "":
		fe.add(key, "This field may not be blank.")
	case len(f.value) > 4096:
		// Hashing is bounded by the hasher; this bounds the work before it.
		fe.add(key, "Ensure this field has no more than 4096 characters.")
	default:
		return f.value
	}
	return ""
}

// checkRules applies the password rules to plain, a new password of u,
// adding their messages to fe under key.
func checkRules(fe fieldErrors, key, plain string, u tenantdb.User) {
	for _, m := range password.Check(plain, password.Username(u.Username), password.Email(u.Email)) {
		fe.add(key, m)
	}
}

// tenantLink makes the URL of an account link on the tenant host the
// request came in on (see accountLink).
func (s *Server) tenantLink(r *http.Request) func(kind, secret string) string {
	return func(kind, secret string) string { return s.accountLink(r, r.Host, kind, secret) }
}

// throttle counts one attempt against keys (each with its limit) in a
// window of windowSecs, and returns the 429 of a refused attempt, or nil.
func (s *Server) throttle(ctx context.Context, q *tenantdb.Queries, keys [][]byte, limits []int32, windowSecs int32) error {
	wait, err := q.Throttle(ctx, tenantdb.ThrottleParams{Keys: keys, Limits: limits, WindowSecs: windowSecs})
	if err != nil {
		return err
	}
	if wait > 0 {
		return errThrottled(wait)
	}
	return nil
}

// changePassword answers POST /api/password/change/ {old_password,
// new_password}: the new password, every other sign-in of the user ended
// (refresh tokens revoked, access tokens issued before now refused), and a
// new token pair so that the caller stays signed in.
//
// A wrong old password counts against the sign-in throttle of the account
// and client address, as a sign-in would: a stolen access token must not
// be a way around it to guess the password.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, a auth) error {
	ctx := r.Context()
	u, err := a.user(ctx)
	if err != nil {
		return err
	}
	if err := a.allow(u, passwordChange); err != nil {
		return err
	}
	body, err := decodeObject(r, true)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	old := passwordText(fe, body, "old_password")
	pw := passwordText(fe, body, "new_password")
	if err := fe.err(); err != nil {
		return err
	}
	attempt := tenantSignIn(r, a.tenant, u.Username)
	row, err := s.startSignIn(ctx, a.tenant.Schema, attempt, u.Username)
	if err != nil {
		return err
	}
	if row.ID != u.ID {
		row.PasswordHash = "" // renamed meanwhile: check against nothing
	}
	// Hash outside any transaction: it is slow, and must not hold a connection.
	ok, err := s.hasher.Verify(ctx, old, row.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		s.metrics.SignInFailed(telemetry.SurfaceTenant)
		fe["old_password"] = errOldPassword["old_password"]
	}
	checkRules(fe, "new_password", pw, u)
	if len(fe) > 0 {
		if ok {
			// The old password proved right: its attempt does not count.
			err := db.InTenant(ctx, s.pool, a.tenant.Schema, func(q *tenantdb.Queries) error {
				return q.ThrottleSucceeded(ctx, attempt.keys)
			})
			if err != nil {
				return err
			}
		}
		return fe.err()
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	// The cutoff, then the pair: the pair's iat is not before the cutoff
	// (both from this clock), so the new access token passes activeUser.
	cutoff := time.Now()
	pair, err := s.tokens.IssuePair(tokenUser(u, a.tenant), uuid.Nil)
	if err != nil {
		return err
	}
	return a.tx(ctx, w, func(q *tenantdb.Queries, cur tenantdb.User) (response, error) {
		if cur.ID != u.ID || cur.PasswordHash != row.PasswordHash {
			// Changed by someone else since the old password was checked.
			return response{}, errOldPassword.err()
		}
		err := q.SetPasswordEndSignIns(ctx, tenantdb.SetPasswordEndSignInsParams{PasswordHash: hash, ValidAfter: cutoff, ID: u.ID})
		if err != nil {
			return response{}, err
		}
		err = q.CreateRefreshToken(ctx, tenantdb.CreateRefreshTokenParams{
			Jti: pair.RefreshID, Family: pair.Family, UserID: u.ID, ExpiresAt: pair.RefreshExpiry,
		})
		if err != nil {
			return response{}, err
		}
		if err := q.ThrottleSucceeded(ctx, attempt.keys); err != nil {
			return response{}, err
		}
		if err := a.record(ctx, q, cur, audit.Entry{Action: audit.PasswordChanged, Target: audit.Of("user", u.ID)}); err != nil {
			return response{}, err
		}
		return response{http.StatusOK, passwordChanged{
			Detail: "New password has been saved.", Access: pair.Access, Refresh: pair.Refresh,
		}}, nil
	})
}

// passwordChanged is the answer to a password change: the caller's new
// token pair, the only sign-in of the user left.
type passwordChanged struct {
	Detail  string `json:"detail"`
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// requestReset answers POST /api/password/reset/ {email}: every active user
// of the tenant with that address (case-insensitively) gets an email with a
// single-use link, valid PASSWORD_RESET_TTL. The answer is 202 with the
// same body whether or not any user has the address, and no password is
// hashed either way; requests are throttled per address and client, and
// per client.
func (s *Server) requestReset(w http.ResponseWriter, r *http.Request) error {
	t, _ := tenantFrom(r.Context())
	body, err := decodeObject(r, true)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	email, _ := requiredString(fe, body, "email", 254)
	if err := fe.err(); err != nil {
		return err
	}
	if err := provision.ValidateEmail("email", email); err != nil {
		return err
	}
	addr := clientAddr(r)
	keys := [][]byte{
		throttleKey("password reset", strconv.FormatInt(t.ID, 10), strings.ToLower(email), addr),
		throttleKey("password reset client", addr),
	}
	ctx := r.Context()
	err = db.ReadTenant(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) error {
		return s.throttle(ctx, q, keys, []int32{maxResetsPerAddress, maxResetsPerClient}, mailWindowSecs)
	})
	if err != nil {
		return err
	}
	link := s.tenantLink(r)
	err = db.InTenantTx(ctx, s.pool, t.Schema, func(q *tenantdb.Queries, tx pgx.Tx) error {
		users, err := q.ActiveUsersByEmail(ctx, email)
		if err != nil {
			return err
		}
		for _, u := range users {
			if err := s.sendReset(ctx, tx, t.Schema, u, link); err != nil {
				return err
			}
			// Recorded only for a user the address matched, which the
			// answer does not tell. Nobody is signed in: the actor is the
			// system, the target the user.
			err := audit.Record(ctx, q, t.Schema, audit.Entry{
				Action: audit.ResetRequested, Actor: audit.System("password_reset"), Target: audit.Of("user", u.ID),
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, resetAccepted)
	return nil
}

// sendReset sends u a link to reset their password, in tx (the email goes
// if and only if tx commits). link makes the URL from the secret.
func (s *Server) sendReset(ctx context.Context, tx pgx.Tx, schema db.Schema, u tenantdb.User, link func(kind, secret string) string) error {
	if u.Email == "" {
		return errors.New("sendReset: user has no email address")
	}
	raw, hash := token.NewSecret()
	err := tenantdb.New(tx).CreateAccountToken(ctx, tenantdb.CreateAccountTokenParams{
		TokenHash: hash, Purpose: purposeReset, UserID: u.ID, Email: u.Email,
		TtlSecs: s.cfg.PasswordResetTTL.Seconds(),
	})
	if err != nil {
		return err
	}
	m := accountEmail(u.Email, "Reset your password", []string{
		"Hello " + u.Username + ",",
		"Someone asked to reset the password of your account " + u.Username + ". Follow the link to choose a new one; signing in with it ends your other sign-ins.",
	}, "Choose a new password", link(linkReset, raw),
		fmt.Sprintf("The link works once, for %s. If you did not ask for it, ignore this email: your password stays as it is.",
			humanDuration(s.cfg.PasswordResetTTL)))
	return s.enqueueEmail(ctx, tx, schema, m)
}

// confirmReset answers POST /api/password/reset/confirm/ {token,
// new_password}.
func (s *Server) confirmReset(w http.ResponseWriter, r *http.Request) error {
	t, _ := tenantFrom(r.Context())
	body, err := decodeObject(r, true)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	raw, _ := requiredString(fe, body, "token", 200)
	pw := passwordText(fe, body, "new_password")
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.resetPassword(r.Context(), t, raw, pw); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, detail{Detail: "Password has been reset with the new password."})
	return nil
}

// resetPassword is the reset flow, shared by the endpoint and the page:
// the link's secret raw, of tenant t, sets the password pw. It returns 400
// {"token": [...]} for a link that is unknown, of another tenant, expired,
// used, or whose user is inactive or has another address by now, and 400
// {"new_password": [...]} for a password the rules refuse (the link stays
// usable). On success the link and the user's other reset links are used
// up, every sign-in of the user ends, and the address counts as verified
// (the link reached it).
func (s *Server) resetPassword(ctx context.Context, t tenant, raw, pw string) error {
	secret := token.HashSecret(raw)
	u, err := db.ReadTenantV(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.PeekAccountToken(ctx, tenantdb.PeekAccountTokenParams{TokenHash: secret, Purpose: purposeReset})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return errLinkInvalid
	}
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	checkRules(fe, "new_password", pw, u)
	if err := fe.err(); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	cutoff := time.Now()
	return db.InTenant(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) error {
		// Atomic: of two confirms of one link, one finds it unused.
		used, err := q.UseAccountToken(ctx, tenantdb.UseAccountTokenParams{TokenHash: secret, Purpose: purposeReset})
		if errors.Is(err, pgx.ErrNoRows) {
			return errLinkInvalid
		}
		if err != nil {
			return err
		}
		u, err := q.GetActiveUser(ctx, used.UserID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errLinkInvalid // deactivated meanwhile (rolls the use back)
		} else if err != nil {
			return err
		}
		err = q.SetPasswordEndSignIns(ctx, tenantdb.SetPasswordEndSignInsParams{PasswordHash: hash, ValidAfter: cutoff, ID: used.UserID})
		if err != nil {
			return err
		}
		if err := q.UseUserAccountTokens(ctx, tenantdb.UseUserAccountTokensParams{UserID: used.UserID, Purpose: purposeReset}); err != nil {
			return err
		}
		_, err = q.SetEmailVerified(ctx, tenantdb.SetEmailVerifiedParams{UserID: used.UserID, Email: used.Email})
		if errors.Is(err, pgx.ErrNoRows) {
			return errLinkInvalid // the address changed meanwhile
		}
		if err != nil {
			return err
		}
		// The link's holder acts as its user.
		return audit.Record(ctx, q, t.Schema, audit.Entry{
			Action: audit.PasswordReset, Actor: audit.User(u.ID, u.Username), Target: audit.Of("user", u.ID),
		})
	})
}

// verifyEmailAPI answers POST /api/email/verify/ {token}: no sign-in
// needed, the link's secret is enough.
func (s *Server) verifyEmailAPI(w http.ResponseWriter, r *http.Request) error {
	t, _ := tenantFrom(r.Context())
	body, err := decodeObject(r, true)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	raw, _ := requiredString(fe, body, "token", 200)
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.verifyEmail(r.Context(), t, raw); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, detail{Detail: "Your email address is verified."})
	return nil
}

// verifyEmail is the verification flow, shared by the endpoint and the
// page: it uses the link raw of tenant t and marks the address it was sent
// to verified, or returns 400 {"token": [...]} for a link that is unknown,
// of another tenant, expired, used, or sent to an address the user no
// longer has.
func (s *Server) verifyEmail(ctx context.Context, t tenant, raw string) error {
	return db.InTenant(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) error {
		used, err := q.UseAccountToken(ctx, tenantdb.UseAccountTokenParams{TokenHash: token.HashSecret(raw), Purpose: purposeVerify})
		if errors.Is(err, pgx.ErrNoRows) {
			return errLinkInvalid
		}
		if err != nil {
			return err
		}
		u, err := q.SetEmailVerified(ctx, tenantdb.SetEmailVerifiedParams{UserID: used.UserID, Email: used.Email})
		if errors.Is(err, pgx.ErrNoRows) {
			return errLinkInvalid // the address changed meanwhile
		}
		if err != nil {
			return err
		}
		// The link's holder acts as its user.
		return audit.Record(ctx, q, t.Schema, audit.Entry{
			Action: audit.EmailVerified, Actor: audit.User(u.ID, u.Username), Target: audit.Of("user", u.ID),
		})
	})
}

// resendVerification answers POST /api/email/verify/resend/: a new
// verification email to the signed-in user's address, at most
// maxResendsPerUser an hour.
func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request, a auth) error {
	ctx := r.Context()
	link := s.tenantLink(r)
	return a.txMail(ctx, w, func(q *tenantdb.Queries, tx pgx.Tx, u tenantdb.User) (response, error) {
		if err := a.allow(u, emailResend); err != nil {
			return response{}, err
		}
		if u.Email == "" {
			return response{}, errNoEmail
		}
		if u.EmailVerified {
			return response{}, errVerified
		}
		key := throttleKey("verification resend", strconv.FormatInt(a.tenant.ID, 10), strconv.FormatInt(u.ID, 10))
		if err := s.throttle(ctx, q, [][]byte{key}, []int32{maxResendsPerUser}, mailWindowSecs); err != nil {
			return response{}, err
		}
		if err := s.sendVerification(ctx, tx, a.tenant.Schema, u, link); err != nil {
			return response{}, err
		}
		return response{http.StatusAccepted, detail{Detail: "We sent a verification link to " + u.Email + "."}}, nil
	})
}

// resetPage is the page of a reset link.
type resetPage struct {
	Username string
	Form     form
}

// resetPageUI shows (GET) and submits (POST) the page of a reset link,
// /accounts/reset/{token}/: a new password, twice.
func (s *Server) resetPageUI(w http.ResponseWriter, r *http.Request) error {
	t, _ := tenantFrom(r.Context())
	raw := mux.Vars(r)["token"]
	ctx := r.Context()
	u, err := db.ReadTenantV(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.PeekAccountToken(ctx, tenantdb.PeekAccountTokenParams{TokenHash: token.HashSecret(raw), Purpose: purposeReset})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return s.renderAccount(w, http.StatusNotFound, "reset_invalid", "Invalid link", nil)
	}
	if err != nil {
		return err
	}
	p := resetPage{Username: u.Username, Form: emptyForm()}
	if r.Method == http.MethodGet {
		return s.renderAccount(w, http.StatusOK, "reset", "Choose a new password", p)
	}
	if err := r.ParseForm(); err != nil {
		return errDetail(http.StatusBadRequest, "Invalid form.")
	}
	p.Form = formOf(r, "new_password1", "new_password2")
	pw1, pw2 := p.Form.Values["new_password1"], p.Form.Values["new_password2"]
	switch {
	case pw1 == "":
		p.Form.Errors["new_password1"] = "This field is required."
	case pw1 != pw2:
		p.Form.Errors["new_password2"] = "The two password fields didn’t match."
	default:
		err := s.resetPassword(ctx, t, raw, pw1)
		if err == nil {
			return s.renderAccount(w, http.StatusOK, "reset_done", "Password changed", p)
		}
		if errors.Is(err, errLinkInvalid) {
			return s.renderAccount(w, http.StatusNotFound, "reset_invalid", "Invalid link", nil)
		}
		msgs, ok := fieldMessages(err, "new_password")
		if !ok {
			return err
		}
		p.Form.Errors["new_password1"] = strings.Join(msgs, " ")
	}
	// Never send a password back to the browser.
	p.Form.Values = map[string]string{}
	return s.renderAccount(w, http.StatusBadRequest, "reset", "Choose a new password", p)
}

// fieldMessages returns the messages of key in err, a 400 of fieldErrors.
func fieldMessages(err error, key string) ([]string, bool) {
	var ae *apiError
	if !errors.As(err, &ae) {
		return nil, false
	}
	m, ok := ae.body.(map[string][]string)
	if !ok || len(m[key]) == 0 {
		return nil, false
	}
	return m[key], true
}

// verifyPageUI shows (GET) and submits (POST) the page of a verification
// link, /accounts/verify/{token}/. Only the POST verifies: the GET shows a
// button, so that a mail scanner fetching the link does not use it up.
func (s *Server) verifyPageUI(w http.ResponseWriter, r *http.Request) error {
	t, _ := tenantFrom(r.Context())
	raw := mux.Vars(r)["token"]
	ctx := r.Context()
	if r.Method == http.MethodPost {
		err := s.verifyEmail(ctx, t, raw)
		if errors.Is(err, errLinkInvalid) {
			return s.renderAccount(w, http.StatusNotFound, "verify_invalid", "Invalid link", nil)
		}
		if err != nil {
			return err
		}
		return s.renderAccount(w, http.StatusOK, "verify_done", "Email address verified", nil)
	}
	u, err := db.ReadTenantV(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.PeekAccountToken(ctx, tenantdb.PeekAccountTokenParams{TokenHash: token.HashSecret(raw), Purpose: purposeVerify})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return s.renderAccount(w, http.StatusNotFound, "verify_invalid", "Invalid link", nil)
	}
	if err != nil {
		return err
	}
	return s.renderAccount(w, http.StatusOK, "verify", "Verify your email address", u.Email)
}

var (
	errResetNoEmail  = fieldErrors{"email": {"This user has no email address to send a reset link to."}}.err()
	errResetInactive = errDetail(http.StatusBadRequest, "This user is inactive: activate them first.")
)

// adminSendReset sends user id of the tenant of schemaName a password reset
// link, for a superuser: to the tenant's primary domain (with the port of
// request r, see linkHost). It returns the user's address, ErrNotFound
// (404) for an unknown tenant or user, and a 400 for a user without an
// address or inactive.
func (s *Server) adminSendReset(r *http.Request, schemaName string, id int64) (string, error) {
	ctx := r.Context()
	t, err := s.prov.DescribeTenant(ctx, schemaName)
	if err != nil {
		return "", err
	}
	if t.State != "ready" || t.PrimaryDomain == "" {
		return "", provision.ErrNotFound
	}
	schema, err := db.ParseSchema(t.Schema)
	if err != nil {
		return "", provision.ErrNotFound
	}
	if schema, err = db.Pinned(ctx, s.pool, schema); err != nil {
		return "", err
	}
	host := linkHost(r, t.PrimaryDomain)
	link := func(kind, secret string) string { return s.accountLink(r, host, kind, secret) }
	var to string
	err = db.InTenantTx(ctx, s.pool, schema, func(q *tenantdb.Queries, tx pgx.Tx) error {
		u, err := q.GetUserByID(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case u.Email == "":
			return errResetNoEmail
		case !u.IsActive:
			return errResetInactive
		}
		to = u.Email
		if err := s.sendReset(ctx, tx, schema, u, link); err != nil {
			return err
		}
		return audit.Record(ctx, q, schema, audit.Entry{
			Action: audit.ResetRequested, Actor: audit.OperatorFrom(ctx), Target: audit.Of("user", u.ID),
		})
	})
	return to, err
}

// adminSendResetAPI answers POST
// /api/admin/tenants/{schema}/users/{id}/send_password_reset/: 202, and the
// user gets a reset link.
func (s *Server) adminSendResetAPI(w http.ResponseWriter, r *http.Request) error {
	schema, id, err := pathSchemaUser(r)
	if err != nil {
		return err
	}
	to, err := s.adminSendReset(r, schema, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, detail{Detail: "Password reset email sent to " + to + "."})
	return nil
}

// adminSendResetUI is the admin's button for it: POST
// /admin/tenants/{schema}/users/{id}/send_password_reset/.
func (s *Server) adminSendResetUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	schema, id, err := pathSchemaUser(r)
	if err != nil {
		return err
	}
	back := fmt.Sprintf("/admin/tenants/%s/users/%d/", schema, id)
	to, err := s.adminSendReset(r, schema, id)
	refused := ""
	if msgs, ok := fieldMessages(err, "email"); ok {
		refused = msgs[0]
	}
	var ae *apiError
	if d, ok := errorDetail(err); ok && errors.As(err, &ae) && ae.status == http.StatusBadRequest {
		refused = d
	}
	if refused != "" {
		if err := s.setFlash(r.Context(), sess, refused, true); err != nil {
			return err
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, sess, back, "Password reset email sent to "+to+".")
}

// errorDetail returns the detail of err, an apiError with a detail body.
func errorDetail(err error) (string, bool) {
	var ae *apiError
	if !errors.As(err, &ae) {
		return "", false
	}
	d, ok := ae.body.(detail)
	return d.Detail, ok
}
