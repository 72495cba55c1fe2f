package config

import (
	"fmt"
	"net"
	"strings"
)

// signupProbe is a host signup could create under TENANT_BASE_DOMAIN (the
// hyphen keeps it from ever being a real one: subdomains have none).
const signupProbe = "tenantctl-signup-check"

// CheckSignup returns an error, one line naming the fix, when
// SIGNUP_ENABLED is on but the tenants signup creates could not be served:
//   - TENANT_BASE_DOMAIN is an IP address (x.127.0.0.1 is no host name);
//   - ALLOWED_HOSTS does not admit <anything>.<TENANT_BASE_DOMAIN>, so
//     every new tenant's host would be refused with 400;
//   - email would not be delivered (CheckMail): the owner's verification
//     email is part of signup.
//
// TENANT_BASE_DOMAIN may itself be a public host (the development default:
// localhost serves the public site, x.localhost the tenants): hosts are
// routed by exact name, a tenant's first. A public host under it
// (portal.example.com with TENANT_BASE_DOMAIN=example.com) only takes that
// subdomain out of signup, as a reserved one.
func (c Config) CheckSignup() error {
	if !c.SignupEnabled {
		return nil
	}
	base := c.TenantBaseDomain
	if net.ParseIP(strings.Trim(base, "[]")) != nil {
		return fmt.Errorf("TENANT_BASE_DOMAIN is the IP address %s, under which signup cannot create host names; set TENANT_BASE_DOMAIN to a domain (tenants get <subdomain>.<domain>), or set SIGNUP_ENABLED=false", base)
	}
	if !hostAdmitted(signupProbe+"."+base, c.AllowedHosts) {
		return fmt.Errorf("ALLOWED_HOSTS does not admit the hosts signup creates (<subdomain>.%s), so every new tenant would be refused; add .%s to ALLOWED_HOSTS, or set SIGNUP_ENABLED=false", base, base)
	}
	if err := c.CheckMail(); err != nil {
		return fmt.Errorf("signup sends a verification email: %w, or set SIGNUP_ENABLED=false", err)
	}
	return nil
}

// hostAdmitted reports whether ALLOWED_HOSTS admits host, as the server
// matches it (server.hostAllowed): "*", ".example.com" for example.com and
// every host under it, or the exact name.
func hostAdmitted(host string, allowed []string) bool {
	for _, p := range allowed {
		p = strings.ToLower(p)
		switch {
		case p == "*", p == host:
			return true
		case strings.HasPrefix(p, ".") && (host == p[1:] || strings.HasSuffix(host, p)):
			return true
		}
	}
	return false
}
