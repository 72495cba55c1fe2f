package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// NewSecret returns a new single-use secret for a link (invitation,
// password reset, email verification): raw goes in the link and nowhere
// else, hash is what is stored. 32 random bytes, so the hash is enough to
// find it and a database dump reveals no usable link.
func NewSecret() (raw string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, HashSecret(raw)
}

// HashSecret is the stored form of a secret from NewSecret: its SHA-256.
// A fast hash is right here: the secret is random, not a password, so it
// cannot be guessed from its hash.
func HashSecret(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}
