package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/telemetry"
	"github.com/tenantctl/tenantctl/token"
)

type tokenPair struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// obtainToken signs a user in: POST /api/token/ {username, password}.
// A wrong password and an unknown username cost the same hashing work and
// get the same answer, so the endpoint does not reveal which usernames exist.
//
// The attempt is counted against the throttle before the password is hashed,
// and given back on success in the transaction that records the sign-in
// (throttle.go).
func (s *Server) obtainToken(w http.ResponseWriter, r *http.Request) error {
	t, _ := tenantFrom(r.Context())
	username, pw, err := decodeCredentials(r)
	if err != nil {
		return err
	}
	attempt := tenantSignIn(r, t, username)
	ctx := r.Context()
	u, err := s.startSignIn(ctx, t.Schema, attempt, username)
	if err != nil {
		return err
	}
	// Hash outside the transaction: it is slow, and must not hold a connection.
	ok, err := s.hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok || !u.IsActive {
		s.metrics.SignInFailed(telemetry.SurfaceTenant)
		reason := "bad_credentials"
		if ok {
			reason = "inactive"
		}
		if err := s.recordSignInFailed(ctx, t.Schema, u, username, reason); err != nil {
			return err
		}
		return errBadCredential
	}
	if s.cfg.RequireVerifiedEmail && !u.EmailVerified {
		// Checked once the password proved right, so that it tells nothing
		// to whoever does not know it; the attempt is given back, as for
		// any correct password.
		err := db.InTenant(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) error {
			if err := q.ThrottleSucceeded(ctx, attempt.keys); err != nil {
				return err
			}
			return audit.Record(ctx, q, t.Schema, signInFailed(u, username, "email_unverified"))
		})
		if err != nil {
			return err
		}
		return errUnverified
	}
	user := tenantdb.User{ID: u.ID, Username: u.Username, Email: u.Email}
	requestInfoFrom(ctx).UserID = user.ID
	pair, err := s.tokens.IssuePair(tokenUser(user, t), uuid.Nil)
	if err != nil {
		return err
	}
	err = db.InTenant(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) error {
		err := q.RecordSignIn(ctx, tenantdb.RecordSignInParams{
			Jti: pair.RefreshID, Family: pair.Family, UserID: user.ID, ExpiresAt: pair.RefreshExpiry,
		})
		if err != nil {
			return err
		}
		if err := q.ThrottleSucceeded(ctx, attempt.keys); err != nil {
			return err
		}
		return audit.Record(ctx, q, t.Schema, audit.Entry{
			Action: audit.SignedIn, Actor: audit.User(user.ID, user.Username), Target: audit.Of("user", user.ID),
		})
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenPair{Access: pair.Access, Refresh: pair.Refresh})
	return nil
}

// maxAttemptedName is the most of an unknown username a failed sign-in's
// entry keeps: a client may send any length.
const maxAttemptedName = 150

// signInFailed is the entry of a refused sign-in of username, whose user
// is u (u.ID 0: no user has that name). The actor is the user the attempt
// claimed to be: that user, or, for a name nobody has, a user without an id
// named as attempted (truncated), and the target that user (id "" when
// unknown). reason says why: bad_credentials, inactive or email_unverified.
func signInFailed(u tenantdb.SignInUserRow, username, reason string) audit.Entry {
	e := audit.Entry{Action: audit.SignInFailed, After: map[string]any{"reason": reason}}
	if u.ID == 0 {
		if len(username) > maxAttemptedName {
			username = strings.ToValidUTF8(username[:maxAttemptedName], "")
		}
		e.Actor, e.Target = audit.User(0, username), audit.Target{Type: "user"}
		return e
	}
	e.Actor, e.Target = audit.User(u.ID, u.Username), audit.Of("user", u.ID)
	return e
}

// recordSignInFailed records a refused sign-in in a small transaction of
// its own: the attempt changes nothing else in the tenant. It cannot fill
// the log without limit: every attempt it records was counted by the
// sign-in throttle first (throttle.go), and throttled attempts, refused
// before any lookup, are not recorded.
func (s *Server) recordSignInFailed(ctx context.Context, schema db.Schema, u tenantdb.SignInUserRow, username, reason string) error {
	return db.InTenant(ctx, s.pool, schema, func(q *tenantdb.Queries) error {
		return audit.Record(ctx, q, schema, signInFailed(u, username, reason))
	})
}

