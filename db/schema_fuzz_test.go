package db

import (
	"strings"
	"testing"
)

func TestParseSchema(t *testing.T) {
	for _, ok := range []string{"school1", "_x", "a", strings.Repeat("a", 63), "acme_corp_2"} {
		if _, err := ParseSchema(ok); err != nil {
			t.Errorf("ParseSchema(%q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range []string{
		"", "public", "information_schema", "pg_catalog", "pg_x", "1abc", "School", "a-b", "a b",
		strings.Repeat("a", 64), `x"; DROP SCHEMA public CASCADE; --`, "a;b", "é", "a\x00", "a.b", `"quoted"`,
	} {
		if _, err := ParseSchema(bad); err == nil {
			t.Errorf("ParseSchema(%q) accepted an invalid name", bad)
		}
	}
}

// FuzzParseSchema checks that whatever ParseSchema accepts is a plain
// identifier that needs no escaping: quoting adds only the two quotes.
func FuzzParseSchema(f *testing.F) {
	for _, s := range []string{"school1", "public", "pg_toast", `a"b`, "A", "_", "9", "a;drop"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseSchema(s)
		if err != nil {
			return
		}
		if sc.String() != s || len(s) == 0 || len(s) > 63 || s == "public" || strings.HasPrefix(s, "pg_") {
			t.Fatalf("accepted %q", s)
		}
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				t.Fatalf("accepted %q with %q", s, r)
			}
		}
		if sc.Ident() != `"`+s+`"` {
			t.Fatalf("Ident(%q) = %s", s, sc.Ident())
		}
	})
}
