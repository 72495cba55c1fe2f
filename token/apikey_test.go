package token

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAPIKey(t *testing.T) {
	key, prefix, hash := NewAPIKey(1234)
	assert.Regexp(t, regexp.MustCompile(`^tk_live_ya_[a-z2-7]{52}$`), key)
	assert.Equal(t, key[:len("tk_live_ya_")+8], prefix)
	assert.Equal(t, HashAPIKey(key), hash)
	other, _, _ := NewAPIKey(1234)
	assert.NotEqual(t, key, other)
	id, ok := APIKeyTenant(key)
	assert.True(t, ok)
	assert.Equal(t, int64(1234), id)
	for _, bad := range []string{"", "tk_live_", "tk_live_ya", key[:len(key)-1], key + "a", "tk_test_" + key[8:],
		"tk_live_0ya_" + key[len(key)-52:], "tk_live_YA_" + key[len(key)-52:], "tk_live_ya_" + key[len(key)-52:len(key)-1] + "1"} {
		_, ok := APIKeyTenant(bad)
		assert.False(t, ok, "%q", bad)
	}
}
