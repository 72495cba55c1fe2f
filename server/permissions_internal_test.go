package server

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPermissionTable checks every cell of the role x action table against
// the rules the README promises: items are open to every role, users are
// managed by owners and admins only; an unknown role or action is denied.
func TestPermissionTable(t *testing.T) {
	want := map[action]map[string]bool{
		itemsList:   {owner: true, admin: true, member: true},
		itemsCreate: {owner: true, admin: true, member: true},
		itemsView:   {owner: true, admin: true, member: true},
		itemsUpdate: {owner: true, admin: true, member: true},
		itemsDelete: {owner: true, admin: true, member: true},
		usersList:   {owner: true, admin: true, member: false},
		usersCreate: {owner: true, admin: true, member: false},
		usersView:   {owner: true, admin: true, member: false},
		usersUpdate: {owner: true, admin: true, member: false},
		usersDelete: {owner: true, admin: true, member: false},

		invitationsList:   {owner: true, admin: true, member: false},
		invitationsCreate: {owner: true, admin: true, member: false},
		invitationsDelete: {owner: true, admin: true, member: false},
		passwordChange:    {owner: true, admin: true, member: true},
		emailResend:       {owner: true, admin: true, member: true},
	}
	assert.Len(t, permissions, len(want), "every action of the table is tested")
	for act := range permissions {
		assert.Contains(t, want, act, "action %s has no expected row", act)
	}
	for act, roles := range want {
		for _, role := range []string{owner, admin, member, "", "superuser", "Owner"} {
			t.Run(fmt.Sprintf("%s/%s", act, role), func(t *testing.T) {
				assert.Equal(t, roles[role], can(role, act))
				if roles[role] {
					assert.NoError(t, allow(role, act))
				} else {
					assert.Equal(t, errForbidden, allow(role, act))
				}
			})
		}
	}
	assert.False(t, can(owner, "reports.view"), "an action missing from the table is allowed to nobody")
}
