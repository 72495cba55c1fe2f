package server

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzHost checks Host parsing and the ALLOWED_HOSTS match: no panic, and a
// host that parses is lower-case with no port, no trailing dot and nothing
// outside the host alphabet, so it is safe as a cache and lookup key.
func FuzzHost(f *testing.F) {
	for _, s := range []string{"school1.localhost:8000", "LOCALHOST", "[::1]:8000", "127.0.0.1", "a..b", "x.localhost.", ":80",
		"evil.com@school1.localhost", "school1.localhost:8000:1", "[::1", "", "%00", "é.localhost"} {
		f.Add(s)
	}
	allowed := []string{"localhost", "127.0.0.1", ".localhost", "[::1]"}
	f.Fuzz(func(t *testing.T, hostport string) {
		host, ok := splitHost(hostport)
		hostAllowed(host, allowed)
		if !ok {
			return
		}
		if host == "" || host != strings.ToLower(host) || strings.HasSuffix(host, ".") {
			t.Fatalf("splitHost(%q) = %q", hostport, host)
		}
		for _, r := range host {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r)) {
				t.Fatalf("splitHost(%q) = %q contains %q", hostport, host, r)
			}
		}
		if strings.Count(host, ":") > 0 && !strings.Contains(hostport, "[") {
			t.Fatalf("splitHost(%q) kept a port: %q", hostport, host)
		}
	})
}

// FuzzDecodeItem feeds arbitrary bodies to the item validator: it never
// panics, every refusal is a 4xx, and what it accepts fits the table.
func FuzzDecodeItem(f *testing.F) {
	for _, s := range []string{`{"name":"x"}`, `{"name":"","description":null}`, `[]`, `{"name":1e999}`, `{"name":"\u0000"}`,
		`{"name":"a","name":"b"}`, "\xff", `{"name":{"a":1}}`, `{"description":"only"}`, `null`, `{"name":" x "}`} {
		f.Add(s, "application/json", false)
		f.Add(s, "application/json; charset=utf-8", true)
	}
	f.Add("name=x", "application/x-www-form-urlencoded", false)
	f.Add("x", "text/plain", false)
	f.Fuzz(func(t *testing.T, body, ctype string, partial bool) {
		r := httptest.NewRequest("POST", "/api/items/", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		in, err := decodeItem(r, partial)
		if err != nil {
			ae, unexpected := toAPIError(err)
			if unexpected || ae.status < 400 || ae.status > 499 {
				t.Fatalf("body %q: %v", body, err)
			}
			return
		}
		if !partial && in.name == nil {
			t.Fatalf("body %q: accepted without a name", body)
		}
		if in.name != nil {
			n := *in.name
			if n == "" || utf8.RuneCountInString(n) > 200 || strings.ContainsRune(n, 0) || !utf8.ValidString(n) {
				t.Fatalf("body %q: accepted name %q", body, n)
			}
		}
		if in.description != nil && (strings.ContainsRune(*in.description, 0) || !utf8.ValidString(*in.description)) {
			t.Fatalf("body %q: accepted description %q", body, *in.description)
		}
	})
}
