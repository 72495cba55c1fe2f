package cluster_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/dbtest"
)

// TestCatalogStubsMatchCitus runs on a Citus cluster only: it applies
// sql/citus/catalog.sql, the stubs sqlc generates db/citusdb from, to an
// empty database without Citus and checks that every column, argument
// list and result type in it is the real Citus catalog's, so that the
// generated Go types read what Citus returns.
func TestCatalogStubsMatchCitus(t *testing.T) {
	if len(dbtest.CitusWorkers()) == 0 {
		t.Skip("not on Citus (TEST_CITUS_WORKERS unset)")
	}
	ctx := t.Context()
	real := dbtest.New(t)
	realConn, err := pgx.Connect(ctx, real.URL)
	require.NoError(t, err)
	t.Cleanup(func() { realConn.Close(context.Background()) })
	stub := plainDatabase(t)
	src, err := os.ReadFile("../sql/citus/catalog.sql")
	require.NoError(t, err)
	_, err = stub.PgConn().Exec(ctx, string(src)).ReadAll()
	require.NoError(t, err, "apply the stubs")

	type column struct{ Name, Type string }
	columns := func(c *pgx.Conn, rel string) []column {
		rows, err := c.Query(ctx, `SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
			WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, rel)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[column])
		require.NoError(t, err)
		return out
	}
	// Tables and views: each stub column is the real one, of the same type.
	rels := collect(t, stub, pgx.RowTo[string], `SELECT relname::text FROM pg_class
		WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname <> 'citus_rebalance_status_result'`)
	require.NotEmpty(t, rels)
	for _, rel := range rels {
		want := map[string]string{}
		for _, c := range columns(realConn, rel) {
			want[c.Name] = c.Type
		}
		require.NotEmpty(t, want, "Citus has no relation %s", rel)
		for _, c := range columns(stub, rel) {
			assert.Equal(t, want[c.Name], c.Type, "%s.%s", rel, c.Name)
		}
	}

	// Functions: the same arguments and result. A set-returning one is
	// compared by the columns of a view over it, as the stub returns a
	// stand-in table where Citus returns TABLE (...).
	type fn struct {
		Name, Args, Result string
		Set                bool
	}
	fns := collect(t, stub, pgx.RowToStructByPos[fn], `SELECT proname::text, pg_get_function_identity_arguments(oid),
		pg_get_function_result(oid), proretset FROM pg_proc WHERE pronamespace = 'public'::regnamespace`)
	require.NotEmpty(t, fns)
	for _, f := range fns {
		var result string
		err := realConn.QueryRow(ctx, `SELECT pg_get_function_result(oid) FROM pg_proc
			WHERE proname = $1 AND pronamespace = 'pg_catalog'::regnamespace AND pg_get_function_identity_arguments(oid) = $2`,
			f.Name, f.Args).Scan(&result)
		require.NoError(t, err, "Citus has no %s(%s)", f.Name, f.Args)
		if !f.Set {
			assert.Equal(t, result, f.Result, "%s(%s) returns", f.Name, f.Args)
			continue
		}
		view := "stub_" + f.Name
		for _, c := range []*pgx.Conn{realConn, stub} {
			_, err := c.Exec(ctx, "CREATE TEMP VIEW "+view+" AS SELECT * FROM "+f.Name+"()")
			require.NoError(t, err)
		}
		assert.Equal(t, columns(realConn, view), columns(stub, view), "%s() returns", f.Name)
	}

	// Enums: the same labels, in the same order.
	type enum struct {
		Name   string
		Labels []string
	}
	enums := collect(t, stub, pgx.RowToStructByPos[enum], `SELECT format_type(enumtypid, NULL),
		array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum GROUP BY enumtypid`)
	require.Len(t, enums, 3)
	for _, e := range enums {
		var labels []string
		require.NoError(t, realConn.QueryRow(ctx, `SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum
			WHERE enumtypid = to_regtype($1)`, e.Name).Scan(&labels))
		assert.Equal(t, labels, e.Labels, "labels of %s", e.Name)
	}
}

// collect runs a query on c and collects its rows with fn.
func collect[T any](t *testing.T, c *pgx.Conn, fn pgx.RowToFunc[T], sql string) []T {
	t.Helper()
	rows, err := c.Query(t.Context(), sql)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, fn)
	require.NoError(t, err)
	return out
}

// plainDatabase creates an empty database on the test server without the
// citus extension, dropped when t ends, and connects to it.
func plainDatabase(t *testing.T) *pgx.Conn {
	ctx := t.Context()
	admin, err := pgx.Connect(ctx, dbtest.ServerURL())
	require.NoError(t, err)
	defer admin.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "tenantctl_stub_" + hex.EncodeToString(b)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	u, err := url.Parse(dbtest.ServerURL())
	require.NoError(t, err)
	u.Path = "/" + name
	c, err := pgx.Connect(ctx, u.String())
	require.NoError(t, err)
	t.Cleanup(func() {
		c.Close(context.Background())
		a, err := pgx.Connect(context.Background(), dbtest.ServerURL())
		if err != nil {
			t.Error(err)
			return
		}
		defer a.Close(context.Background())
		if _, err := a.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	return c
}
