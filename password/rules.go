package password

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"unicode"
)

// The password rules: Django's four default AUTH_PASSWORD_VALIDATORS, with
// their messages, in their order. Every flow that sets a password a person
// chose (provisioning, the tenant's user management, password change and
// reset, invitations, signup) checks it with Check, so the rules live here
// and nowhere else.

// MinLength is the shortest password accepted (Django's
// MinimumLengthValidator default).
const MinLength = 8

// MaxSimilarity is how similar to a user attribute a password may not be
// (Django's UserAttributeSimilarityValidator default): a ratio of 0.7 or
// more is refused.
const MaxSimilarity = 0.7

// Attr is one attribute of the user a password is set for, which the
// password must not resemble. Name is how the message calls it.
type Attr struct {
	Name  string
	Value string
}

// Username is the attribute Attr of a username.
func Username(v string) Attr { return Attr{Name: "username", Value: v} }

// Email is the attribute Attr of an email address. Besides the whole
// address and its parts (as Django splits it), the part before @ is
// compared on its own.
func Email(v string) Attr { return Attr{Name: "email address", Value: v} }

//go:embed common-passwords.txt
var commonList string

// common holds the lower-cased common passwords, parsed once at start-up.
var common = func() map[string]struct{} {
	m := make(map[string]struct{}, 5000)
	sc := bufio.NewScanner(strings.NewReader(commonList))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[strings.ToLower(line)] = struct{}{}
	}
	return m
}()

// Check returns every rule plain breaks, as Django's messages in Django's
// order (DRF answers them all as one list), or nil when it breaks none:
//   - too similar to one of attrs (at most one message, for the first
//     attribute it resembles, as Django stops at it);
//   - shorter than MinLength characters;
//   - one of the common passwords (compared case-insensitively, ignoring
//     surrounding space);
//   - entirely numeric.
func Check(plain string, attrs ...Attr) []string {
	var msgs []string
	if a, ok := similarTo(plain, attrs); ok {
		msgs = append(msgs, fmt.Sprintf("The password is too similar to the %s.", a.Name))
	}
	if len([]rune(plain)) < MinLength {
		msgs = append(msgs, fmt.Sprintf("This password is too short. It must contain at least %d characters.", MinLength))
	}
	if _, ok := common[strings.ToLower(strings.TrimSpace(plain))]; ok {
		msgs = append(msgs, "This password is too common.")
	}
	if isNumeric(plain) {
		msgs = append(msgs, "This password is entirely numeric.")
	}
	return msgs
}

// isNumeric is Python's str.isdigit, as Django's NumericPasswordValidator
// uses it: true for a non-empty string of digits only.
func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// similarTo returns the first attribute plain is too similar to, as
// Django's UserAttributeSimilarityValidator finds it: the lower-cased
// password against the lower-cased value and each of its \W+-separated
// parts, by difflib's quick_ratio, skipping parts so short next to the
// password that no ratio could matter.
func similarTo(plain string, attrs []Attr) (Attr, bool) {
	pw := []rune(strings.ToLower(plain))
	for _, a := range attrs {
		if a.Value == "" {
			continue
		}
		for _, part := range valueParts(a) {
			v := []rune(part)
			if exceedsLengthRatio(len(pw), len(v)) {
				continue
			}
			if quickRatio(pw, v) >= MaxSimilarity {
				return a, true
			}
		}
	}
	return Attr{}, false
}

// valueParts are the strings of a that a password is compared with: the
// parts of its lower-cased value between runs of non-word characters,
// the whole value, and for an email address the part before @.
func valueParts(a Attr) []string {
	v := strings.ToLower(a.Value)
	parts := strings.FieldsFunc(v, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_')
	})
	parts = append(parts, v)
	if a.Name == "email address" {
		if local, _, ok := strings.Cut(v, "@"); ok && local != "" {
			parts = append(parts, local)
		}
	}
	return parts
}

// exceedsLengthRatio is Django's exceeds_maximum_length_ratio: a password
// at least ten times as long as a value shorter than MaxSimilarity/2 of the
// password's length cannot be too similar to it.
func exceedsLengthRatio(pwLen, valueLen int) bool {
	bound := MaxSimilarity / 2 * float64(pwLen)
	return pwLen >= 10*valueLen && float64(valueLen) < bound
}

// quickRatio is difflib.SequenceMatcher(a=a, b=b).quick_ratio(): twice the
// number of characters the two have in common (as multisets) over their
// total length.
func quickRatio(a, b []rune) float64 {
	if len(a)+len(b) == 0 {
		return 1
	}
	counts := map[rune]int{}
	for _, r := range b {
		counts[r]++
	}
	matches := 0
	for _, r := range a {
		if counts[r] > 0 {
			counts[r]--
			matches++
		}
	}
	return 2 * float64(matches) / float64(len(a)+len(b))
}
