package server

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantctl/tenantctl/db/tenantdb"
)

// TestPermissionTable checks every cell of the role x action table against
// the rules the README promises: items are open to every role, users and
// API keys are managed by owners and admins only; an unknown role or action is denied.
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
		auditList:         {owner: true, admin: true, member: false},

		webhooksList:   {owner: true, admin: true, member: false},
		webhooksCreate: {owner: true, admin: true, member: false},
		webhooksUpdate: {owner: true, admin: true, member: false},
		webhooksDelete: {owner: true, admin: true, member: false},
		webhooksTest:   {owner: true, admin: true, member: false},
		apiKeysList:    {owner: true, admin: true, member: false},
		apiKeysCreate:  {owner: true, admin: true, member: false},
		apiKeysDelete:  {owner: true, admin: true, member: false},
	}
	assert.Len(t, permissions, len(want), "every action of the table is tested")
	for act := range permissions {
		assert.Contains(t, want, act, "action %s has no expected row", act)
	}
	for act, roles := range want {
		for _, role := range []string{owner, admin, member, "", "superuser", "Owner"} {
			t.Run(fmt.Sprintf("%s/%s", act, role), func(t *testing.T) {
				assert.Equal(t, roles[role], can(role, act))
				u := tenantdb.User{Role: role}
				if roles[role] {
					assert.NoError(t, auth{}.allow(u, act))
				} else {
					assert.Equal(t, errForbidden, auth{}.allow(u, act))
				}
			})
		}
	}
	assert.False(t, can(owner, "reports.view"), "an action missing from the table is allowed to nobody")
}

// TestKeyScopes checks which API keys may do what: read keys read, only
// read_write keys write, and a user's own account is for users alone,
// whatever the key's creator's role.
func TestKeyScopes(t *testing.T) {
	owns := tenantdb.User{Role: owner}
	for _, c := range []struct {
		act         action
		read, write bool
	}{
		{itemsList, true, true},
		{itemsView, true, true},
		{itemsCreate, false, true},
		{itemsUpdate, false, true},
		{itemsDelete, false, true},
		{usersList, true, true},
		{usersCreate, false, true},
		{invitationsCreate, false, true},
		{webhooksList, true, true},
		{webhooksCreate, false, true},
		{webhooksUpdate, false, true},
		{webhooksDelete, false, true},
		{webhooksTest, false, true},
		{passwordChange, false, false},
		{emailResend, false, false},
		{auditList, true, true},
		{apiKeysList, false, false}, // a key cannot manage keys
		{apiKeysCreate, false, false},
		{apiKeysDelete, false, false},
		{"reports.view", false, false},
	} {
		t.Run(string(c.act), func(t *testing.T) {
			assert.Equal(t, c.read, keyMay(scopeRead, c.act))
			assert.Equal(t, c.write, keyMay(scopeReadWrite, c.act))
			assert.Equal(t, c.write, auth{key: &apiKey{scope: scopeReadWrite}}.allow(owns, c.act) == nil)
			assert.False(t, keyMay("", c.act), "a key of no known scope may do nothing")
		})
	}
	member := tenantdb.User{Role: member}
	assert.Equal(t, errForbidden, auth{key: &apiKey{scope: scopeReadWrite}}.allow(member, usersList),
		"a key has no more rights than its creator's role")
}
