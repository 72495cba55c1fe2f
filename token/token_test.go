package token

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

func newTestIssuer() *Issuer { return NewIssuer("test-key", time.Minute, time.Hour) }

func TestIssueAndParse(t *testing.T) {
	is := newTestIssuer()
	p, err := is.IssuePair(User{ID: 7, Username: "ann", Email: "a@x.com", Tenant: "acme", TenantID: 3}, uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := is.Parse(p.Access, Access)
	if err != nil {
		t.Fatal(err)
	}
	if a.UserID != 7 || a.Tenant != "acme" || a.TenantID != 3 || a.Username != "ann" || a.Email != "a@x.com" || a.ID == "" || a.IssuedAt == nil {
		t.Fatalf("access claims: %+v", a)
	}
	r, err := is.Parse(p.Refresh, Refresh)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != p.RefreshID.String() || r.Family != p.Family.String() {
		t.Fatalf("refresh claims: %+v", r)
	}
	if _, err := is.Parse(p.Access, Refresh); err == nil {
		t.Fatal("access token accepted as refresh")
	}
	if _, err := is.Parse(p.Refresh, Access); err == nil {
		t.Fatal("refresh token accepted as access")
	}
}

func TestParseRejects(t *testing.T) {
	is := newTestIssuer()
	now := time.Now()
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"token_type": "access", "user_id": 1, "tenant": "acme", "tenant_id": 1, "jti": "j",
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	with := func(k string, v any) jwt.MapClaims { c := base(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := base(); delete(c, k); return c }
	good := sign(jwt.SigningMethodHS256, []byte("test-key"), base())
	if _, err := is.Parse(good, Access); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	parts := strings.Split(good, ".")
	cases := map[string]string{
		"alg none":        sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, base()),
		"HS384":           sign(jwt.SigningMethodHS384, []byte("test-key"), base()),
		"HS512":           sign(jwt.SigningMethodHS512, []byte("test-key"), base()),
		"other key":       sign(jwt.SigningMethodHS256, []byte("other"), base()),
		"expired":         sign(jwt.SigningMethodHS256, []byte("test-key"), with("exp", now.Add(-time.Second).Unix())),
		"no exp":          sign(jwt.SigningMethodHS256, []byte("test-key"), without("exp")),
		"not yet valid":   sign(jwt.SigningMethodHS256, []byte("test-key"), with("nbf", now.Add(time.Hour).Unix())),
		"issued ahead":    sign(jwt.SigningMethodHS256, []byte("test-key"), with("iat", now.Add(time.Hour).Unix())),
		"no user":         sign(jwt.SigningMethodHS256, []byte("test-key"), without("user_id")),
		"wrong type":      sign(jwt.SigningMethodHS256, []byte("test-key"), with("token_type", "refresh")),
		"tampered tenant": parts[0] + "." + tamper(t, parts[1], "acme", "evil") + "." + parts[2],
		"tampered user":   parts[0] + "." + tamper(t, parts[1], `"user_id":1`, `"user_id":2`) + "." + parts[2],
		"garbage":         "a.b.c",
		"empty":           "",
	}
	for name, tok := range cases {
		if _, err := is.Parse(tok, Access); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// tamper replaces old with new inside a base64url JWT segment.
func tamper(t *testing.T, seg, old, new string) string {
	b, err := jwt.NewParser().DecodeSegment(seg)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), old, new, 1)
	if s == string(b) {
		t.Fatalf("%q not in %s", old, b)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// FuzzParse feeds arbitrary strings, and mutations of a real token, to Parse:
// it must never panic, and must accept nothing it did not sign.
func FuzzParse(f *testing.F) {
	is := newTestIssuer()
	p, _ := is.IssuePair(User{ID: 1, Tenant: "acme", TenantID: 1}, uuid.Nil)
	f.Add(p.Access)
	f.Add(p.Refresh)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("...")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := is.Parse(raw, Access)
		if err == nil && raw != p.Access {
			// Only a token signed with the key can pass; a byte-different
			// encoding of the same signed token is impossible for HS256 JWS
			// except through the header/payload base64 padding-free forms.
			if c.UserID != 1 || c.Tenant != "acme" {
				t.Fatalf("accepted a token not issued: %q", raw)
			}
		}
	})
}

// TestVerifiedCache checks that a remembered access token still expires, and
// that only the exact token text is remembered.
func TestVerifiedCache(t *testing.T) {
	now := time.Now()
	is := newTestIssuer()
	is.now = func() time.Time { return now }
	p, err := is.IssuePair(User{ID: 1, Tenant: "acme", TenantID: 1}, uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := is.Parse(p.Access, Access); err != nil {
		t.Fatal(err)
	}
	if _, err := is.Parse(p.Access, Access); err != nil {
		t.Fatalf("second use: %v", err)
	}
	if _, err := is.Parse(p.Access[:len(p.Access)-2]+"xx", Access); err == nil {
		t.Fatal("a different token text was accepted")
	}
	if _, err := is.Parse(p.Access, Refresh); err == nil {
		t.Fatal("a remembered access token was accepted as refresh")
	}
	now = now.Add(time.Hour)
	if _, err := is.Parse(p.Access, Access); err == nil {
		t.Fatal("a remembered token outlived its expiry")
	}
}
