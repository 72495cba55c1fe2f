package password

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheck(t *testing.T) {
	const (
		short   = "This password is too short. It must contain at least 8 characters."
		common  = "This password is too common."
		numeric = "This password is entirely numeric."
		user    = "The password is too similar to the username."
		email   = "The password is too similar to the email address."
	)
	alice := []Attr{Username("alice.walker"), Email("awalker@example.org")}
	tests := []struct {
		name  string
		plain string
		attrs []Attr
		want  []string
	}{
		{"OK", "correct horse battery", alice, nil},
		{"OKNoAttrs", "tr0ub4dor&3x", nil, nil},
		{"OKEightChars", "g7#kQz!p", nil, nil},
		{"ErrTooShort", "g7#kQz!", nil, []string{short}},
		{"ErrTooShortCountsRunes", "äöüßéèê", nil, []string{short}},
		{"OKEightRunes", "äöüßéèêx", nil, nil},
		{"ErrEmpty", "", nil, []string{short}},
		{"ErrCommon", "password1", nil, []string{common}},
		{"ErrCommonCaseInsensitive", "PassWord1", nil, []string{common}},
		{"ErrCommonTrimmed", " sunshine ", nil, []string{common}},
		{"ErrCommonAndShort", "dragon", nil, []string{short, common}},
		{"ErrNumeric", "73926418273", nil, []string{numeric}},
		{"ErrNumericShortCommon", "123456", nil, []string{short, common, numeric}},
		{"OKNotEntirelyNumeric", "73926418273a", nil, nil},
		// Django's own case: testclient / testclient@example.com.
		{"ErrUsername", "testclient", []Attr{Username("testclient"), Email("testclient@example.com")}, []string{user}},
		{"ErrEmailDomain", "example.com", []Attr{Email("testclient@example.com")}, []string{email}},
		{"ErrUsernameCase", "ALICE.WALKER", alice, []string{user}},
		{"ErrUsernamePart", "walker11", alice, []string{user}},
		{"ErrEmailLocalPart", "awalker99", []Attr{Username("bob"), Email("awalker@example.org")}, []string{email}},
		{"ErrEmailWhole", "awalker@example.org!", alice, []string{email}},
		{"OnlyFirstSimilarAttr", "alicewalker", []Attr{Username("alicewalker"), Email("alicewalker@x.io")}, []string{user}},
		{"OKLongPasswordShortValue", "a very long passphrase about al", []Attr{Username("al")}, nil},
		{"ErrAll", "1234", []Attr{Username("1234")}, []string{user, short, common, numeric}},
		{"EmptyAttrIgnored", "g7#kQz!p", []Attr{Username(""), Email("")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Check(tt.plain, tt.attrs...))
		})
	}
}

func TestQuickRatio(t *testing.T) {
	// difflib.SequenceMatcher(a="abcd", b="bcde").quick_ratio() == 0.75
	assert.InDelta(t, 0.75, quickRatio([]rune("abcd"), []rune("bcde")), 1e-9)
	assert.InDelta(t, 1.0, quickRatio([]rune("abc"), []rune("cba")), 1e-9)
	assert.InDelta(t, 0.0, quickRatio([]rune("abc"), []rune("xyz")), 1e-9)
}

func TestCommonListLoaded(t *testing.T) {
	assert.GreaterOrEqual(t, len(common), 4900)
	_, ok := common["qwerty"]
	assert.True(t, ok)
}
