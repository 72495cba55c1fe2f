package audit

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFilterActions: exact actions and prefixes go to their own query
// parameters, nil when there are none; a prefix's % _ and \ are plain.
func TestFilterActions(t *testing.T) {
	exact, prefixes := Filter{}.actions()
	assert.Nil(t, exact)
	assert.Nil(t, prefixes)
	exact, prefixes = Filter{Actions: []string{"item.created", "auth.*", "user.sign_in%.*"}}.actions()
	assert.Equal(t, []string{"item.created"}, exact)
	assert.Equal(t, []string{"auth.%", `user.sign\_in\%.%`}, prefixes)
	exact, prefixes = Filter{Actions: []string{"auth.*"}}.actions()
	assert.Nil(t, exact, "no exact action: NULL, not an empty array")
	assert.Len(t, prefixes, 1)
}

// TestChanges: the changes column reads back with both keys, and sums up
// on one line in field order.
func TestChanges(t *testing.T) {
	c, err := ParseChanges(nil)
	require.NoError(t, err)
	assert.Nil(t, c)
	assert.Empty(t, c.Summary())
	c, err = ParseChanges([]byte(`{"before": {"name": "Chalk", "n": 1}, "after": {"name": "Chalk box", "n": 2, "tags": ["a"]}}`))
	require.NoError(t, err)
	assert.Equal(t, "n: 1 -> 2, name: Chalk -> Chalk box, tags: [\"a\"]", c.Summary())
	c, err = ParseChanges([]byte(`{"before": {"username": "bob", "active": true}}`))
	require.NoError(t, err)
	assert.Nil(t, c.After)
	assert.Equal(t, "active: was true, username: was bob", c.Summary())
	_, err = ParseChanges([]byte(`[]`))
	assert.Error(t, err)
}

func TestParseTime(t *testing.T) {
	for _, v := range []string{"2026-12-07T10:00:00Z", "2026-12-07T10:00:00.5+02:00", "2026-12-07"} {
		_, err := ParseTime(v)
		assert.NoError(t, err, v)
	}
	for _, v := range []string{"", "yesterday", "2026-13-01", "2026-12-07 10:00"} {
		_, err := ParseTime(v)
		assert.Error(t, err, v)
	}
}
