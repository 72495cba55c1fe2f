package provision_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
)

func TestTenantUsers(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: "acme", Name: "ACME", Domain: "acme.example.com",
		Admin: &provision.UserParams{Username: "boss", Email: "boss@acme.com", Password: "s3cret-pass", Staff: true}})
	require.NoError(t, err)
	for i := range 3 {
		_, err := s.CreateUser(ctx, "acme", provision.UserParams{Username: fmt.Sprintf("user_%d", i), Email: fmt.Sprintf("u%d@other.org", i), Password: "longenough"})
		require.NoError(t, err)
	}
	_, err = s.CreateUser(ctx, "acme", provision.UserParams{Username: "pct", Email: "r%b@x.org", Password: "longenough"})
	require.NoError(t, err)

	t.Run("List", func(t *testing.T) {
		p, err := s.ListUsers(ctx, "acme", provision.Query{Limit: 2})
		require.NoError(t, err)
		assert.EqualValues(t, 5, p.Total)
		require.Len(t, p.Items, 2)
		assert.Equal(t, "boss", p.Items[0].Username)
		assert.True(t, p.Items[0].IsStaff)
		assert.True(t, p.Items[0].IsActive)

		p, err = s.ListUsers(ctx, "acme", provision.Query{Limit: 2, Offset: 4})
		require.NoError(t, err)
		assert.Len(t, p.Items, 1)
		assert.EqualValues(t, 5, p.Total)

		p, err = s.ListUsers(ctx, "acme", provision.Query{Limit: 2, Offset: 10})
		require.NoError(t, err)
		assert.Empty(t, p.Items)
		assert.EqualValues(t, 5, p.Total, "the total is known past the end too")
	})
	t.Run("Search", func(t *testing.T) {
		for search, want := range map[string]int64{
			"":             5,
			"USER_":        3, // case-insensitive
			"user\\_":      0, // a backslash is a plain character
			"r%":           1, // % is matched literally: only r%b@x.org
			"r_":           3, // _ is matched literally: user_0..2
			"other.org":    3, // email
			"\x00boss\xff": 1, // NUL and invalid UTF-8 are dropped, not a database error
			"nobody":       0,
		} {
			p, err := s.ListUsers(ctx, "acme", provision.Query{Search: search, Limit: 10})
			require.NoError(t, err, "%q", search)
			assert.Equal(t, want, p.Total, "search %q", search)
		}
	})
	boss, err := db.InTenantV(ctx, d.Pool, db.MustParseSchema("acme"), func(q *tenantdb.Queries) (tenantdb.User, error) {
		return q.GetUserByUsername(ctx, "boss")
	})
	require.NoError(t, err)
	t.Run("Get", func(t *testing.T) {
		u, err := s.GetUser(ctx, "acme", boss.ID)
		require.NoError(t, err)
		assert.Equal(t, "boss@acme.com", u.Email)
		_, err = s.GetUser(ctx, "acme", 9999)
		assert.ErrorIs(t, err, provision.ErrNotFound)
		_, err = s.GetUser(ctx, "nobody", boss.ID)
		assert.ErrorIs(t, err, provision.ErrNotFound)
	})
	t.Run("Deactivate", func(t *testing.T) {
		_, err := d.Pool.Exec(ctx, `INSERT INTO acme.refresh_tokens (jti, family, user_id, expires_at)
			VALUES (gen_random_uuid(), gen_random_uuid(), $1, now() + interval '1 day')`, boss.ID)
		require.NoError(t, err)
		u, err := s.SetUserActive(ctx, "acme", boss.ID, false)
		require.NoError(t, err)
		assert.False(t, u.IsActive)
		assert.Zero(t, count(t, d, "SELECT count(*) FROM acme.refresh_tokens WHERE revoked_at IS NULL"))
		u, err = s.SetUserActive(ctx, "acme", boss.ID, true)
		require.NoError(t, err)
		assert.True(t, u.IsActive)
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM acme.users WHERE username = 'boss' AND is_active"))
		_, err = s.SetUserActive(ctx, "acme", 9999, false)
		assert.ErrorIs(t, err, provision.ErrNotFound)
	})
	t.Run("SetPassword", func(t *testing.T) {
		_, err := d.Pool.Exec(ctx, `INSERT INTO acme.refresh_tokens (jti, family, user_id, expires_at)
			VALUES (gen_random_uuid(), gen_random_uuid(), $1, now() + interval '1 day')`, boss.ID)
		require.NoError(t, err)
		_, err = s.SetUserPassword(ctx, "acme", boss.ID, "new-password")
		require.NoError(t, err)
		hash := ""
		require.NoError(t, d.Pool.QueryRow(ctx, "SELECT password_hash FROM acme.users WHERE id = $1", boss.ID).Scan(&hash))
		ok, err := password.NewHasher(1).Verify(ctx, "new-password", hash)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Zero(t, count(t, d, "SELECT count(*) FROM acme.refresh_tokens WHERE revoked_at IS NULL"))

		_, err = s.SetUserPassword(ctx, "acme", boss.ID, "short")
		var fe *provision.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "password", fe.Field)
		_, err = s.SetUserPassword(ctx, "acme", boss.ID, "")
		require.ErrorAs(t, err, &fe)
		_, err = s.SetUserPassword(ctx, "acme", 9999, "new-password")
		assert.ErrorIs(t, err, provision.ErrNotFound)
	})
	t.Run("ErrProvisioningTenant", func(t *testing.T) {
		_, err := d.Pool.Exec(ctx, `INSERT INTO clients (schema_name, name) VALUES ('halfmade', 'Half')`)
		require.NoError(t, err)
		_, err = s.ListUsers(ctx, "halfmade", provision.Query{})
		assert.ErrorIs(t, err, provision.ErrNotFound)
	})
	t.Run("ErrSchemaDroppedUnderneath", func(t *testing.T) {
		// A tenant whose schema vanished between the check and the query.
		_, err := d.Pool.Exec(ctx, `INSERT INTO clients (schema_name, name, state) VALUES ('ghost', 'Ghost', 'ready')`)
		require.NoError(t, err)
		_, err = s.ListUsers(ctx, "ghost", provision.Query{})
		assert.ErrorIs(t, err, provision.ErrNotFound)
	})
}

