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

// signInKeys are the throttle keys of a sign-in attempt.
func signInKeys(r *http.Request, t tenant, username string) (user, addr string) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return fmt.Sprintf("u:%d:%s", t.ID, username), "a:" + ip
}

// checkSignIn refuses an attempt whose username or address is throttled.
func (s *Server) checkSignIn(userKey, addrKey string) error {
	wait := max(s.throttle.blocked(userKey, maxFailuresPerUser), s.throttle.blocked(addrKey, maxFailuresPerAddr))
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
