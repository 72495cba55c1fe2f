package server

// API keys (issue #11): owners and admins create keys for machines; a key
// acts as the user who created it (that user's current role, while the
// user is active), limited by its scope (keyScopes in permissions.go). It
// is sent as `Authorization: Api-Key <key>` (the djangorestframework-api-key
// convention) wherever an access token is accepted.
//
// A key is tk_live_<tenant id, base 36>_<52 base-32 characters (256 random
// bits)> (token.NewAPIKey). The fixed start lets secret scanners recognise
// a leaked key; the tenant id lets a key presented on another tenant's host
// be refused (403, as a token of another tenant) without looking in another
// schema. Only its
// SHA-256 is stored: the key is random, not a password, so a fast hash
// reveals nothing. The list shows its prefix (the tenant part and the first
// 8 secret characters), enough to recognise it, not to use it.
//
// Every request with a key reads the key's row (one statement joined with
// its user, in place of the access token's user lookup), so a revocation
// holds on every instance at once. last_used_at is written at most once a
// minute, after the response, by a goroutine of the server (touchAPIKey).

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/token"
)

// apiKeyTouchEvery is how stale last_used_at may get.
const apiKeyTouchEvery = time.Minute

// errAPIKey is the 401 of an API key that is not accepted: malformed,
// unknown, revoked, expired, or of a user no longer active. The code is
// DRF's AuthenticationFailed's.
func errAPIKey(msg string) *apiError {
	return &apiError{
		status: http.StatusUnauthorized,
		body:   detail{Detail: msg, Code: "authentication_failed"},
		header: http.Header{"Www-Authenticate": {`Api-Key realm="api"`}},
	}
}

var errAPIKeyInvalid = errAPIKey("Invalid API key.")

// apiKeyCredential reads an `Api-Key <key>` Authorization header (the
// scheme is case-insensitive). ok is false for any other header.
func apiKeyCredential(r *http.Request) (key string, ok bool) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Api-Key") {
		return "", false
	}
	return strings.TrimSpace(raw), true
}

// parseAPIKey checks a presented key's form and tenant and returns the
// request's key, to be looked up (auth.activeUser). It returns
// errAPIKeyInvalid for a malformed key, errCrossTenant for a key of
// another tenant.
func parseAPIKey(key string, t tenant) (*apiKey, error) {
	id, ok := token.APIKeyTenant(key)
	if !ok {
		return nil, errAPIKeyInvalid
	}
	if id != t.ID {
		return nil, errCrossTenant
	}
	return &apiKey{hash: token.HashAPIKey(key)}, nil
}

// keyUser loads the request's API key and the user it acts as, in q's
// transaction, filling in a.key. It returns errAPIKey for a key that is
// unknown, revoked or expired, or whose creator is not active.
func (a auth) keyUser(ctx context.Context, q *tenantdb.Queries) (tenantdb.User, error) {
	row, err := q.GetAPIKeyUser(ctx, a.key.hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return row.User, errAPIKeyInvalid
	case err != nil:
		return row.User, err
	case row.KeyRevoked:
		return row.User, errAPIKey("API key has been revoked.")
	case row.KeyExpired:
		return row.User, errAPIKey("API key has expired.")
	case !row.User.IsActive:
		return row.User, errAPIKey("User not found or inactive.")
	}
	a.key.id, a.key.name, a.key.scope = row.KeyID, row.KeyName, row.KeyScope
	a.key.touch = row.KeyLastUsedAt == nil || time.Since(*row.KeyLastUsedAt) >= apiKeyTouchEvery
	requestInfoFrom(ctx).UserID = row.User.ID
	return row.User, nil
}

// touchAPIKey sets the last use of key id of schema, in the background: the
// request that used the key has its answer already. At most one update per
// key runs in this process at a time; the UPDATE itself skips a key used
// less than a minute ago, so instances racing each other write it once.
// The update ends with the server's lifetime context.
func (s *Server) touchAPIKey(schema db.Schema, id int64) {
	if s.life.Err() != nil {
		return
	}
	k := schema.String() + ":" + strconv.FormatInt(id, 10)
	if _, busy := s.touching.LoadOrStore(k, struct{}{}); busy {
		return
	}
	go func() {
		defer s.touching.Delete(k)
		ctx, cancel := context.WithTimeout(s.life, 10*time.Second)
		defer cancel()
		err := db.InTenant(ctx, s.pool, schema, func(q *tenantdb.Queries) error {
			return q.TouchAPIKey(ctx, id)
		})
		if err != nil && s.life.Err() == nil {
			s.log.Warn("cannot record an API key's use", "schema", schema.String(), "key", id, "err", err)
		}
	}()
}

// apiKeyJSON is an API key as the API shows it. Key, the secret, is in the
// answer of its creation only.
type apiKeyJSON struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Prefix     string   `json:"prefix"`
	Scope      string   `json:"scope"`
	ExpiresAt  *apiTime `json:"expires_at"`
	CreatedBy  int64    `json:"created_by"`
	CreatedAt  apiTime  `json:"created_at"`
	LastUsedAt *apiTime `json:"last_used_at"`
}

// createdAPIKeyJSON is the answer to a key's creation: the key, once.
type createdAPIKeyJSON struct {
	apiKeyJSON
	Key string `json:"key"`
}