// decodeCredentials reads the {username, password} body of a sign-in, JSON
// or form-encoded, with DRF's field errors.
func decodeCredentials(r *http.Request) (username, password string, err error) {
	body, err := decodeObject(r, true)
	if err != nil {
		return "", "", err
	}
	fe := fieldErrors{}
	username, _ = requiredString(fe, body, "username", 0)
	password, _ = requiredString(fe, body, "password", 0)
	return username, password, fe.err()
}

func tokenUser(u tenantdb.User, t tenant) token.User {
	return token.User{ID: u.ID, Username: u.Username, Email: u.Email, Tenant: t.Schema.String(), TenantID: t.ID}
}

// parseRefresh reads and verifies the refresh token of a refresh or blacklist
// request. A token of another tenant is as invalid here as a forged one.
func (s *Server) parseRefresh(r *http.Request, t tenant) (*token.Claims, uuid.UUID, error) {
	body, err := decodeObject(r, true)
	if err != nil {
		return nil, uuid.Nil, err
	}
	fe := fieldErrors{}
	raw, _ := requiredString(fe, body, "refresh", 0)
	if err := fe.err(); err != nil {
		return nil, uuid.Nil, err
	}
	c, err := s.tokens.Parse(raw, token.Refresh)
	if err != nil {
		return nil, uuid.Nil, errToken(tokenErrorMessage(err))
	}
	if !belongsTo(c, t) {
		return nil, uuid.Nil, errToken("Token is invalid or expired")
	}
	jti, _ := uuid.Parse(c.ID) // Parse checked it
	requestInfoFrom(r.Context()).UserID = c.UserID
	return c, jti, nil
}

// belongsTo reports whether a token was issued by tenant t: same schema and
// same tenant id, so a tenant deleted and recreated under the same schema
// name does not honour its predecessor's tokens.
func belongsTo(c *token.Claims, t tenant) bool {
	return c.Tenant == t.Schema.String() && c.TenantID == t.ID
}

// refreshToken rotates a refresh token: POST /api/token/refresh/ {refresh}.
// The presented token is used up; presenting it again revokes every token
// of its family, since one of the two holders is not its owner.
func (s *Server) refreshToken(w http.ResponseWriter, r *http.Request) error {
	t, _ := tenantFrom(r.Context())
	c, jti, err := s.parseRefresh(r, t)
	if err != nil {
		return err
	}
	ctx := r.Context()
	res, err := db.InTenantV(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) (response, error) {
		family, err := q.UseRefreshToken(ctx, tenantdb.UseRefreshTokenParams{Jti: jti, UserID: c.UserID})
		if errors.Is(err, pgx.ErrNoRows) {
			// Used, revoked, expired or unknown. Revoke its family and commit
			// that, while still refusing this request. SimpleJWT calls a used
			// (rotated) or logged-out token blacklisted.
			if err := q.RevokeRefreshFamily(ctx, jti); err != nil {
				return response{}, err
			}
			// Recorded for any refusal here, reuse or not (the token's
			// signature is valid: it is this user's), with the user the
			// token names.
			if err := recordTokenUser(ctx, q, t.Schema, audit.RefreshReused, c.UserID); err != nil {
				return response{}, err
			}
			return errorResponse(errToken("Token is blacklisted")), nil
		}
		if err != nil {
			return response{}, err
		}
		u, err := q.GetActiveUser(ctx, c.UserID)
		if errors.Is(err, pgx.ErrNoRows) {
			return response{}, errToken("User not found or inactive")
		}
		if err != nil {
			return response{}, err
		}
		if s.cfg.RequireVerifiedEmail && !u.EmailVerified {
			return response{}, errUnverified // rolls the rotation back
		}
		pair, err := s.tokens.IssuePair(tokenUser(u, t), family)
		if err != nil {
			return response{}, err
		}
		err = q.CreateRefreshToken(ctx, tenantdb.CreateRefreshTokenParams{
			Jti: pair.RefreshID, Family: family, UserID: u.ID, ExpiresAt: pair.RefreshExpiry,
		})
		return response{http.StatusOK, tokenPair{Access: pair.Access, Refresh: pair.Refresh}}, err
	})
	if err != nil {
		return err
	}
	return s.respondOrError(w, res)
}

