package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/migrate"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/token"
)

// Bulk setup (-bulk-setup, the default) is the benchmark's shortcut to
// 100,000 tenants; it is not a product path. provision.CreateTenant costs
// one argon2id hash, an advisory lock, a direct connection and six
// transactions per tenant (about 25 tenants a second here), and the load
// then needed one argon2id sign-in per tenant. The bulk path instead:
//
//   - hashes the admins' common password once, with the product's hasher,
//     and stores that hash for every admin (each tenant's salt is the same:
//     harmless for a benchmark, never done by the product);
//   - builds bulkBatch tenants per transaction (db.InSpan, switching
//     between public and each tenant's schema), each with the product's own
//     statements: the client row and primary domain (publicdb), the schema
//     (tenant_schema_create), every tenant migration through
//     migrate.ApplyTenantTx (the one-transaction path package transfer
//     uses, which writes schema_migrations), the owner with its audit entry
//     (audit.Record), the seeded items, then the client marked ready;
//   - mints each admin's access token with the server's SECRET_KEY (the
//     bench passes it to the server) through package token, as a sign-in
//     would, instead of POST /api/token/.
//
// TestBulkTenantMatchesCreateTenant compares a tenant made this way with one
// made by provision.CreateTenant. Tenants of the latency sample
// (-provision-sample) still go through CreateTenant and sign in over HTTP.

// bulkBatch is how many tenants one bulk transaction creates. Each holds
// its new relations' locks until commit, and the shared lock table has
// room for max_locks_per_transaction (64) x max_connections: a few hundred
// locks per transaction times a few jobs stays well inside it.
const bulkBatch = 10

// bulkConnTenants is how many tenants a bulk connection creates before it
// is replaced (see runner.bulkCreate).
const bulkConnTenants = 150

// bulkProvisioner creates tenants the bulk way on pool.
type bulkProvisioner struct {
	pool     *db.Pool // runner.bulkCreate sets its own for each count
	migrator *migrate.Migrator
	hash     string // the argon2id hash of adminPassword, shared by every admin
	items    int
	issuer   *token.Issuer
	// apiKeys gives every admin a read API key (the profile-apikey
	// scenario), as POST /api/api-keys/ would, without its audit entry.
	apiKeys bool
}

// newBulkProvisioner hashes adminPassword once for every bulk admin.
func newBulkProvisioner(ctx context.Context, pool *db.Pool, m *migrate.Migrator, items int, secret string, apiKeys bool) (*bulkProvisioner, error) {
	hash, err := password.NewHasher(0).Hash(ctx, adminPassword)
	if err != nil {
		return nil, err
	}
	return &bulkProvisioner{
		pool: pool, migrator: m, hash: hash, items: items, apiKeys: apiKeys,
		// The server's lifetimes as the bench starts it (ACCESS_TOKEN_TTL).
		issuer: token.NewIssuer(secret, 24*time.Hour, refreshTTL),
	}, nil
}

// create builds tenants numbered from..to-1 (schemas t<from+1> ...) in one
// transaction and returns them with their access tokens.
func (b *bulkProvisioner) create(ctx context.Context, from, to int) ([]*tenant, error) {
	out := make([]*tenant, 0, to-from)
	err := db.InSpan(ctx, b.pool, pgx.TxOptions{}, func(sp *db.Span) error {
		out = out[:0]
		// Not waiting for the WAL flush of each commit: a crash loses the
		// benchmark database anyway.
		if _, err := sp.Tx().Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return err
		}
		for i := from; i < to; i++ {
			t, err := b.createIn(ctx, sp, i)
			if err != nil {
				return fmt.Errorf("bulk create %s: %w", tenantName(i), err)
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

// createIn creates tenant i in sp's transaction.
func (b *bulkProvisioner) createIn(ctx context.Context, sp *db.Span, i int) (*tenant, error) {
	name := tenantName(i)
	host := name + ".localhost"
	schema := db.MustParseSchema(name)
	pq, err := sp.Public(ctx)
	if err != nil {
		return nil, err
	}
	c, err := pq.CreateClient(ctx, publicdb.CreateClientParams{SchemaName: name, Name: "Bench tenant " + name})
	if err != nil {
		return nil, err
	}
	if _, err := pq.CreateDomain(ctx, publicdb.CreateDomainParams{Domain: host, ClientID: c.ID, IsPrimary: true}); err != nil {
		return nil, err
	}
	if err := pq.CreateTenantSchema(ctx, name); err != nil {
		return nil, err
	}
	tq, err := sp.Tenant(ctx, schema)
	if err != nil {
		return nil, err
	}
	if _, err := b.migrator.ApplyTenantTx(ctx, sp.Tx(), nil); err != nil {
		return nil, err
	}
	u, err := tq.CreateUser(ctx, tenantdb.CreateUserParams{
		Username: adminUsername, Email: adminUsername + "@" + host, PasswordHash: b.hash, IsStaff: true, Role: provision.RoleOwner,
	})
	if err != nil {
		return nil, err
	}
	err = audit.Record(ctx, tq, schema, audit.Entry{
		Action: audit.UserCreated, Actor: audit.OperatorFrom(ctx), Target: audit.Of("user", u.ID),
		After: audit.UserFields(u), Data: audit.UserDataOf(u),
	})
	if err != nil {
		return nil, err
	}
	var apiKey string
	if b.apiKeys {
		key, prefix, hash := token.NewAPIKey(c.ID)
		_, err := tq.CreateAPIKey(ctx, tenantdb.CreateAPIKeyParams{Name: "bench", Prefix: prefix, KeyHash: hash, Scope: "read", CreatedBy: u.ID})
		if err != nil {
			return nil, err
		}
		apiKey = key
	}
	if err := seedTx(ctx, sp.Tx(), b.items, u.ID); err != nil {
		return nil, err
	}
	if pq, err = sp.Public(ctx); err != nil {
		return nil, err
	}
	if err := pq.MarkClientReady(ctx, c.ID); err != nil {
		return nil, err
	}
	row, err := pq.ResolveDomain(ctx, host)
	if err != nil {
		return nil, err
	}
	pair, err := b.issuer.IssuePair(token.User{ID: u.ID, Username: u.Username, Email: u.Email, Tenant: name, TenantID: c.ID}, uuid.Nil)
	if err != nil {
		return nil, err
	}
	return &tenant{schema: schema.Pin(row.ID, row.SchemaOid), host: host, userID: u.ID, token: pair.Access, apiKey: apiKey}, nil
}

// tenantName is the schema of tenant number i+1.
func tenantName(i int) string { return fmt.Sprintf("t%d", i+1) }
