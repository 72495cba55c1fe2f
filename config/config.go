// Package config reads the product's configuration from the environment.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/mail"
)

// InsecureSecretKey is the development default of SECRET_KEY, used when
// SECRET_KEY is unset. It is public (it is in this source), so serve refuses
// it when APP_ENV=production.
const InsecureSecretKey = "insecure-dev-secret-key-change-me-in-production"

// MinSecretKeyBytes is the shortest SECRET_KEY production accepts: an HS256
// key should hold at least as many bytes as the hash's 256-bit output.
const MinSecretKeyBytes = 32

// publishedSecretKeys are the keys that ever appeared in this repository's
// runtime files (compose.yaml, .env.example, the docs): anyone can read them,
// so anyone could forge admin and tenant tokens signed with them. Deleting a
// key from a file does not unpublish it (it stays in the history and in
// copies of the file), so a key stays in this list for good.
var publishedSecretKeys = []string{
	InsecureSecretKey,
	// compose.yaml's fallback until issue #9; compose now fails without SECRET_KEY.
	"insecure-compose-dev-secret-key-change-me",
	// Not a key, but a 64-hex-digit value in the repository (the Citus
	// source's sha256 in scripts/citus-build.sh): as public as any.
	"18d569ded553e5896e4e0bed290444dc7ec637dd894939f35801ce49d44c3fa4",
}

// placeholderWords mark a key copied from an example rather than generated;
// none occurs in a random hex or base64 key.
var placeholderWords = []string{"insecure", "changeme", "change-me", "change_me", "example", "placeholder"}

// Config is the whole configuration, read once at start-up.
type Config struct {
	DatabaseURL string
	// DatabaseDirectURL reaches PostgreSQL itself, not a pooler: migrations
	// (session advisory locks, dbmate) and the LISTEN for routing changes
	// need a session of their own. Defaults to DatabaseURL.
	DatabaseDirectURL string
	SecretKey         string
	Env               string
	ListenAddr        string
	AllowedHosts      []string
	// PublicHosts are the hosts of the public site (welcome page, admin,
	// signup): exact names, no wildcards. An allowed host that is neither a
	// public host nor a tenant's domain answers 404, as django-tenants does.
	PublicHosts        []string
	CORSAllowedOrigins []string
	AccessTokenTTL     time.Duration
	RefreshTokenTTL    time.Duration
	LogLevel           slog.Level
	LogFormat          string
	// MaxSchemasPerConn and MaxPlansPerConn bound each pooled connection's
	// backend memory (db.Limits).
	MaxSchemasPerConn int
	MaxPlansPerConn   int
	// RoutingCacheHosts bounds the in-process cache of tenants' hosts, and
	// RoutingCacheUnknownHosts that of hosts that are no tenant's (kept
	// apart, so a flood of unknown hosts cannot evict tenants): each is an
	// LRU.
	RoutingCacheHosts        int
	RoutingCacheUnknownHosts int
	// PoolSize, PoolParts and TenantMaxConns shape the pool (db.Limits;
	// 0 for the default), TenantQueueWait how long a tenant's transaction
	// over its cap waits before 503 tenant_busy.
	PoolSize        int
	PoolParts       int
	TenantMaxConns  int
	TenantQueueWait time.Duration
	// Workers is how many background jobs serve runs at once; 0 runs none
	// (an API-only replica), jobs are still enqueued.
	Workers int
	// SMTPURL is where email goes (mail.ParseURL); "" writes it to the log,
	// which CheckMail refuses in production.
	SMTPURL string
	// SMTP is SMTPURL parsed; zero when SMTPURL is "".
	SMTP mail.Settings
	// MailFrom is the From address of every email.
	MailFrom string

	// Accounts (issue #12).
	//
	// FrontendURL, if set, is where the links of account emails point: a
	// template with {host} (the tenant's domain), {token} and optionally
	// {kind} (invite, reset or verify). "" points them at the product's own
	// pages, /accounts/<kind>/<token>/ on the tenant's domain.
	FrontendURL string
	// InvitationTTL, PasswordResetTTL and EmailVerificationTTL are how
	// long the links of those emails work.
	InvitationTTL        time.Duration
	PasswordResetTTL     time.Duration
	EmailVerificationTTL time.Duration
	// TenantRetention is how long a softly deleted tenant is kept
	// (restorable) before the daily purge job drops it.
	TenantRetention time.Duration
	// AuditRetention is how long each tenant's audit log keeps an entry
	// before the daily prune job deletes it; 0 keeps every entry.
	AuditRetention time.Duration
	// RequireVerifiedEmail refuses sign-in (403) to users whose email
	// address is not verified.
	RequireVerifiedEmail bool
	// SignupEnabled turns POST /api/signup/ on (development and test
	// default) or off (production default).
	SignupEnabled bool
	// TenantBaseDomain is the domain under which signup creates tenants:
	// <subdomain>.<TenantBaseDomain>.
	TenantBaseDomain string
	// ReservedSubdomains can never be signed up for.
	ReservedSubdomains []string

	// Metrics and traces (telemetry package).
	//
	// MetricsAddr is where /metrics is served, on a listener of its own; ""
	// serves none.
	MetricsAddr string
	// MetricsTopTenants is how many of the busiest tenants get series of
	// their own; the others count as "other".
	MetricsTopTenants int
	// Tracing is the span export; its zero value traces nothing.
	Tracing Tracing

	// Webhooks (package webhook).
	//
	// WebhookAllowPrivate lets webhook endpoints be on loopback, private
	// and link-local addresses (development and tests); off, such an
	// address is refused when the endpoint is registered (a literal one)
	// and when a delivery connects (any hostname's).
	WebhookAllowPrivate bool
	// WebhookTimeout bounds each delivery attempt (connect, send, answer).
	WebhookTimeout time.Duration
}