func newAPIKeyJSON(id int64, name, prefix, scope string, createdBy int64, created time.Time, expires, lastUsed *time.Time) apiKeyJSON {
	return apiKeyJSON{ID: id, Name: name, Prefix: prefix, Scope: scope, CreatedBy: createdBy,
		CreatedAt: apiTime(created), ExpiresAt: optTime(expires), LastUsedAt: optTime(lastUsed)}
}

// apiKeyInput is a validated POST /api/api-keys/ body.
type apiKeyInput struct {
	name, scope string
	expiresAt   *time.Time
}

// decodeAPIKey validates a key's body: name (1 to 100 characters), scope
// (read or read_write), and optionally expires_at, an RFC 3339 time in the
// future (null: never).
func decodeAPIKey(r *http.Request) (apiKeyInput, error) {
	body, err := decodeObject(r, true)
	if err != nil {
		return apiKeyInput{}, err
	}
	fe := fieldErrors{}
	var in apiKeyInput
	in.name, _ = requiredString(fe, body, "name", 100)
	switch f := field(body, "scope"); {
	case !f.present:
		fe.add("scope", "This field is required.")
	case f.null:
		fe.add("scope", "This field may not be null.")
	case f.invalid || f.value != scopeRead && f.value != scopeReadWrite:
		fe.add("scope", `"`+f.value+`" is not a valid choice.`)
	default:
		in.scope = f.value
	}
	switch f := field(body, "expires_at"); {
	case !f.present, f.null:
	case f.invalid:
		fe.add("expires_at", "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")
	default:
		t, err := time.Parse(time.RFC3339Nano, f.value)
		switch {
		case err != nil:
			fe.add("expires_at", "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")
		case !t.After(time.Now()):
			fe.add("expires_at", "Ensure this value is in the future.")
		default:
			in.expiresAt = &t
		}
	}
	return in, fe.err()
}

// createAPIKey answers POST /api/api-keys/ {name, scope, expires_at}: 201
// with the key, which no later answer shows (owners and admins; not with a
// key).
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, a auth) error {
	// An invalid body is refused after the permission check, as DRF reads
	// the body only once the view runs.
	in, invalid := decodeAPIKey(r)
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, apiKeysCreate); err != nil {
			return response{}, err
		}
		if invalid != nil {
			return response{}, invalid
		}
		key, prefix, hash := token.NewAPIKey(a.tenant.ID)
		k, err := q.CreateAPIKey(ctx, tenantdb.CreateAPIKeyParams{
			Name: in.name, Prefix: prefix, KeyHash: hash, Scope: in.scope, CreatedBy: u.ID, ExpiresAt: in.expiresAt,
		})
		if err != nil {
			return response{}, err
		}
		out := newAPIKeyJSON(k.ID, k.Name, k.Prefix, k.Scope, k.CreatedBy, k.CreatedAt, k.ExpiresAt, k.LastUsedAt)
		err = a.record(ctx, q, u, audit.Entry{
			Action: audit.APIKeyCreated, Target: audit.Of("api_key", k.ID),
			After: map[string]any{"name": k.Name, "scope": k.Scope, "expires_at": out.ExpiresAt, "prefix": k.Prefix},
			Data:  out,
		})
		return response{http.StatusCreated, createdAPIKeyJSON{apiKeyJSON: out, Key: key}}, err
	})
}

// listAPIKeys answers GET /api/api-keys/: the keys not revoked (expired
// ones too), newest first, DRF-paginated, each with its prefix, never the
// key.
func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, a auth) error {
	lq, err := parseList(r, pageSize, nil)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.read(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, apiKeysList); err != nil {
			return response{}, err
		}
		out, err := pageOf(r, lq, func(lim int32, off int64) ([]apiKeyJSON, int64, error) {
			rows, err := q.ListAPIKeys(ctx, tenantdb.ListAPIKeysParams{Lim: lim, Off: off})
			var total int64
			results := make([]apiKeyJSON, len(rows))
			for i, k := range rows {
				results[i] = newAPIKeyJSON(k.ID, k.Name, k.Prefix, k.Scope, k.CreatedBy, k.CreatedAt, k.ExpiresAt, k.LastUsedAt)
				total = k.Total
			}
			return results, total, err
		})
		if err != nil {
			return response{}, err
		}
		return response{http.StatusOK, out}, nil
	})
}

// deleteAPIKey answers DELETE /api/api-keys/{id}/: the key is revoked, at
// once on every instance (each request reads its row). 404 for a key
// unknown or revoked already.
func (s *Server) deleteAPIKey(w http.ResponseWriter, r *http.Request, a auth) error {
	id, err := itemID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	return a.tx(ctx, w, func(q *tenantdb.Queries, u tenantdb.User) (response, error) {
		if err := a.allow(u, apiKeysDelete); err != nil {
			return response{}, err
		}
		k, err := q.RevokeAPIKey(ctx, id)
		if err != nil {
			return response{}, err
		}
		out := newAPIKeyJSON(k.ID, k.Name, k.Prefix, k.Scope, k.CreatedBy, k.CreatedAt, k.ExpiresAt, k.LastUsedAt)
		err = a.record(ctx, q, u, audit.Entry{
			Action: audit.APIKeyRevoked, Target: audit.Of("api_key", k.ID),
			Before: map[string]any{"name": k.Name, "scope": k.Scope, "prefix": k.Prefix},
			Data:   out,
		})
		return response{status: http.StatusNoContent}, err
	})
}
