package provision

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
)

// Tenant is a tenant with its domains, as the admin shows it.
type Tenant struct {
	ID        int64
	Schema    string
	Name      string
	State     string // "provisioning" or "ready"
	OnTrial   bool
	PaidUntil *time.Time
	CreatedAt time.Time
	// Domains are the tenant's domains, primary first, then by name.
	Domains []string
	// PrimaryDomain is "" for a tenant without domains.
	PrimaryDomain string
	// DeletedAt is when the tenant was deleted softly (SoftDeleteTenant),
	// nil for a live tenant.
	DeletedAt *time.Time
}

// SearchTenants returns one page of the tenants, by schema name, whose name,
// schema name or one of whose domains contains q.Search, case-insensitively.
func (s *Service) SearchTenants(ctx context.Context, q Query) (Page[Tenant], error) {
	lim, off, ok := q.window()
	if !ok {
		return Page[Tenant]{}, nil
	}
	patterns := likePatterns(q.Search)
	p, err := db.InPublicV(ctx, s.pool, func(pq *publicdb.Queries) (Page[Tenant], error) {
		items, total, err := TenantPage(ctx, pq, patterns, [3]string{}, lim, int64(off))
		return Page[Tenant]{Items: items, Total: total}, err
	})
	if err != nil {
		return Page[Tenant]{}, err
	}
	if len(p.Items) == 0 && off > 0 {
		// Past the end: count the matches on their own.
		all, err := s.SearchTenants(ctx, Query{Search: q.Search, Limit: 1})
		if err != nil {
			return Page[Tenant]{}, err
		}
		p.Total = all.Total
	}
	return p, nil
}

// TenantPage returns up to lim tenants from offset off, with the number of
// all matches (0 when the page is empty): those whose name, schema name or
// one of whose domains matches every ILIKE pattern of patterns (every tenant
// for none), sorted by the ordering keys of order (a field of
// ListClientsOrdered's, "-" before it for descending, "" for none), then by
// schema name. The admin's API and pages share it.
func TenantPage(ctx context.Context, q *publicdb.Queries, patterns []string, order [3]string, lim int32, off int64) ([]Tenant, int64, error) {
	var rows []publicdb.ListClientsOrderedRow
	if len(patterns) == 0 {
		var err error
		rows, err = q.ListClientsOrdered(ctx, publicdb.ListClientsOrderedParams{O1: order[0], O2: order[1], O3: order[2], Lim: lim, Off: off})
		if err != nil {
			return nil, 0, err
		}
	} else {
		// Two queries rather than one with a condition on the patterns:
		// each gets a plan of its own, the list along the schema name's
		// index, the search through the trigram indexes.
		found, err := q.SearchClientsOrdered(ctx, publicdb.SearchClientsOrderedParams{
			First: patterns[0], Rest: patterns[1:], O1: order[0], O2: order[1], O3: order[2], Lim: lim, Off: off,
		})
		if err != nil {
			return nil, 0, err
		}
		rows = make([]publicdb.ListClientsOrderedRow, len(found))
		for i, r := range found {
			rows[i] = publicdb.ListClientsOrderedRow(r)
		}
	}
	var total int64
	items := make([]Tenant, len(rows))
	for i, c := range rows {
		items[i] = Tenant{ID: c.ID, Schema: c.SchemaName, Name: c.Name, State: c.State, OnTrial: c.OnTrial,
			PaidUntil: c.PaidUntil, CreatedAt: c.CreatedAt, Domains: c.Domains, PrimaryDomain: c.PrimaryDomain, DeletedAt: c.DeletedAt}
		total = c.Total
	}
	return items, total, nil
}

// DescribeTenant returns the tenant of schemaName with its domains, or
// ErrNotFound.
func (s *Service) DescribeTenant(ctx context.Context, schemaName string) (Tenant, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return Tenant{}, err
	}
	c, err := db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) (publicdb.GetClientWithDomainsRow, error) {
		return q.GetClientWithDomains(ctx, schema.String())
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Tenant{}, ErrNotFound
	}
	if err != nil {
		return Tenant{}, err
	}
	return Tenant{ID: c.ID, Schema: c.SchemaName, Name: c.Name, State: c.State, OnTrial: c.OnTrial,
		PaidUntil: c.PaidUntil, CreatedAt: c.CreatedAt, Domains: c.Domains, PrimaryDomain: c.PrimaryDomain, DeletedAt: c.DeletedAt}, nil
}

