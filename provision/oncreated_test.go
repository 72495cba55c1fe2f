package provision_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/db/tenantdb"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/mail"
	"github.com/tenantctl/tenantctl/provision"
)

// TestOnCreated: the hook runs in the transaction that creates the owner,
// on a pgx.Tx scoped to the new tenant that River can enqueue into, and a
// failing hook rolls the whole tenant back, its job too.
func TestOnCreated(t *testing.T) {
	s, d := newService(t)
	ctx := t.Context()
	q, err := jobs.Open(d.Pool, jobs.Options{})
	require.NoError(t, err)
	msg := mail.Message{To: "boss@acme.com", Subject: "Hello", Text: "Hello", HTML: "<p>Hello</p>"}
	admin := &provision.UserParams{Username: "boss", Email: "boss@acme.com", Password: "s3cret-pass"}

	t.Run("OK", func(t *testing.T) {
		var seen tenantdb.User
		var client publicdb.Client
		var searchPath string
		c, err := s.CreateTenant(ctx, provision.TenantParams{
			Schema: "acme", Name: "ACME", Domain: "acme.example.com", Admin: admin,
			OnCreated: func(ctx context.Context, tx pgx.Tx, c publicdb.Client, owner tenantdb.User) error {
				seen, client = owner, c
				if err := tx.QueryRow(ctx, "SELECT current_setting('search_path')").Scan(&searchPath); err != nil {
					return err
				}
				// The owner is visible in the hook's transaction.
				if _, err := tenantdb.New(tx).GetUserByUsername(ctx, "boss"); err != nil {
					return err
				}
				return q.TenantEmailTx(ctx, tx, db.MustParseSchema("acme"), msg)
			},
		})
		require.NoError(t, err)
		assert.Equal(t, "ready", c.State)
		assert.Equal(t, c.ID, client.ID)
		assert.Equal(t, `"acme"`, searchPath)
		assert.Equal(t, provision.RoleOwner, seen.Role)
		assert.Equal(t, "boss@acme.com", seen.Email)
		assert.NotZero(t, seen.ID)
		assert.Equal(t, 1, count(t, d, "SELECT count(*) FROM river.river_job WHERE kind = 'email.send'"))
	})

	t.Run("ErrHookRollsBack", func(t *testing.T) {
		before := count(t, d, "SELECT count(*) FROM river.river_job")
		boom := errors.New("boom")
		_, err := s.CreateTenant(ctx, provision.TenantParams{
			Schema: "beta", Name: "Beta", Domain: "beta.example.com", Admin: admin,
			OnCreated: func(ctx context.Context, tx pgx.Tx, _ publicdb.Client, _ tenantdb.User) error {
				if err := q.TenantEmailTx(ctx, tx, db.MustParseSchema("beta"), msg); err != nil {
					return err
				}
				return boom
			},
		})
		require.ErrorIs(t, err, boom)
		assert.Zero(t, leftovers(t, d, "beta"), "no client row, domain or schema")
		assert.Equal(t, before, count(t, d, "SELECT count(*) FROM river.river_job"), "no job")
	})

	t.Run("ErrNoAdmin", func(t *testing.T) {
		_, err := s.CreateTenant(ctx, provision.TenantParams{
			Schema: "gamma", Name: "Gamma", Domain: "gamma.example.com",
			OnCreated: func(context.Context, pgx.Tx, publicdb.Client, tenantdb.User) error { return nil },
		})
		require.Error(t, err)
		assert.Zero(t, leftovers(t, d, "gamma"))
	})
}
