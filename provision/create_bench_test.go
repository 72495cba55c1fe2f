package provision_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/db/publicdb"
	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/migrate"
	"github.com/tenantctl/tenantctl/password"
	"github.com/tenantctl/tenantctl/provision"
)

// BenchmarkCreateTenant splits the time of `tenant create` (issue #4):
// CreateTenant as the CLI calls it, without its admin user, the admin's
// password hash alone, and creating and migrating a bare schema (SchemaOnly),
// down to a migration with no DDL (the fixed cost of a migration). It compares
// replaying the tenant migrations with two prototypes that clone a schema
// migrated once (tenant_template) instead:
//
//   - CloneLike: CREATE TABLE ... (LIKE tenant_template.x INCLUDING ALL), then
//     the foreign keys, which LIKE never copies. Indexes not backing a
//     constraint get generated names, so the clone differs from a replayed
//     tenant (logged, not fatal).
//   - CloneCatalog: the same without LIKE's indexes; constraints and indexes
//     are rebuilt from the catalog under their own names. Its clone must match
//     a replayed tenant exactly, or the benchmark fails.
//
// Both prototypes run as the one tenant migration file of a Migrator of their
// own, so CreateTenant itself runs them, under the same lock and transaction
// as a replay, and records the template's migration versions.
func BenchmarkCreateTenant(b *testing.B) {
	d := dbtest.New(b)
	ctx := b.Context()
	h := password.NewHasher(0) // as the CLI makes it
	replay := provision.New(d.Pool, d.Migrator, h)

	template := db.MustParseSchema("tenant_template")
	if err := db.InPublic(ctx, d.Pool, func(q *publicdb.Queries) error {
		return q.CreateTenantSchema(ctx, template.String())
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Migrator.MigrateTenant(ctx, template); err != nil {
		b.Fatal(err)
	}
	likeDDL, catalogDDL := cloneDDL(b, d, template)
	like := cloneMigrator(b, d, likeDDL)
	catalog := cloneMigrator(b, d, catalogDDL)

	n := 0
	next := func() db.Schema {
		n++
		return db.MustParseSchema(fmt.Sprintf("bench_%d", n))
	}

	// Both clones must migrate a schema, and CloneCatalog's must match a
	// replayed tenant exactly.
	want := shape(b, d, template)
	for _, c := range []struct {
		name     string
		m        *migrate.Migrator
		faithful bool
	}{{"CloneLike", like, false}, {"CloneCatalog", catalog, true}} {
		s := next()
		createSchema(b, d, c.m, s)
		diff := diffLines(want, shape(b, d, s))
		switch {
		case c.faithful && len(diff) > 0:
			b.Fatalf("%s differs from a replayed tenant:\n%s", c.name, strings.Join(diff, "\n"))
		case len(diff) > 0:
			b.Logf("%s differs from a replayed tenant:\n%s", c.name, strings.Join(diff, "\n"))
		}
		dropSchemas(b, d, replay, []db.Schema{s})
	}

	admin := &provision.UserParams{Username: "boss", Email: "boss@example.com", Password: "s3cret-pass", Staff: true}
	create := func(svc *provision.Service, admin *provision.UserParams) func(b *testing.B) {
		return func(b *testing.B) {
			var made []db.Schema
			loop(b, func() {
				s := next()
				made = append(made, s)
				if _, err := svc.CreateTenant(ctx, provision.TenantParams{
					Schema: s.String(), Name: s.String(), Domain: strings.ReplaceAll(s.String(), "_", "-") + ".example.com", Admin: admin,
				}); err != nil {
					b.Fatal(err)
				}
			})
			for _, s := range made {
				if err := replay.DeleteTenant(ctx, s.String()); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	schemaOnly := func(m *migrate.Migrator) func(b *testing.B) {
		return func(b *testing.B) {
			var made []db.Schema
			loop(b, func() {
				s := next()
				made = append(made, s)
				createSchema(b, d, m, s)
			})
			dropSchemas(b, d, replay, made)
		}
	}
	b.Run("Hash", func(b *testing.B) {
		loop(b, func() {
			if _, err := h.Hash(ctx, admin.Password); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("Replay/Admin", create(replay, admin))
	b.Run("Replay/NoAdmin", create(replay, nil))
	b.Run("CloneLike/NoAdmin", create(provision.New(d.Pool, like, h), nil))
	b.Run("CloneCatalog/Admin", create(provision.New(d.Pool, catalog, h), admin))
	b.Run("CloneCatalog/NoAdmin", create(provision.New(d.Pool, catalog, h), nil))
	b.Run("SchemaOnly/Replay", schemaOnly(d.Migrator))
	b.Run("SchemaOnly/CloneLike", schemaOnly(like))
	b.Run("SchemaOnly/CloneCatalog", schemaOnly(catalog))
	// The floor under any of them: the schema's creation, the direct
	// connection, lock, transaction and schema_migrations row of a migration
	// file with no DDL in it.
	b.Run("SchemaOnly/NoDDL", schemaOnly(cloneMigrator(b, d, "SELECT 1;")))
}

// loop runs fn as the benchmark's body and also reports the median time of
// one run: on a shared machine other work inflates the mean by bursts.
func loop(b *testing.B, fn func()) {
	var ds []time.Duration
	for b.Loop() {
		start := time.Now()
		fn()
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), "p50-ns/op")
}

// createSchema creates schema s and migrates it with m, as CreateTenant's
// build step does, without any public rows.
func createSchema(b *testing.B, d *dbtest.DB, m *migrate.Migrator, s db.Schema) {
	b.Helper()
	ctx := b.Context()
	if err := db.InPublic(ctx, d.Pool, func(q *publicdb.Queries) error {
		return q.CreateTenantSchema(ctx, s.String())
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := m.MigrateTenant(ctx, s); err != nil {
		b.Fatal(err)
	}
}

// dropSchemas drops bare schemas made by createSchema. Only a registered
// tenant's schema can be dropped, so each is registered first.
func dropSchemas(b *testing.B, d *dbtest.DB, svc *provision.Service, schemas []db.Schema) {
	b.Helper()
	ctx := b.Context()
	for _, s := range schemas {
		if _, err := d.Pool.Exec(ctx, "INSERT INTO clients (schema_name, name) VALUES ($1, $1)", s.String()); err != nil {
			b.Fatal(err)
		}
		if err := svc.DeleteTenant(ctx, s.String()); err != nil {
			b.Fatal(err)
		}
	}
}

// cloneMigrator returns a Migrator whose only tenant migration is ddl, filed
// under the newest real version so that schema_migrations ends up the same
// as after a replay.
func cloneMigrator(b *testing.B, d *dbtest.DB, ddl string) *migrate.Migrator {
	b.Helper()
	m, err := migrate.New(d.URL, d.Pool)
	if err != nil {
		b.Fatal(err)
	}
	m.Tenant = fstest.MapFS{
		"tenant/" + latestVersion(b) + "_clone.sql": {Data: []byte("-- migrate:up\n" + ddl + "\n-- migrate:down\n")},
	}
	return m
}

func latestVersion(b *testing.B) string {
	b.Helper()
	vs, err := migrate.Versions(dbmate.Tenant, "tenant")
	if err != nil || len(vs) == 0 {
		b.Fatalf("tenant migrations: %v (%d files)", err, len(vs))
	}
	return vs[len(vs)-1]
}

// cloneDDL generates, from the template's catalog, the two clone scripts.
// They run with the new tenant's search_path, so they name the template but
// never the new schema. The migrator creates schema_migrations and records
// the newest version; the script copies the older versions.
func cloneDDL(b *testing.B, d *dbtest.DB, template db.Schema) (like, catalog string) {
	b.Helper()
	ctx := b.Context()
	c := connect(b, d)

	const tables = `
		SELECT format('CREATE TABLE %I (LIKE %I.%I INCLUDING ALL%s);', c.relname, $1::text, c.relname, $2::text)
		FROM pg_class c
		WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r' AND c.relname <> 'schema_migrations'
		ORDER BY c.oid`
	// Primary keys, unique and exclusion constraints before the foreign keys
	// that need them.
	const constraints = `
		SELECT format('ALTER TABLE %I ADD CONSTRAINT %I %s;', c.relname, con.conname, pg_get_constraintdef(con.oid))
		FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
		WHERE con.connamespace = $1::regnamespace AND con.contype = ANY ($2::"char"[]) AND c.relname <> 'schema_migrations'
		ORDER BY con.contype = 'f', con.oid`
	// pg_get_indexdef always qualifies the table; the clone's is unqualified.
	const indexes = `
		SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident($1::text) || '.', ' ON ') || ';'
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		WHERE c.relnamespace = $1::regnamespace AND c.relname <> 'schema_migrations'
		  AND NOT EXISTS (SELECT FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid)
		ORDER BY i.indexrelid`
	const migrations = `
		SELECT format('INSERT INTO schema_migrations (version) SELECT version FROM %I.schema_migrations WHERE version <> %L;', $1::text, $2::text)`

	var l, k []string
	// Run with the template's search_path, so that the definitions the
	// catalog prints name the template's own tables unqualified.
	if err := db.OnConn(ctx, c, template, func(tx pgx.Tx) error {
		for _, q := range []struct {
			out  *[]string
			sql  string
			args []any
		}{
			{&l, tables, []any{""}},
			{&l, constraints, []any{[]string{"f"}}},
			{&l, migrations, []any{latestVersion(b)}},
			{&k, tables, []any{" EXCLUDING INDEXES"}},
			{&k, constraints, []any{[]string{"p", "u", "x", "f"}}},
			{&k, indexes, nil},
			{&k, migrations, []any{latestVersion(b)}},
		} {
			rows, _ := tx.Query(ctx, q.sql, append([]any{template.String()}, q.args...)...)
			ls, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("%w\n%s", err, q.sql)
			}
			*q.out = append(*q.out, ls...)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return strings.Join(l, "\n"), strings.Join(k, "\n")
}

// shape describes schema s's tables, columns, constraints, indexes,
// sequences, triggers, functions and applied migrations without naming s, one
// sorted line each, so that two schemas can be compared.
func shape(b *testing.B, d *dbtest.DB, s db.Schema) string {
	b.Helper()
	ctx := b.Context()
	c := connect(b, d)
	const sql = `
		WITH ns AS (SELECT current_schema()::regnamespace AS oid)
		SELECT string_agg(line, E'\n' ORDER BY line) FROM (
			SELECT format('relation %s kind=%s acl=%s', c.relname, c.relkind, c.relacl) AS line
			FROM pg_class c, ns WHERE c.relnamespace = ns.oid
			UNION ALL
			SELECT format('column %s.%s #%s %s notnull=%s identity=%s default=%s', c.relname, a.attname, a.attnum,
				format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, pg_get_expr(ad.adbin, ad.adrelid))
			FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
			LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum, ns
			WHERE c.relnamespace = ns.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
			UNION ALL
			SELECT format('constraint %s.%s %s', c.relname, con.conname, pg_get_constraintdef(con.oid))
			FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid, ns WHERE con.connamespace = ns.oid
			UNION ALL
			SELECT format('index %s', replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident(current_schema()) || '.', ' ON '))
			FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid, ns WHERE c.relnamespace = ns.oid
			UNION ALL
			SELECT format('sequence %s %s start=%s inc=%s min=%s max=%s owned_by=%s', c.relname, sq.seqtypid::regtype,
				sq.seqstart, sq.seqincrement, sq.seqmin, sq.seqmax, dep.refobjid::regclass)
			FROM pg_sequence sq JOIN pg_class c ON c.oid = sq.seqrelid
			LEFT JOIN pg_depend dep ON dep.objid = c.oid AND dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass, ns
			WHERE c.relnamespace = ns.oid
			UNION ALL
			SELECT format('trigger %s.%s %s', c.relname, t.tgname, pg_get_triggerdef(t.oid))
			FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid, ns WHERE c.relnamespace = ns.oid AND NOT t.tgisinternal
			UNION ALL
			SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
			UNION ALL
			SELECT 'migration ' || version FROM schema_migrations
		) lines`
	var out string
	if err := db.OnConn(ctx, c, s, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, sql).Scan(&out)
	}); err != nil {
		b.Fatal(err)
	}
	return out
}

// diffLines returns the lines of want missing from got ("-") and those of got
// not in want ("+").
func diffLines(want, got string) []string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var diff []string
	for _, l := range w {
		if !slices.Contains(g, l) {
			diff = append(diff, "- "+l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			diff = append(diff, "+ "+l)
		}
	}
	return diff
}

// connect opens a connection of its own to d, closed when b ends.
func connect(b *testing.B, d *dbtest.DB) *pgx.Conn {
	b.Helper()
	c, err := pgx.Connect(b.Context(), d.URL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(context.Background()) })
	return c
}
