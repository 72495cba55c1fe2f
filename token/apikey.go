package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"strings"
)

// An API key is APIKeyStart, the id of its tenant in base 36, "_", then
// apiKeySecretLen characters of lowercase base 32 (32 random bytes). The
// fixed start lets secret scanners recognise a leaked key
// (tk_live_[0-9a-z]+_[a-z2-7]{52}); the tenant id lets a server refuse a
// key of another tenant without looking it up.
const (
	APIKeyStart        = "tk_live_"
	apiKeySecretLen    = 52
	apiKeyPrefixSecret = 8
)

// keyEncoding is the alphabet of a key's secret: lowercase base 32, which
// has no "_" (the separator) and survives being double-clicked or typed.
var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewAPIKey returns a new API key of tenant tenantID, its prefix (the
// tenant part and 8 secret characters: enough to recognise the key, not to
// use it) and its stored form (HashAPIKey).
func NewAPIKey(tenantID int64) (key, prefix string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	head := APIKeyStart + strconv.FormatInt(tenantID, 36) + "_"
	secret := keyEncoding.EncodeToString(b)
	key = head + secret
	return key, head + secret[:apiKeyPrefixSecret], HashAPIKey(key)
}

// HashAPIKey is the stored form of an API key: the SHA-256 of its whole
// text. A fast hash is right: the key is random, not a password.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// APIKeyTenant returns the tenant id a key names; ok is false for text
// that is not an API key in form.
func APIKeyTenant(key string) (tenantID int64, ok bool) {
	rest, ok := strings.CutPrefix(key, APIKeyStart)
	if !ok {
		return 0, false
	}
	tid, secret, ok := strings.Cut(rest, "_")
	if !ok || len(secret) != apiKeySecretLen {
		return 0, false
	}
	if _, err := keyEncoding.DecodeString(secret); err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(tid, 36, 64)
	if err != nil || tid != strconv.FormatInt(id, 36) {
		return 0, false
	}
	return id, true
}