// DefaultReservedSubdomains is RESERVED_SUBDOMAINS when unset: names a
// product keeps for itself, or that look like it (phishing).
const DefaultReservedSubdomains = "www,admin,api,app,mail,email,smtp,imap,pop,ftp,static,assets,cdn,media," +
	"docs,help,support,status,blog,billing,dashboard,login,signin,signup,auth,account,accounts,public,dev," +
	"staging,test,demo,root,system,internal,ns1,ns2,webmail,autoconfig,autodiscover"

// DefaultRoutingCacheHosts is ROUTING_CACHE_HOSTS when unset: room for every
// host of 100,000 tenants with one domain each (the scale the product is
// measured at), for about 23 MB of heap when full (227 bytes a host,
// server.BenchmarkTenantCacheMemory). Beyond it, the least recently used
// hosts, the coldest tenants', pay one query each.
const DefaultRoutingCacheHosts = 100_000

// DefaultRoutingCacheUnknownHosts is ROUTING_CACHE_UNKNOWN_HOSTS when unset:
// room for the retired and mistyped hosts clients keep asking for, while a
// flood of random hosts holds at most about 2 MB.
const DefaultRoutingCacheUnknownHosts = 10_000

// DefaultMailFrom is MAIL_FROM when unset.
const DefaultMailFrom = "tenantctl <noreply@localhost>"

// Production reports whether APP_ENV=production.
func (c Config) Production() bool { return c.Env == "production" }

