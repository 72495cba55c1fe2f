package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckSignup(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		err  string
	}{
		{"OKDevelopmentDefaults", nil, ""},
		{"OKWildcard", map[string]string{"ALLOWED_HOSTS": "*", "TENANT_BASE_DOMAIN": "example.com"}, ""},
		{"OKParentDomain", map[string]string{"ALLOWED_HOSTS": ".example.com", "TENANT_BASE_DOMAIN": "apps.example.com"}, ""},
		{"OKBaseIsPublicHost", map[string]string{"ALLOWED_HOSTS": ".example.com", "PUBLIC_HOSTS": "example.com", "TENANT_BASE_DOMAIN": "example.com"}, ""},
		{"OKDisabled", map[string]string{"SIGNUP_ENABLED": "false", "ALLOWED_HOSTS": "api.example.com", "TENANT_BASE_DOMAIN": "example.com"}, ""},
		{"OKProductionDisabledByDefault", map[string]string{"APP_ENV": "production", "ALLOWED_HOSTS": "api.example.com"}, ""},
		{
			"ErrHostsNotAllowed", map[string]string{"ALLOWED_HOSTS": "example.com,www.example.com", "TENANT_BASE_DOMAIN": "example.com"},
			"ALLOWED_HOSTS does not admit the hosts signup creates (<subdomain>.example.com), so every new tenant would be refused; add .example.com to ALLOWED_HOSTS, or set SIGNUP_ENABLED=false",
		},
		{
			"ErrIPBase", map[string]string{"ALLOWED_HOSTS": "*", "TENANT_BASE_DOMAIN": "127.0.0.1"},
			"TENANT_BASE_DOMAIN is the IP address 127.0.0.1",
		},
		{
			"ErrProductionWithoutMail", map[string]string{"APP_ENV": "production", "SIGNUP_ENABLED": "true", "ALLOWED_HOSTS": ".example.com", "TENANT_BASE_DOMAIN": "example.com"},
			"signup sends a verification email: SMTP_URL is not set",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.env))
			require.NoError(t, err)
			err = c.CheckSignup()
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.err)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}
