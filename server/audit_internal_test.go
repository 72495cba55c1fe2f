package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// TestUserDataIsUserJSON: the webhook data of a user change made in the
// admin or by tenantctl (audit.UserData) is the JSON /api/users/ shows.
func TestUserDataIsUserJSON(t *testing.T) {
	login := time.Date(2026, 12, 7, 1, 2, 3, 0, time.FixedZone("x", 3600))
	for _, u := range []tenantdb.User{
		{ID: 7, Username: "ann", Email: "ann@example.com", IsStaff: true, IsActive: true, Role: "admin",
			DateJoined: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("y", -7200)), LastLogin: &login, EmailVerified: true},
		{ID: 8, Username: "bob", Role: "member"},
	} {
		want, err := json.Marshal(newUserJSON(u))
		require.NoError(t, err)
		got, err := json.Marshal(audit.UserDataOf(u))
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(got))
	}
}