// blacklistToken logs out: POST /api/token/blacklist/ {refresh}. That refresh
// token no longer works.
func (s *Server) blacklistToken(w http.ResponseWriter, r *http.Request) error {
	t, _ := tenantFrom(r.Context())
	c, jti, err := s.parseRefresh(r, t)
	if err != nil {
		return err
	}
	ctx := r.Context()
	n, err := db.InTenantV(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) (int64, error) {
		n, err := q.RevokeRefreshToken(ctx, tenantdb.RevokeRefreshTokenParams{Jti: jti, UserID: c.UserID})
		if err != nil || n == 0 {
			return n, err
		}
		return n, recordTokenUser(ctx, q, t.Schema, audit.SignedOut, c.UserID)
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return errToken("Token is blacklisted")
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// recordTokenUser records action, made by and to the user a refresh token
// names (a refresh token carries no username: it is read, and is "" for a
// user deleted since), in q's transaction.
func recordTokenUser(ctx context.Context, q *tenantdb.Queries, schema db.Schema, action string, userID int64) error {
	u, err := q.GetUserByID(ctx, userID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return audit.Record(ctx, q, schema, audit.Entry{
		Action: action, Actor: audit.User(userID, u.Username), Target: audit.Of("user", userID),
	})
}

// verifyToken answers POST /api/token/verify/ {token} as SimpleJWT's
// TokenVerifyView does: 200 {} for a valid access or refresh token of this
// tenant, 401 token_not_valid for any other, and, like SimpleJWT with its
// blacklist app, 400 {"non_field_errors": ["Token is blacklisted"]} for a
// refresh token that was used (rotated) or logged out.
func (s *Server) verifyToken(w http.ResponseWriter, r *http.Request) error {
	t, _ := tenantFrom(r.Context())
	body, err := decodeObject(r, true)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	raw, _ := requiredString(fe, body, "token", 0)
	if err := fe.err(); err != nil {
		return err
	}
	// SimpleJWT's UntypedToken accepts any type; here only the two a tenant
	// issues are tokens at all.
	c, err := s.tokens.Parse(raw, token.Access)
	if errors.Is(err, token.ErrWrongType) {
		c, err = s.tokens.Parse(raw, token.Refresh)
	}
	if err != nil || !belongsTo(c, t) {
		return errToken("Token is invalid or expired")
	}
	if c.TokenType == token.Refresh {
		jti, _ := uuid.Parse(c.ID) // Parse checked it
		ctx := r.Context()
		live, err := db.ReadTenantV(ctx, s.pool, t.Schema, func(q *tenantdb.Queries) (bool, error) {
			return q.RefreshTokenLive(ctx, jti)
		})
		if err != nil {
			return err
		}
		if !live {
			return &apiError{status: http.StatusBadRequest, body: map[string][]string{"non_field_errors": {"Token is blacklisted"}}}
		}
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// errorResponse turns an apiError into a response, for a transaction that
// must commit although the request is refused.
func errorResponse(e *apiError) response {
	return response{status: e.status, body: e}
}

// respondOrError writes res, rendering an apiError body as the error it is.
func (s *Server) respondOrError(w http.ResponseWriter, res response) error {
	if e, ok := res.body.(*apiError); ok {
		return e
	}
	s.respond(w, res)
	return nil
}

// bearer returns the access token's claims for a request on tenant t.
func (s *Server) bearer(r *http.Request, t tenant) (*token.Claims, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errNotProvided
	}
	scheme, raw, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// SimpleJWT ignores other schemes: as if no credentials were sent.
		return nil, errNotProvided
	}
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.ContainsAny(raw, " \t") {
		return nil, errToken("Authorization header must contain two space-delimited values")
	}
	c, err := s.tokens.Parse(raw, token.Access)
	if err != nil {
		return nil, errAccessToken(err)
	}
	if !belongsTo(c, t) {
		return nil, errCrossTenant
	}
	requestInfoFrom(r.Context()).UserID = c.UserID
	return c, nil
}

// authed wraps a handler that needs a signed-in user of the request's tenant.
func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, a auth) error) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		t, _ := tenantFrom(r.Context())
		if raw, ok := apiKeyCredential(r); ok {
			k, err := parseAPIKey(raw, t)
			if err != nil {
				return err
			}
			err = h(w, r, auth{s: s, tenant: t, key: k})
			if k.touch {
				// After the handler: its answer does not wait for this.
				s.touchAPIKey(t.Schema, k.id)
			}
			return err
		}
		c, err := s.bearer(r, t)
		if err != nil {
			return err
		}
		return h(w, r, auth{s: s, tenant: t, claims: c})
	})
}

