package server

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Sign-in throttling limits failed attempts in a fixed window, per tenant and
// username (guessing one account's password) and per client address
// (spraying many accounts). Only failures count, so a user who signs in
// correctly is never slowed, and blocking one username does not lock out the
// tenant's other users.
const (
	throttleWindow      = 5 * time.Minute
	maxFailuresPerUser  = 5
	maxFailuresPerAddr  = 30
	maxThrottleBuckets  = 100_000
	throttleSweepPeriod = time.Minute
)

// throttle counts failures per key in fixed windows. The zero value is not
// usable; use newThrottle.
type throttle struct {
	mu        sync.Mutex
	buckets   map[string]*bucket
	now       func() time.Time
	lastSweep time.Time
}

type bucket struct {
	failures int
	resetAt  time.Time
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{buckets: map[string]*bucket{}, now: now}
}

// blocked returns how long until key may try again, or 0 if it may now.
func (t *throttle) blocked(key string, limit int) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[key]
	now := t.now()
	if !ok || !now.Before(b.resetAt) || b.failures < limit {
		return 0
	}
	return b.resetAt.Sub(now)
}

// fail records a failed attempt by key.
func (t *throttle) fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	b, ok := t.buckets[key]
	if !ok || !now.Before(b.resetAt) {
		b = &bucket{resetAt: now.Add(throttleWindow)}
		t.buckets[key] = b
	}
	b.failures++
}

// sweep drops expired buckets now and then, and everything if an attack
// fills the map, so memory stays bounded.
func (t *throttle) sweep(now time.Time) {
	if len(t.buckets) >= maxThrottleBuckets {
		clear(t.buckets)
	}
	if now.Sub(t.lastSweep) < throttleSweepPeriod {
		return
	}
	t.lastSweep = now
	for k, b := range t.buckets {
		if !now.Before(b.resetAt) {
			delete(t.buckets, k)
		}
	}
}

// signIn is a sign-in attempt's two throttle keys: the account (tenant and
// username, or a superuser's name) and the client address, whose count is
// shared by tenant and admin sign-ins.
type signIn struct{ user, addr string }

func newSignIn(r *http.Request, account string) signIn {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return signIn{user: "u:" + account, addr: "a:" + ip}
}

// tenantSignIn is the attempt of username on tenant t.
func tenantSignIn(r *http.Request, t tenant, username string) signIn {
	return newSignIn(r, fmt.Sprintf("%d:%s", t.ID, username))
}

// adminSignIn is the attempt of superuser username (API or web UI alike).
func adminSignIn(r *http.Request, username string) signIn {
	return newSignIn(r, "su:"+username)
}

// signInFailed counts a failed attempt against both keys.
func (s *Server) signInFailed(a signIn) {
	s.throttle.fail(a.user)
	s.throttle.fail(a.addr)
}

// checkSignIn refuses an attempt whose username or address is throttled.
func (s *Server) checkSignIn(a signIn) error {
	wait := max(s.throttle.blocked(a.user, maxFailuresPerUser), s.throttle.blocked(a.addr, maxFailuresPerAddr))
	if wait <= 0 {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	return &apiError{
		status: http.StatusTooManyRequests,
		body:   detail{Detail: fmt.Sprintf("Request was throttled. Expected available in %d seconds.", secs)},
		header: http.Header{"Retry-After": {strconv.Itoa(secs)}},
	}
}
