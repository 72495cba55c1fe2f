// Package provision creates and removes tenants, their domains and their
// users. The CLI and the admin API both call it, so both get the same
// validation and the same all-or-nothing guarantees.
package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/migrate"
	"github.com/tenantctl/tenantctl/password"
)

// Service provisions tenants in one database.
type Service struct {
	pool     *db.Pool
	migrator *migrate.Migrator
	hasher   *password.Hasher
	// publicHosts serve the public site; no tenant may have one as domain.
	publicHosts []string
}

// New returns a Service.
func New(pool *db.Pool, m *migrate.Migrator, h *password.Hasher) *Service {
	return &Service{pool: pool, migrator: m, hasher: h}
}

// WithPublicHosts returns a copy of s that refuses hosts, the public site's
// (PUBLIC_HOSTS), as tenant domains.
func (s *Service) WithPublicHosts(hosts []string) *Service {
	c := *s
	c.publicHosts = hosts
	return &c
}

// tenantDomain is TenantDomain with s's public hosts.
func (s *Service) tenantDomain(d string) (string, error) {
	return TenantDomain(d, s.publicHosts)
}

// TenantDomain is ParseDomain, refusing publicHosts too (PUBLIC_HOSTS): a
// tenant mapped there would take the admin's host over. It returns a
// *FieldError for either.
func TenantDomain(d string, publicHosts []string) (string, error) {
	d, err := ParseDomain(d)
	if err != nil {
		return "", err
	}
	if slices.Contains(publicHosts, d) {
		return "", fieldErr("domain", "%s is the public site's host (PUBLIC_HOSTS); a tenant cannot use it.", d)
	}
	return d, nil
}

// ParseSchema is db.ParseSchema with its error as a *FieldError on
// schema_name, as CreateTenant reports it.
func ParseSchema(s string) (db.Schema, error) { return parseSchema(s) }

// TenantParams describe a new tenant.
type TenantParams struct {
	Schema    string
	Name      string
	Domain    string
	OnTrial   bool
	PaidUntil *time.Time
	// Admin, if not nil, is the tenant's first user.
	Admin *UserParams
	// OnCreated, if not nil, runs in the transaction that creates Admin
	// (which it requires), before it commits: tx is a plain pgx transaction
	// scoped to the new tenant's schema, fit for jobs.Queue's ...Tx methods
	// (River's tables are schema-qualified), and c is the tenant's client
	// row. An error from it rolls the whole tenant back, as any failure of
	// CreateTenant does: self-service signup sends the owner's verification
	// email and records the owner's first refresh token here.
	OnCreated func(ctx context.Context, tx pgx.Tx, c publicdb.Client, owner tenantdb.User) error
	// demo marks the tenant as made by Demo, the only tenants Demo adds its
	// user to.
	demo bool
}

// UserParams describe a new user.
type UserParams struct {
	Username string
	Email    string
	Password string
	Staff    bool
	// Role is owner, admin or member; "" means admin for a staff user and
	// member for anyone else (as the roles migration mapped existing users).
	// A tenant's first user (TenantParams.Admin) is always its owner.
	Role string
	// fixture marks the demo user, whose password is fixed data (demo123,
	// as the Django starter's README and clients promise), not a choice a
	// person made: the password rules are not applied to it.
	fixture bool
}

// The roles of a tenant's users (see server/permissions.go for what each
// may do).
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// ValidRole reports whether r is one of the roles.
func ValidRole(r string) bool {
	return r == RoleOwner || r == RoleAdmin || r == RoleMember
}

// role is the role u gets.
func (u UserParams) role() string {
	switch {
	case u.Role != "":
		return u.Role
	case u.Staff:
		return RoleAdmin
	}
	return RoleMember
}