// auth is a request's verified tenant and access token, or API key.
type auth struct {
	s      *Server
	tenant tenant
	claims *token.Claims
	// key is the API key the request was authenticated with, nil for an
	// access token (claims are nil with a key). It acts as its creator,
	// with that user's role (activeUser).
	key *apiKey
}

// apiKey is the API key of a request (apikeys.go). hash is known from the
// header; the rest once activeUser has read the key's row, which every
// copy of the request's auth then sees.
type apiKey struct {
	hash  []byte
	id    int64
	name  string
	scope string
	// touch: last_used_at is due an update (older than a minute, or unset).
	touch bool
}

// actor is who the request acts as in the audit log: the key, or the user.
func (a auth) actor(u tenantdb.User) audit.Actor {
	if a.key != nil {
		return audit.APIKey(a.key.id, a.key.name)
	}
	return audit.User(u.ID, u.Username)
}

// record writes e to the tenant's audit log in q's transaction, made by
// the request's actor (u, or its API key).
func (a auth) record(ctx context.Context, q *tenantdb.Queries, u tenantdb.User, e audit.Entry) error {
	e.Actor = a.actor(u)
	return audit.Record(ctx, q, a.tenant.Schema, e)
}

// tx runs fn in one transaction of the tenant, with the token's user loaded
// (and checked to still exist and be active) in the same transaction, then
// writes fn's response once the transaction committed.
func (a auth) tx(ctx context.Context, w http.ResponseWriter, fn func(q *tenantdb.Queries, u tenantdb.User) (response, error)) error {
	return a.run(ctx, w, db.InTenantV[response], fn)
}

// read is tx for handlers that only read: the user check and fn's
// statements each run on their own (db.ReadTenant), a round trip apiece.
func (a auth) read(ctx context.Context, w http.ResponseWriter, fn func(q *tenantdb.Queries, u tenantdb.User) (response, error)) error {
	return a.run(ctx, w, db.ReadTenantV[response], fn)
}

// inTenant is db.InTenantV or db.ReadTenantV.
type inTenant func(context.Context, *db.Pool, db.Schema, func(*tenantdb.Queries) (response, error)) (response, error)

func (a auth) run(ctx context.Context, w http.ResponseWriter, in inTenant, fn func(q *tenantdb.Queries, u tenantdb.User) (response, error)) error {
	res, err := in(ctx, a.s.pool, a.tenant.Schema, func(q *tenantdb.Queries) (response, error) {
		u, err := a.activeUser(ctx, q)
		if err != nil {
			return response{}, err
		}
		return fn(q, u)
	})
	if err != nil {
		return err
	}
	return a.s.respondOrError(w, res)
}

// activeUser loads the token's user, refusing the token if the user is
// gone or inactive, or if the token was issued before the user's sign-ins
// were ended (a password change or reset sets tokens_valid_after).
//
// For an API key, it loads the key and its creator in one statement
// instead (keyUser): a key is not a token, so only the user's being
// active matters.
func (a auth) activeUser(ctx context.Context, q *tenantdb.Queries) (tenantdb.User, error) {
	if a.key != nil {
		return a.keyUser(ctx, q)
	}
	u, err := q.GetActiveUser(ctx, a.claims.UserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, errToken("User not found or inactive")
	}
	if err != nil {
		return u, err
	}
	if !issuedAfter(a.claims, u.TokensValidAfter) {
		return u, errToken("Token is invalid or expired")
	}
	return u, nil
}

// issuedAfter reports whether token c was issued at or after cutoff (nil:
// no cutoff). iat has whole seconds, so cutoff is truncated to its second:
// a token issued in the second of the change, before it, still passes, which
// leaves a window of under a second.
func issuedAfter(c *token.Claims, cutoff *time.Time) bool {
	if cutoff == nil {
		return true
	}
	return c.IssuedAt != nil && !c.IssuedAt.Time.Before(cutoff.Truncate(time.Second))
}
