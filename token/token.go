// Package token issues and parses the tenant-aware JWTs: HS256 only, with the
// claims SimpleJWT clients expect plus the tenant schema the token belongs to.
package token

import (
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Token types, carried in the token_type claim.
const (
	Access  = "access"
	Refresh = "refresh"
	// Admin tokens belong to superusers and are accepted on the public host only.
	Admin = "admin"
)

// ErrInvalid is returned by Parse for any token that must not be accepted:
// malformed, badly signed, of another algorithm, expired, not yet valid, or
// of the wrong type.
var ErrInvalid = errors.New("token is invalid or expired")

// ErrWrongType is wrapped, besides ErrInvalid, by Parse's error for a valid
// token of another type than asked for, so that callers can say so as
// SimpleJWT does ("Token has wrong type").
var ErrWrongType = errors.New("token has wrong type")

// Claims are the claims of every token this package issues.
type Claims struct {
	TokenType string `json:"token_type"`
	UserID    int64  `json:"user_id"`
	Tenant    string `json:"tenant"`
	// TenantID is the tenant's id, never reused: it keeps a tenant recreated
	// under a deleted one's schema name from accepting the old tokens.
	TenantID int64  `json:"tenant_id"`
	Username string `json:"username,omitempty"`
	Email    string `json:"email,omitempty"`
	// Family ties rotated refresh tokens to the sign-in that began them.
	Family string `json:"family,omitempty"`
	jwt.RegisteredClaims
}

// Issuer signs and verifies tokens with one HMAC key.
type Issuer struct {
	key        []byte
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time

	// verified remembers access tokens that passed Parse, by their exact
	// text: a client sends the same token for its whole lifetime, and
	// decoding and verifying it again was the largest share of the
	// server's own CPU per request. Only a byte-identical token hits.
	mu       sync.Mutex
	verified map[string]*Claims
}

// maxVerified bounds the verified-token cache (about 500 bytes an entry).
// When it is full, expired tokens are dropped, and if that frees nothing the
// cache is emptied. It is ten times the tenant count the benchmark drives,
// so that every client's token of a busy deployment stays cached.
const maxVerified = 100_000

// NewIssuer returns an Issuer signing with key.
func NewIssuer(key string, accessTTL, refreshTTL time.Duration) *Issuer {
	return &Issuer{key: []byte(key), accessTTL: accessTTL, refreshTTL: refreshTTL, now: time.Now, verified: map[string]*Claims{}}
}

// RefreshTTL is how long refresh tokens live.
func (is *Issuer) RefreshTTL() time.Duration { return is.refreshTTL }

// User is who a token is issued to.
type User struct {
	ID       int64
	Username string
	Email    string
	Tenant   string
	TenantID int64
}

// Pair is a signed access token and refresh token, with the refresh token's
// id, family and expiry for the database's record.
type Pair struct {
	Access        string
	Refresh       string
	RefreshID     uuid.UUID
	Family        uuid.UUID
	RefreshExpiry time.Time
}

// IssuePair signs a new access and refresh token for u. A zero family starts
// a new one (a sign-in); rotation passes the family of the token it replaces.
func (is *Issuer) IssuePair(u User, family uuid.UUID) (Pair, error) {
	now := is.now()
	if family == uuid.Nil {
		family = uuid.New()
	}
	access, err := is.sign(Claims{
		TokenType: Access, UserID: u.ID, Tenant: u.Tenant, TenantID: u.TenantID, Username: u.Username, Email: u.Email,
		RegisteredClaims: registered(now, is.accessTTL, uuid.New()),
	})
	if err != nil {
		return Pair{}, err
	}
	rid := uuid.New()
	rc := registered(now, is.refreshTTL, rid)
	refresh, err := is.sign(Claims{
		TokenType: Refresh, UserID: u.ID, Tenant: u.Tenant, TenantID: u.TenantID, Family: family.String(),
		RegisteredClaims: rc,
	})
	if err != nil {
		return Pair{}, err
	}
	return Pair{Access: access, Refresh: refresh, RefreshID: rid, Family: family, RefreshExpiry: rc.ExpiresAt.Time}, nil
}

// IssueAdmin signs an access token for a superuser of the public side.
func (is *Issuer) IssueAdmin(id int64, username string) (string, error) {
	return is.sign(Claims{
		TokenType: Admin, UserID: id, Username: username,
		RegisteredClaims: registered(is.now(), is.accessTTL, uuid.New()),
	})
}

func registered(now time.Time, ttl time.Duration, id uuid.UUID) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		ID:        id.String(),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
}

func (is *Issuer) sign(c Claims) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(is.key)
}

// Parse verifies raw as a token of the given type and returns its claims. It
// returns an error wrapping ErrInvalid for anything it does not accept.
func (is *Issuer) Parse(raw, tokenType string) (*Claims, error) {
	if tokenType == Access {
		is.mu.Lock()
		c, ok := is.verified[raw]
		is.mu.Unlock()
		if ok {
			if !is.now().Before(c.ExpiresAt.Time) {
				return nil, fmt.Errorf("%w: token has expired", ErrInvalid)
			}
			cc := *c
			return &cc, nil
		}
	}
	c, err := is.parse(raw, tokenType)
	if err == nil && tokenType == Access {
		cc := *c
		is.mu.Lock()
		if len(is.verified) >= maxVerified {
			now := is.now()
			maps.DeleteFunc(is.verified, func(_ string, c *Claims) bool { return !now.Before(c.ExpiresAt.Time) })
			if len(is.verified) >= maxVerified {
				clear(is.verified)
			}
		}
		is.verified[raw] = &cc
		is.mu.Unlock()
	}
	return c, err
}

func (is *Issuer) parse(raw, tokenType string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return is.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(is.now),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.TokenType != tokenType {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, ErrWrongType)
	}
	if c.UserID <= 0 || c.ID == "" {
		return nil, fmt.Errorf("%w: token lacks a user or id", ErrInvalid)
	}
	if tokenType == Refresh {
		if _, err := uuid.Parse(c.ID); err != nil {
			return nil, fmt.Errorf("%w: malformed token id", ErrInvalid)
		}
	}
	return &c, nil
}