// Load builds a Config from getenv, applying defaults, and validates it.
func Load(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		DatabaseURL:        get("DATABASE_URL", "postgres://postgres:postgres@localhost:5432/tenants?sslmode=disable"),
		SecretKey:          get("SECRET_KEY", InsecureSecretKey),
		DatabaseDirectURL:  getenv("DATABASE_DIRECT_URL"),
		Env:                get("APP_ENV", "development"),
		ListenAddr:         get("LISTEN_ADDR", ":8000"),
		AllowedHosts:       splitList(get("ALLOWED_HOSTS", "localhost,127.0.0.1,.localhost")),
		PublicHosts:        splitList(strings.ToLower(get("PUBLIC_HOSTS", "localhost,127.0.0.1"))),
		CORSAllowedOrigins: splitList(get("CORS_ALLOWED_ORIGINS", "http://localhost:3000,http://localhost:8000")),
		LogFormat:          get("LOG_FORMAT", "json"),
		SMTPURL:            get("SMTP_URL", ""),
		MailFrom:           get("MAIL_FROM", DefaultMailFrom),
	}
	if c.DatabaseDirectURL == "" {
		c.DatabaseDirectURL = c.DatabaseURL
	}
	var errs []error
	var err error
	c.FrontendURL = get("FRONTEND_URL", "")
	if err := checkFrontendURL(c.FrontendURL); err != nil {
		errs = append(errs, err)
	}
	if c.InvitationTTL, err = positiveDuration("INVITATION_TTL", get("INVITATION_TTL", "168h")); err != nil {
		errs = append(errs, err)
	}
	if c.TenantRetention, err = positiveDuration("TENANT_RETENTION", get("TENANT_RETENTION", "720h")); err != nil {
		errs = append(errs, err)
	}
	if c.AuditRetention, err = retention("AUDIT_RETENTION", get("AUDIT_RETENTION", "365d")); err != nil {
		errs = append(errs, err)
	}
	if c.PasswordResetTTL, err = positiveDuration("PASSWORD_RESET_TTL", get("PASSWORD_RESET_TTL", "1h")); err != nil {
		errs = append(errs, err)
	}
	if c.EmailVerificationTTL, err = positiveDuration("EMAIL_VERIFICATION_TTL", get("EMAIL_VERIFICATION_TTL", "72h")); err != nil {
		errs = append(errs, err)
	}
	if c.RequireVerifiedEmail, err = boolean("REQUIRE_VERIFIED_EMAIL", get("REQUIRE_VERIFIED_EMAIL", "false")); err != nil {
		errs = append(errs, err)
	}
	signupDefault := "true"
	if c.Env == "production" {
		signupDefault = "false"
	}
	if c.SignupEnabled, err = boolean("SIGNUP_ENABLED", get("SIGNUP_ENABLED", signupDefault)); err != nil {
		errs = append(errs, err)
	}
	c.TenantBaseDomain = strings.ToLower(strings.Trim(get("TENANT_BASE_DOMAIN", "localhost"), "."))
	if strings.ContainsAny(c.TenantBaseDomain, ":/*@ ") {
		errs = append(errs, fmt.Errorf("TENANT_BASE_DOMAIN: %q is not a domain such as example.com", c.TenantBaseDomain))
	}
	c.ReservedSubdomains = splitList(strings.ToLower(get("RESERVED_SUBDOMAINS", DefaultReservedSubdomains)))
	if c.AccessTokenTTL, err = positiveDuration("ACCESS_TOKEN_TTL", get("ACCESS_TOKEN_TTL", "15m")); err != nil {
		errs = append(errs, err)
	}
	if c.RefreshTokenTTL, err = positiveDuration("REFRESH_TOKEN_TTL", get("REFRESH_TOKEN_TTL", "168h")); err != nil {
		errs = append(errs, err)
	}
	if c.MaxSchemasPerConn, err = count("DB_MAX_SCHEMAS_PER_CONN", get("DB_MAX_SCHEMAS_PER_CONN", strconv.Itoa(db.DefaultLimits.Schemas)), 1); err != nil {
		errs = append(errs, err)
	}
	if c.MaxPlansPerConn, err = count("DB_MAX_PLANS_PER_CONN", get("DB_MAX_PLANS_PER_CONN", strconv.Itoa(db.DefaultLimits.Plans)), 0); err != nil {
		errs = append(errs, err)
	}
	if c.RoutingCacheHosts, err = count("ROUTING_CACHE_HOSTS", get("ROUTING_CACHE_HOSTS", strconv.Itoa(DefaultRoutingCacheHosts)), 1); err != nil {
		errs = append(errs, err)
	}
	if c.RoutingCacheUnknownHosts, err = count("ROUTING_CACHE_UNKNOWN_HOSTS", get("ROUTING_CACHE_UNKNOWN_HOSTS", strconv.Itoa(DefaultRoutingCacheUnknownHosts)), 1); err != nil {
		errs = append(errs, err)
	}
	for _, v := range []struct {
		name string
		into *int
	}{{"DB_POOL_SIZE", &c.PoolSize}, {"DB_POOL_PARTS", &c.PoolParts}, {"DB_TENANT_MAX_CONNS", &c.TenantMaxConns}} {
		if s := get(v.name, ""); s != "" {
			if *v.into, err = count(v.name, s, 1); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if c.TenantQueueWait, err = positiveDuration("DB_TENANT_QUEUE_WAIT", get("DB_TENANT_QUEUE_WAIT", db.DefaultTenantWait.String())); err != nil {
		errs = append(errs, err)
	}
	if c.Workers, err = count("WORKERS", get("WORKERS", "10"), 0); err != nil {
		errs = append(errs, err)
	}
	if c.SMTPURL != "" {
		if c.SMTP, err = mail.ParseURL(c.SMTPURL); err != nil {
			errs = append(errs, fmt.Errorf("SMTP_URL: %w", err))
		}
	}
	if err := mail.ParseAddress(c.MailFrom); err != nil {
		errs = append(errs, fmt.Errorf("MAIL_FROM: %q is not an address such as tenantctl <noreply@example.com>", c.MailFrom))
	}
	if c.WebhookAllowPrivate, err = boolean("WEBHOOK_ALLOW_PRIVATE", get("WEBHOOK_ALLOW_PRIVATE", "false")); err != nil {
		errs = append(errs, err)
	}
	if c.WebhookTimeout, err = positiveDuration("WEBHOOK_TIMEOUT", get("WEBHOOK_TIMEOUT", "10s")); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.loadTelemetry(get)...)
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", getenv("LOG_LEVEL")))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT: %q is not json or text", c.LogFormat))
	}
	if c.Env != "development" && c.Env != "production" && c.Env != "test" {
		errs = append(errs, fmt.Errorf("APP_ENV: %q is not development, production or test", c.Env))
	}
	if len(c.AllowedHosts) == 0 {
		errs = append(errs, errors.New("ALLOWED_HOSTS: at least one host is needed"))
	}
	for i, h := range c.PublicHosts {
		c.PublicHosts[i] = strings.Trim(h, "[]") // as request hosts are compared
		if strings.HasPrefix(h, ".") || strings.Contains(h, "*") {
			errs = append(errs, fmt.Errorf("PUBLIC_HOSTS: %q is not a plain host name (no wildcards)", h))
		}
	}
	return c, errors.Join(errs...)
}

