package provision_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/provision"
)

// TestPasswordRules: every way provisioning sets a password applies the
// rules with the user's own username and email, reporting every message;
// only the demo seed's fixed password is exempt.
func TestPasswordRules(t *testing.T) {
	s, d := newService(t)
	_, err := s.Demo(t.Context())
	require.NoError(t, err, "demo123 is the seed's fixed credential")
	messages := func(t *testing.T, err error, field string) []string {
		t.Helper()
		var fe *provision.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, field, fe.Field)
		return fe.All()
	}

	t.Run("ErrCreateTenantAdmin", func(t *testing.T) {
		_, err := s.CreateTenant(t.Context(), provision.TenantParams{Schema: "acme", Name: "ACME", Domain: "acme.localhost",
			Admin: &provision.UserParams{Username: "boss", Email: "boss@acme.com", Password: "demo123"}})
		assert.Equal(t, []string{"This password is too short. It must contain at least 8 characters."}, messages(t, err, "admin_password"))
		assert.Zero(t, leftovers(t, d, "acme"))
	})
	t.Run("ErrCreateUser", func(t *testing.T) {
		_, err := s.CreateUser(t.Context(), "school1", provision.UserParams{Username: "jdoe", Email: "john.smith@school1.com", Password: "smithjohn"})
		assert.Equal(t, []string{"The password is too similar to the email address."}, messages(t, err, "password"))
		_, err = s.CreateUser(t.Context(), "school1", provision.UserParams{Username: "x", Password: "111111"})
		assert.Equal(t, []string{"This password is too short. It must contain at least 8 characters.",
			"This password is too common.", "This password is entirely numeric."}, messages(t, err, "password"))
		assert.Zero(t, count(t, d, "SELECT count(*) FROM school1.users WHERE username IN ('jdoe', 'x')"))
	})
	t.Run("ErrSetPassword", func(t *testing.T) {
		id := int64(count(t, d, "SELECT id FROM school1.users WHERE username = 'demo'"))
		_, err := s.SetUserPassword(t.Context(), "school1", id, "demo@school1")
		assert.Equal(t, []string{"The password is too similar to the email address."}, messages(t, err, "password"))
		_, err = s.SetUserPassword(t.Context(), "school1", id, "Sturdy-Glacier-71")
		assert.NoError(t, err)
	})
	t.Run("ErrSuperuser", func(t *testing.T) {
		_, err := s.CreateSuperuser(t.Context(), provision.UserParams{Username: "operator", Password: "Password"})
		assert.Equal(t, []string{"This password is too common."}, messages(t, err, "password"))
		su, err := s.CreateSuperuser(t.Context(), provision.UserParams{Username: "operator", Password: "Sturdy-Glacier-71"})
		require.NoError(t, err)
		_, err = s.SetSuperuserPasswordByID(t.Context(), su.ID, "operator99")
		assert.Equal(t, []string{"The password is too similar to the username."}, messages(t, err, "password"))
	})
	t.Run("ValidateTenant", func(t *testing.T) {
		errs := provision.ValidateTenant(provision.TenantParams{Schema: "ok", Name: "OK", Domain: "ok.localhost",
			Admin: &provision.UserParams{Username: "", Password: "qwerty"}})
		var got []string
		for _, fe := range errs {
			if fe.Field == "admin_password" {
				got = fe.All()
			}
		}
		assert.Equal(t, []string{"This password is too short. It must contain at least 8 characters.", "This password is too common."}, got)
	})
}
