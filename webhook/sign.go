// Package webhook delivers a tenant's events to the HTTP endpoints its
// owners register, as the Standard Webhooks spec (standardwebhooks.com)
// describes: each POST is signed with the endpoint's secret, carries a
// message id that stays the same on every retry (for the receiver's
// de-duplication), and is retried with exponential backoff for about a
// day. An endpoint that fails for that whole window is disabled and the
// tenant's owners are told by email.
//
// The outbox rows and their jobs are written by package audit in the
// transaction of the change; this package's worker (Register) sends them.
// Deliveries never reach private, loopback or link-local addresses, checked
// on the address actually connected to (NewClient), unless allowed for
// development.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix starts a secret as it is shown: "whsec_" and the key's
// base64, the form the Standard Webhooks libraries take.
const secretPrefix = "whsec_"

// secretBytes is the length of a new key: 256 bits, as long as the
// HMAC-SHA256 output (the spec asks for 24 to 64 bytes).
const secretBytes = 32

// NewSecret returns a new random signing key.
func NewSecret() []byte {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b
}

// FormatSecret is key as shown to the endpoint's owner: whsec_<base64>.
func FormatSecret(key []byte) string {
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// ParseSecret returns the key of a secret in the form FormatSecret writes
// (the "whsec_" prefix may be left out).
func ParseSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook secret: not whsec_ followed by base64")
	}
	return key, nil
}

// Sign returns the webhook-signature header of message id sent at ts with
// body: "v1," and the base64 of HMAC-SHA256(key, "{id}.{ts}.{body}").
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Tolerance is how far a delivery's webhook-timestamp may be from the
// receiver's clock before Verify refuses it (a replayed request).
const Tolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrTimestamp      = errors.New("webhook: timestamp missing, malformed or too far from now")
	ErrSignature      = errors.New("webhook: no matching signature")
)

// Verify checks a received delivery, as a receiver should before trusting
// it: its headers h and its raw body (read whole, unchanged) against the
// endpoint's secret (whsec_...). It returns nil, ErrMissingHeaders,
// ErrTimestamp (more than Tolerance from now: a replay), ErrSignature, or
// the error of a malformed secret. Receivers de-duplicate on the
// webhook-id header, which is the same on every retry of one event.
func Verify(secret string, h http.Header, body []byte) error {
	return VerifyAt(secret, h, body, time.Now())
}

// VerifyAt is Verify with now as the receiver's clock.
func VerifyAt(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	at := time.Unix(unix, 0)
	if at.Before(now.Add(-Tolerance)) || at.After(now.Add(Tolerance)) {
		return ErrTimestamp
	}
	want := Sign(key, id, at, body)
	// The header may hold several space-separated signatures (a key being
	// rotated, other versions); one match is enough.
	for _, sig := range strings.Fields(sigs) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return ErrSignature
}

// sign sets the headers of one attempt of message id with body.
func sign(h http.Header, key []byte, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(key, id, ts, body))
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
}

// UserAgent is the User-Agent of every delivery.
var UserAgent = fmt.Sprintf("tenantctl-webhooks/1 (+%s)", "https://github.com/tenantctl/tenantctl")