// CheckProduction returns an error when the configuration is unsafe to serve
// with in production: a SECRET_KEY that is published (the development
// default, or any key that appeared in this repository), looks like a
// placeholder, or is shorter than MinSecretKeyBytes. Other environments
// accept any key, so development works with SECRET_KEY unset.
func (c Config) CheckProduction() error {
	if !c.Production() {
		return nil
	}
	return checkSecretKey(c.SecretKey)
}

// CheckMail returns an error when email would not be delivered: in
// production with no SMTP_URL (development and tests write email to the
// log). A command that starts a flow which sends email calls it before
// starting, so the flow never runs with its email going nowhere.
func (c Config) CheckMail() error {
	if c.Production() && c.SMTPURL == "" {
		return errors.New("SMTP_URL is not set, so email would only be logged; set SMTP_URL (smtp://user:pass@host:587 or smtps://...) when APP_ENV=production")
	}
	return nil
}

func checkSecretKey(key string) error {
	const fix = "set a random secret of at least 32 bytes (openssl rand -hex 32) when APP_ENV=production"
	if key == InsecureSecretKey {
		return errors.New("SECRET_KEY is the insecure development default (SECRET_KEY unset); " + fix)
	}
	if slices.Contains(publishedSecretKeys, key) {
		return errors.New("SECRET_KEY is a key published in tenantctl's repository, with which anyone can forge tokens; " + fix)
	}
	lower := strings.ToLower(key)
	for _, w := range placeholderWords {
		if strings.Contains(lower, w) {
			return fmt.Errorf("SECRET_KEY looks like a placeholder (it contains %q); %s", w, fix)
		}
	}
	if len(key) < MinSecretKeyBytes {
		return fmt.Errorf("SECRET_KEY is %d bytes, shorter than %d; %s", len(key), MinSecretKeyBytes, fix)
	}
	return nil
}

func positiveDuration(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration such as 15m or 168h", name, v)
	}
	return d, nil
}

// retention reads a retention: a positive duration (8760h), a number of
// days (365d), or 0 or off for no retention (keep everything).
func retention(name, v string) (time.Duration, error) {
	if v == "0" || strings.EqualFold(v, "off") {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n >= 0 && int64(n) <= math.MaxInt64/int64(24*time.Hour) {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%s: %q is not a duration such as 365d or 8760h, or 0 (keep everything)", name, v)
}

func boolean(name, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not true or false", name, v)
	}
	return b, nil
}

// checkFrontendURL checks FRONTEND_URL: "" or an http(s) URL template
// holding {token}.
func checkFrontendURL(tmpl string) error {
	if tmpl == "" {
		return nil
	}
	if !strings.Contains(tmpl, "{token}") {
		return fmt.Errorf("FRONTEND_URL: %q has no {token}; use e.g. https://{host}/accept/{kind}/{token}", tmpl)
	}
	r := strings.NewReplacer("{host}", "tenant.example.com", "{token}", "t", "{kind}", "invite")
	u, err := url.Parse(r.Replace(tmpl))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("FRONTEND_URL: %q is not an http(s) URL template such as https://{host}/accept/{kind}/{token}", tmpl)
	}
	return nil
}

// DBLimits are the pool settings for db.Open.
func (c Config) DBLimits() db.Limits {
	return db.Limits{Schemas: c.MaxSchemasPerConn, Plans: c.MaxPlansPerConn, Conns: c.PoolSize, Parts: c.PoolParts,
		TenantConns: c.TenantMaxConns, TenantWait: c.TenantQueueWait}
}

func count(name, v string, least int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		return 0, fmt.Errorf("%s: %q is not a whole number of at least %d", name, v, least)
	}
	return n, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// LoadDotEnv reads KEY=VALUE lines from path into a map, for variables the
// process environment does not already set. A missing file is not an error.
// Lines may be blank, comments (#), or "export KEY=VALUE"; values may be quoted.
func LoadDotEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[strings.TrimSpace(k)] = v
	}
	return vars, sc.Err()
}

// Getenv returns a getenv that prefers the process environment and falls back
// to the .env values.
func Getenv(env func(string) (string, bool), dotenv map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := env(k); ok {
			return v
		}
		return dotenv[k]
	}
}