// CreateTenant creates the tenant's schema, migrates it, maps its domain as
// primary and creates its first user, all or nothing: on any failure no
// schema, client row or domain remains. The tenant becomes routable only
// after every step succeeded. A tenant of the same schema left half-made by
// a killed earlier attempt is removed first.
//
// It returns a *FieldError for invalid input or a schema or domain already
// taken (by a tenant, or a schema of that name that exists in the database
// without being a tenant's: it is never adopted, and left as it was), and
// other errors for database or migration failures.
func (s *Service) CreateTenant(ctx context.Context, p TenantParams) (publicdb.Client, error) {
	schema, err := parseSchema(p.Schema)
	if err != nil {
		return publicdb.Client{}, err
	}
	if err := validateName(p.Name); err != nil {
		return publicdb.Client{}, err
	}
	domain, err := s.tenantDomain(p.Domain)
	if err != nil {
		return publicdb.Client{}, err
	}
	if p.OnCreated != nil && p.Admin == nil {
		return publicdb.Client{}, errors.New("provision: OnCreated needs an Admin to run with")
	}
	var hash func() (string, error)
	if p.Admin != nil {
		if err := validateUser(*p.Admin, "admin_"); err != nil {
			return publicdb.Client{}, err
		}
		// The admin's hash is the slowest step, and all CPU in this
		// process: it runs while PostgreSQL builds the schema, and the
		// build waits for it only to insert the admin.
		hash = s.hashAsync(ctx, p.Admin.Password)
	}

	var client publicdb.Client
	err = s.migrator.Lock(ctx, schema, func() error {
		// Holding the lock, any client row still provisioning was left by a
		// creator that died (its lock went with its connection).
		if err := s.removeStale(ctx, schema); err != nil {
			return err
		}
		client, err = s.reserve(ctx, schema, p, domain)
		if err != nil {
			return err
		}
		if err := s.build(ctx, schema, client, p, hash); err != nil {
			// Undo with a context of its own: the caller's may be what failed.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if cerr := s.remove(cctx, schema); cerr != nil {
				return fmt.Errorf("%w (and removing the half-made tenant failed: %v; the next tenant create or migrate of %s removes it)", err, cerr, schema)
			}
			return err
		}
		client.State = "ready"
		return nil
	})
	return client, err
}

// reserve inserts the client row (provisioning) and its primary domain in one
// transaction, so a taken schema name or domain fails before any DDL.
func (s *Service) reserve(ctx context.Context, schema db.Schema, p TenantParams, domain string) (publicdb.Client, error) {
	return db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Client, error) {
		c, err := q.CreateClient(ctx, publicdb.CreateClientParams{
			SchemaName: schema.String(), Name: p.Name, OnTrial: p.OnTrial, PaidUntil: p.PaidUntil, Demo: p.demo,
		})
		if db.IsUniqueViolation(err, "clients_schema_name_key") {
			return c, fieldErr("schema_name", "A tenant with schema %q already exists.", schema)
		}
		if err != nil {
			return c, err
		}
		_, err = q.CreateDomain(ctx, publicdb.CreateDomainParams{Domain: domain, ClientID: c.ID, IsPrimary: true})
		if db.IsUniqueViolation(err, "domains_domain_key") {
			return c, fieldErr("domain", "The domain %q is already in use.", domain)
		}
		return c, err
	})
}

// build creates and migrates the schema, adds the first user (running
// p.OnCreated in its transaction) and makes the tenant routable, all in one
// transaction: one commit rather than one per step and per migration file,
// and a failure leaves no schema behind to drop. hash, if not nil, gives the
// first user's password hash.
func (s *Service) build(ctx context.Context, schema db.Schema, c publicdb.Client, p TenantParams, hash func() (string, error)) error {
	return db.InSpan(ctx, s.pool, pgx.TxOptions{}, func(sp *db.Span) error {
		pq, err := sp.Public(ctx)
		if err != nil {
			return err
		}
		if err := pq.CreateTenantSchema(ctx, schema.String()); err != nil {
			if isCode(err, "42P06") {
				// A schema of that name that no tenant owns: someone else's
				// data. tenant_schema_create refused to adopt it, and the
				// rollback leaves it alone (this create did not make it).
				return fieldErr("schema_name", "A schema named %q already exists in the database; choose another name.", schema)
			}
			return fmt.Errorf("create schema: %w", err)
		}
		tq, err := sp.Tenant(ctx, schema)
		if err != nil {
			return err
		}
		if _, err := s.migrator.ApplyTenantTx(ctx, sp.Tx(), nil); err != nil {
			return err
		}
		if p.Admin != nil {
			h, err := hash()
			if err != nil {
				return err
			}
			first := *p.Admin
			first.Role = RoleOwner // the tenant's first user owns it
			if err := insertOwner(ctx, tq, sp.Tx(), schema, c, first, h, p.OnCreated); err != nil {
				return err
			}
		}
		if pq, err = sp.Public(ctx); err != nil {
			return err
		}
		return pq.MarkClientReady(ctx, c.ID)
	})
}

// hashAsync starts hashing password and returns a function that waits for
// the hash; call it once. If it is never called, the hash still ends.
func (s *Service) hashAsync(ctx context.Context, password string) func() (string, error) {
	type result struct {
		hash string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		h, err := s.hasher.Hash(ctx, password)
		done <- result{h, err}
	}()
	return func() (string, error) {
		r := <-done
		return r.hash, r.err
	}
}

// removeStale removes schema's tenant if it is stuck in provisioning. The
// caller holds the schema's lock.
func (s *Service) removeStale(ctx context.Context, schema db.Schema) error {
	c, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Client, error) {
		return q.GetClientBySchema(ctx, schema.String())
	})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && c.State != "provisioning") {
		return nil
	}
	if err != nil {
		return err
	}
	return s.remove(ctx, schema)
}