// ListDomains returns the domains of the tenant of schemaName, primary
// first, then by name. It returns ErrNotFound for an unknown tenant.
func (s *Service) ListDomains(ctx context.Context, schemaName string) ([]publicdb.Domain, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return nil, err
	}
	return db.InPublicV(ctx, s.pool, func(q *publicdb.Queries) ([]publicdb.Domain, error) {
		c, err := q.GetClientBySchema(ctx, schema.String())
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		return q.ListClientDomains(ctx, c.ID)
	})
}

// tenantDomain returns the tenant of schema and its mapped domain, or
// ErrNotFound when either does not exist or the domain is another tenant's.
func tenantDomain(ctx context.Context, q *publicdb.Queries, schema db.Schema, domain string) (publicdb.Client, publicdb.Domain, error) {
	c, err := q.GetClientBySchema(ctx, schema.String())
	if errors.Is(err, pgx.ErrNoRows) {
		return c, publicdb.Domain{}, ErrNotFound
	}
	if err != nil {
		return c, publicdb.Domain{}, err
	}
	d, err := q.GetDomain(ctx, domain)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && d.ClientID != c.ID) {
		return c, d, ErrNotFound
	}
	return c, d, err
}

// SetPrimaryDomain makes domain the primary domain of the tenant of
// schemaName (the one the admin links to and the tenant list shows first).
// It returns ErrNotFound for an unknown tenant or a domain that is not the
// tenant's.
func (s *Service) SetPrimaryDomain(ctx context.Context, schemaName, domain string) (publicdb.Domain, error) {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return publicdb.Domain{}, err
	}
	domain, err = ParseDomain(domain)
	if err != nil {
		return publicdb.Domain{}, err
	}
	var d publicdb.Domain
	err = s.publicChange(ctx, func(q *publicdb.Queries) (publicdb.Client, audit.Entry, error) {
		var c publicdb.Client
		var err error
		c, d, err = tenantDomain(ctx, q, schema, domain)
		if err != nil || d.IsPrimary {
			return c, audit.Entry{}, err
		}
		if err := q.ClearPrimaryDomain(ctx, c.ID); err != nil {
			return c, audit.Entry{}, err
		}
		if d, err = q.SetPrimaryDomain(ctx, d.ID); err != nil {
			return c, audit.Entry{}, err
		}
		return c, audit.Entry{Action: audit.DomainUpdated, Target: audit.Target{Type: "domain", ID: d.Domain},
			Before: map[string]any{"is_primary": false}, After: map[string]any{"is_primary": true}}, nil
	})
	return d, err
}

// RemoveTenantDomain unmaps domain from the tenant of schemaName, as
// RemoveDomain does, but only if it is that tenant's and not its only one:
// it returns ErrNotFound for an unknown tenant or a domain that is not the
// tenant's, and ErrLastDomain for the tenant's only domain.
func (s *Service) RemoveTenantDomain(ctx context.Context, schemaName, domain string) error {
	schema, err := parseSchema(schemaName)
	if err != nil {
		return err
	}
	domain, err = ParseDomain(domain)
	if err != nil {
		return err
	}
	return s.publicChange(ctx, func(q *publicdb.Queries) (publicdb.Client, audit.Entry, error) {
		c, d, err := tenantDomain(ctx, q, schema, domain)
		if err != nil {
			return c, audit.Entry{}, err
		}
		return c, domainRemoved(d), removeClientDomain(ctx, q, c.ID, d)
	})
}

// ValidateTenant checks every field of a new tenant, as CreateTenant does,
// and returns all the errors found (one per field at most), for forms that
// show them together. It does not look in the database: a schema or domain
// already taken is reported by CreateTenant alone.
func ValidateTenant(p TenantParams) []*FieldError {
	var errs []*FieldError
	add := func(err error) {
		var fe *FieldError
		if errors.As(err, &fe) {
			errs = append(errs, fe)
		}
	}
	_, err := parseSchema(p.Schema)
	add(err)
	add(validateName(p.Name))
	_, err = ParseDomain(p.Domain)
	add(err)
	if p.Admin != nil {
		err := validateUser(*p.Admin, "admin_")
		add(err)
		var fe *FieldError
		if errors.As(err, &fe) && fe.Field != "admin_password" {
			// validateUser stops at its first error; the password is
			// checked on its own too.
			add(checkPassword("admin_password", p.Admin.Password, p.Admin.Username, p.Admin.Email))
		}
	}
	return errs
}