func TestActiveSuperuser(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	su, err := s.CreateSuperuser(ctx, provision.UserParams{Username: "root", Password: "rootpass"})
	require.NoError(t, err)

	_, err = s.ActiveSuperuser(ctx, su.ID)
	require.NoError(t, err)
	_, err = d.Pool.Exec(ctx, "UPDATE superusers SET is_active = false")
	require.NoError(t, err)
	_, err = s.ActiveSuperuser(ctx, su.ID)
	assert.ErrorIs(t, err, provision.ErrNotFound)
}

// TestUserRoles: a tenant's first user is its owner; a user created later
// gets the role asked for, or admin for a staff user and member otherwise.
func TestUserRoles(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	_, err := s.CreateTenant(ctx, provision.TenantParams{Schema: "acme", Name: "ACME", Domain: "acme.example.com",
		Admin: &provision.UserParams{Username: "boss", Password: "s3cret-pass", Role: provision.RoleMember}})
	require.NoError(t, err)
	for _, c := range []struct {
		p    provision.UserParams
		want string
	}{
		{provision.UserParams{Username: "pupil", Password: "longenough"}, provision.RoleMember},
		{provision.UserParams{Username: "clerk", Password: "longenough", Staff: true}, provision.RoleAdmin},
		{provision.UserParams{Username: "deputy", Password: "longenough", Role: provision.RoleOwner}, provision.RoleOwner},
	} {
		u, err := s.CreateUser(ctx, "acme", c.p)
		require.NoError(t, err)
		assert.Equal(t, c.want, u.Role, c.p.Username)
	}
	assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM acme.users WHERE username = 'boss' AND role = 'owner'"))
	_, err = s.CreateUser(ctx, "acme", provision.UserParams{Username: "bad", Password: "longenough", Role: "boss"})
	var fe *provision.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "role", fe.Field)
}
