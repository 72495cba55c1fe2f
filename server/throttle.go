package server

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/telemetry"
)

// Sign-in throttling (SECURITY.md) limits the sign-in attempts of a client
// address, in fixed windows:
//   - per account and address (guessing one account's password): an
//     attacker who uses up an account's attempts from their address does
//     not lock out its owner, who signs in from another;
//   - per address over every account, tenant and admin alike (spraying).
//
// There is deliberately no limit per account alone: whoever could reach it
// could lock any user out, superusers too, forever.
//
// The counts live in PostgreSQL (public.signin_attempts), so every server
// process counts against the same limits. An attempt is counted BEFORE its
// password is hashed, in a statement of its own sent just before the one
// that looks the user up: of N guesses sent at once, only the limit's worth
// are ever evaluated. A correct password gives its attempt back, in the
// transaction that records the sign-in, so correct sign-ins never count,
// and a refused attempt is not counted at all (the database takes it back
// at once).
//
// The counts and the tenant's users are never read in one statement: on
// Citus a statement that reads a tenant's tables runs on the tenant's
// worker, where public (and signin_attempts) does not exist.
const (
	throttleWindow     = 5 * time.Minute
	maxAttemptsPerUser = 5  // per account and client address
	maxAttemptsPerAddr = 30 // per client address
)

// windowSecs is throttleWindow as the database functions take it.
const windowSecs = int32(throttleWindow / time.Second)

// signIn is a sign-in attempt's throttle keys and the limit of each.
type signIn struct {
	keys   [][]byte
	limits []int32
}

// newSignIn is the attempt on account (a namespaced account name) from the
// request's client address.
func newSignIn(r *http.Request, account string) signIn {
	addr := clientAddr(r)
	return signIn{
		keys:   [][]byte{throttleKey("account", account, addr), throttleKey("addr", addr)},
		limits: []int32{maxAttemptsPerUser, maxAttemptsPerAddr},
	}
}

// tenantSignIn is the attempt of username on tenant t.
func tenantSignIn(r *http.Request, t tenant, username string) signIn {
	return newSignIn(r, "tenant "+strconv.FormatInt(t.ID, 10)+" "+username)
}

// startSignIn counts attempt a on tenant schema s, then looks up the user
// it names (id 0 for none): two statements, each one round trip in an
// implicit transaction of its own, which commits the count before any
// password is hashed. A throttled attempt is refused (429) unlooked-up.
func (s *Server) startSignIn(ctx context.Context, schema db.Schema, a signIn, username string) (tenantdb.SignInUserRow, error) {
	return db.ReadTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.SignInUserRow, error) {
		wait, err := q.Throttle(ctx, tenantdb.ThrottleParams{Keys: a.keys, Limits: a.limits, WindowSecs: windowSecs})
		if err != nil {
			return tenantdb.SignInUserRow{}, err
		}
		if wait > 0 {
			s.metrics.SignInThrottled(telemetry.SurfaceTenant)
			return tenantdb.SignInUserRow{}, errThrottled(wait)
		}
		return q.SignInUser(ctx, username)
	})
}

// adminSignIn is the attempt of superuser username (API or web UI alike).
func adminSignIn(r *http.Request, username string) signIn {
	return newSignIn(r, "superuser "+username)
}

// throttleKey is the SHA-256 of parts, each length-prefixed so that no two
// lists of parts share a key. A hash keeps the table's keys one size however
// long a username a client sends, and keeps names and addresses out of it.
func throttleKey(parts ...string) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(binary.AppendUvarint(nil, uint64(len(p))))
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// clientAddr is the address a request's limits count against: the TCP
// peer's IP (no proxy header is trusted: nothing configures one). An IPv6
// client counts by its /64, the block one subscriber gets, since anyone with
// a /64 has 2^64 addresses to rotate through.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// errThrottled is the 429 of an attempt refused for wait seconds, in DRF's
// words.
func errThrottled(wait int32) *apiError {
	return &apiError{
		status: http.StatusTooManyRequests,
		body:   detail{Detail: fmt.Sprintf("Request was throttled. Expected available in %d seconds.", wait)},
		header: http.Header{"Retry-After": {strconv.Itoa(int(wait))}},
	}
}