// RemoveStale removes every tenant left half-made by a provisioning that was
// killed, and returns their schemas. Tenants being provisioned right now are
// left alone (their creator holds the lock).
func (s *Service) RemoveStale(ctx context.Context) ([]db.Schema, error) {
	names, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) ([]string, error) {
		return q.ListStaleClients(ctx)
	})
	if err != nil {
		return nil, err
	}
	var removed []db.Schema
	for _, n := range names {
		schema, err := db.ParseSchema(n)
		if err != nil {
			return removed, err
		}
		ok, err := s.migrator.TryLock(ctx, schema, func() error { return s.removeStale(ctx, schema) })
		if err != nil {
			return removed, err
		}
		if ok {
			removed = append(removed, schema)
		}
	}
	return removed, nil
}

// remove drops the schema and deletes the client row (and so its domains) in
// one transaction. tenant_schema_drop drops only a schema that
// tenant_schema_create made for this client row, and refuses (a
// *SchemaInUseError) while anything outside the schema depends on it.
// Dropping locks the tenant's tables one by one while requests still in
// flight hold some and want others, so PostgreSQL may end it as a deadlock;
// the requests finish soon (new ones fail their tenant check once the row is
// gone), so it is tried again a few times.
func (s *Service) remove(ctx context.Context, schema db.Schema) error {
	var err error
	for range 5 {
		if err = s.removeOnce(ctx, schema); !isDeadlock(err) {
			return err
		}
	}
	return err
}

func isDeadlock(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "40P01"
}

func (s *Service) removeOnce(ctx context.Context, schema db.Schema) error {
	return db.InPublic(ctx, s.pool, func(q *publicdb.Queries) error {
		c, err := q.GetClientBySchema(ctx, schema.String())
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := q.DropTenantSchema(ctx, schema.String()); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "2BP01" {
				return &SchemaInUseError{Schema: schema.String(), Detail: pe.Message}
			}
			return err
		}
		return q.DeleteClient(ctx, c.ID)
	})
}

// DeleteTenant drops the tenant's schema with all its data and removes the
// tenant and its domains, in one transaction. It returns ErrNotFound if no
// such tenant exists, and a *SchemaInUseError, deleting nothing, if an
// object outside the schema (a view, a foreign key, ...) depends on it.
func (s *Service) DeleteTenant(ctx context.Context, schemaName string) error {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return err
	}
	return s.migrator.Lock(ctx, schema, func() error { return s.remove(ctx, schema) })
}

// GetTenant returns the tenant of the named schema, or ErrNotFound.
func (s *Service) GetTenant(ctx context.Context, schemaName string) (publicdb.Client, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return publicdb.Client{}, err
	}
	c, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Client, error) {
		return q.GetClientBySchema(ctx, schema.String())
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// ListTenants returns every tenant with its domains, by schema name.
func (s *Service) ListTenants(ctx context.Context) ([]publicdb.ListClientsRow, error) {
	return db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) ([]publicdb.ListClientsRow, error) {
		return q.ListClients(ctx)
	})
}

// AddDomain maps domain to the tenant of schemaName. The tenant's first
// domain, or one added with primary, becomes its primary domain.
// It returns ErrNotFound for an unknown tenant and a *FieldError for an
// invalid domain or one already in use.
func (s *Service) AddDomain(ctx context.Context, schemaName, domain string, primary bool) (publicdb.Domain, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return publicdb.Domain{}, err
	}
	domain, err = s.tenantDomain(domain)
	if err != nil {
		return publicdb.Domain{}, err
	}
	var d publicdb.Domain
	err = s.publicChange(ctx, func(q *publicdb.Queries) (publicdb.Client, audit.Entry, error) {
		c, err := q.GetClientBySchema(ctx, schema.String())
		if errors.Is(err, pgx.ErrNoRows) {
			return c, audit.Entry{}, ErrNotFound
		}
		if err != nil {
			return c, audit.Entry{}, err
		}
		n, err := q.CountClientDomains(ctx, c.ID)
		if err != nil {
			return c, audit.Entry{}, err
		}
		primary = primary || n == 0
		if primary {
			if err := q.ClearPrimaryDomain(ctx, c.ID); err != nil {
				return c, audit.Entry{}, err
			}
		}
		d, err = q.CreateDomain(ctx, publicdb.CreateDomainParams{Domain: domain, ClientID: c.ID, IsPrimary: primary})
		if db.IsUniqueViolation(err, "domains_domain_key") {
			return c, audit.Entry{}, fieldErr("domain", "The domain %q is already in use.", domain)
		}
		return c, audit.Entry{Action: audit.DomainAdded, Target: audit.Target{Type: "domain", ID: d.Domain},
			After: map[string]any{"domain": d.Domain, "is_primary": d.IsPrimary}}, err
	})
	return d, err
}

// RemoveDomain unmaps domain. If it was its tenant's primary domain, the
// tenant's oldest remaining domain becomes primary. It returns ErrNotFound
// for a domain that is not mapped.
func (s *Service) RemoveDomain(ctx context.Context, domain string) error {
	domain, err := ParseDomain(domain)
	if err != nil {
		return err
	}
	return s.publicChange(ctx, func(q *publicdb.Queries) (publicdb.Client, audit.Entry, error) {
		d, err := q.GetDomain(ctx, domain)
		if errors.Is(err, pgx.ErrNoRows) {
			return publicdb.Client{}, audit.Entry{}, ErrNotFound
		}
		if err != nil {
			return publicdb.Client{}, audit.Entry{}, err
		}
		if err := removeClientDomain(ctx, q, d.ClientID, d); err != nil {
			return publicdb.Client{}, audit.Entry{}, err
		}
		c, err := q.GetClient(ctx, d.ClientID)
		return c, domainRemoved(d), err
	})
}

// CreateUser creates a user inside the tenant of schemaName. It returns
// ErrNotFound for an unknown tenant and a *FieldError for invalid input or
// a username already taken.
func (s *Service) CreateUser(ctx context.Context, schemaName string, u UserParams) (tenantdb.User, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return tenantdb.User{}, err
	}
	if err := validateUser(u, ""); err != nil {
		return tenantdb.User{}, err
	}
	c, err := s.GetTenant(ctx, schemaName)
	if err != nil {
		return tenantdb.User{}, err
	}
	if c.State != "ready" {
		return tenantdb.User{}, ErrNotFound
	}
	hash, err := s.hasher.Hash(ctx, u.Password)
	if err != nil {
		return tenantdb.User{}, err
	}
	return s.insertUser(ctx, schema, u, hash, "")
}

// insertOwner inserts the tenant's first user with q, on tx (scoped to the
// new tenant's schema), and runs onCreated, if any, in that transaction.
func insertOwner(ctx context.Context, q *tenantdb.Queries, tx pgx.Tx, schema db.Schema, c publicdb.Client, u UserParams, hash string,
	onCreated func(ctx context.Context, tx pgx.Tx, c publicdb.Client, owner tenantdb.User) error) error {
	owner, err := q.CreateUser(ctx, tenantdb.CreateUserParams{
		Username: u.Username, Email: u.Email, PasswordHash: hash, IsStaff: u.Staff, Role: u.role(),
	})
	if db.IsUniqueViolation(err, "users_username_key") {
		return fieldErr("admin_username", "A user with that username already exists.")
	}
	if err != nil {
		return err
	}
	if err := recordCreated(ctx, q, schema, owner); err != nil {
		return err
	}
	if onCreated == nil {
		return nil
	}
	return onCreated(ctx, tx, c, owner)
}

func (s *Service) insertUser(ctx context.Context, schema db.Schema, u UserParams, hash, prefix string) (tenantdb.User, error) {
	user, err := db.InTenantV(ctx, s.pool, schema, func(q *tenantdb.Queries) (tenantdb.User, error) {
		user, err := q.CreateUser(ctx, tenantdb.CreateUserParams{
			Username: u.Username, Email: u.Email, PasswordHash: hash, IsStaff: u.Staff, Role: u.role(),
		})
		if err != nil {
			return user, err
		}
		return user, recordCreated(ctx, q, schema, user)
	})
	if db.IsUniqueViolation(err, "users_username_key") {
		return user, fieldErr(prefix+"username", "A user with that username already exists.")
	}
	return user, err
}

// recordCreated records user u's creation.
func recordCreated(ctx context.Context, q *tenantdb.Queries, schema db.Schema, u tenantdb.User) error {
	return record(ctx, q, schema, audit.Entry{
		Action: audit.UserCreated, Target: audit.Of("user", u.ID),
		After: audit.UserFields(u), Data: audit.UserDataOf(u),
	})
}

// CreateSuperuser creates an administrator of the public side. It returns a
// *FieldError for invalid input or a username already taken.
func (s *Service) CreateSuperuser(ctx context.Context, u UserParams) (publicdb.Superuser, error) {
	if err := validateUser(u, ""); err != nil {
		return publicdb.Superuser{}, err
	}
	hash, err := s.hasher.Hash(ctx, u.Password)
	if err != nil {
		return publicdb.Superuser{}, err
	}
	su, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.Superuser, error) {
		return q.CreateSuperuser(ctx, publicdb.CreateSuperuserParams{Username: u.Username, Email: u.Email, PasswordHash: hash})
	})
	if db.IsUniqueViolation(err, "superusers_username_key") {
		return su, fieldErr("username", "A superuser with that username already exists.")
	}
	return su, err
}
