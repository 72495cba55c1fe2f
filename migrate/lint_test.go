package migrate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/dbmate"
	"github.com/tenantctl/tenantctl/dbtest"
	"github.com/tenantctl/tenantctl/migrate"
)

// up wraps body in a migration's sections: body's first line is line 2.
func up(body string) string {
	return "-- migrate:up\n" + body + "\n-- migrate:down\nDROP TABLE IF EXISTS nothing;\n"
}

type found struct {
	Line int
	Rule string
}

func TestLintTenant(t *testing.T) {
	const (
		fk      = migrate.RuleCrossSchemaFK
		trigger = migrate.RuleTrigger
		alter   = migrate.RuleAlterTableConstraint
		insert  = migrate.RuleInsertSubquery
		txFalse = migrate.RuleTransactionFalse
		atomic  = migrate.RuleBeginAtomic
	)
	for _, tc := range []struct {
		name string
		sql  string // a whole file
		want []found
	}{
		// 1. Foreign keys into another schema.
		{"OK local reference", up("CREATE TABLE a (id int, user_id bigint REFERENCES users (id) ON DELETE CASCADE);"), nil},
		{"OK local reference without columns", up("CREATE TABLE a (user_id bigint REFERENCES users);"), nil},
		{"OK quoted local reference", up(`CREATE TABLE a (user_id bigint REFERENCES "users" ("id"));`), nil},
		{"OK schema in a string", up("INSERT INTO notes (body) VALUES ('see REFERENCES public.users');"), nil},
		{"OK schema in a comment", up("-- not REFERENCES public.users\n/* nor REFERENCES public.x */ CREATE TABLE a (id int);"), nil},
		{"OK schema in a dollar quote", up("CREATE FUNCTION f() RETURNS text AS $body$ SELECT 'x' FROM public.t; -- REFERENCES public.x\n$body$ LANGUAGE sql;"), nil},
		{"ErrReferencesPublic", up("CREATE TABLE a (\n  id int,\n  client_id bigint REFERENCES public.clients (id)\n);"), []found{{4, fk}}},
		{"ErrReferencesOtherSchema", up("CREATE TABLE a (id int);\nALTER TABLE a ADD CONSTRAINT a_fk FOREIGN KEY (id)\n  references other.b (id);"), []found{{4, fk}}},
		{"ErrReferencesQuotedSchema", up(`CREATE TABLE a (id int REFERENCES "public"."clients" (id));`), []found{{2, fk}}},
		{"ErrReferencesSpacedAndLowercase", up("create table a (id int references\n  public . clients);"), []found{{2, fk}}},
		{"ErrReferencesInColumnAdd", up("ALTER TABLE a ADD COLUMN c bigint REFERENCES public.clients;"), []found{{2, fk}, {2, alter}}},

		// 2. Triggers.
		{"OK trigger in a string", up("INSERT INTO notes (body) VALUES ('CREATE TRIGGER t');"), nil},
		{"OK column named trigger_at", up("CREATE TABLE a (trigger_at timestamptz);"), nil},
		{"OK function", up("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;"), nil},
		{"ErrTrigger", up("CREATE TABLE a (id int);\n\nCREATE TRIGGER a_t BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION f();"), []found{{4, trigger}}},
		{"ErrConstraintTrigger", up("create constraint trigger a_t after insert on a\nfor each row execute function f();"), []found{{2, trigger}}},
		{"ErrOrReplaceTrigger", up("SELECT 1;\nCREATE OR REPLACE\n  TRIGGER a_t BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION f();"), []found{{3, trigger}}},
		{"ErrTriggerAfterComment", up("/* a; b */ CREATE /* x */ TRIGGER a_t BEFORE UPDATE ON a EXECUTE FUNCTION f();"), []found{{2, trigger}}},

		// 3. ALTER TABLE with constraints.
		{"OK one ADD CONSTRAINT", up("ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('owner', 'admin'));"), nil},
		{"OK ADD COLUMN with NOT NULL DEFAULT", up("ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'member';"), nil},
		{"OK several ADD COLUMN", up("ALTER TABLE a ADD COLUMN b int, ADD COLUMN c numeric(10, 2) NOT NULL DEFAULT 0;"), nil},
		{"OK column named check_in", up("ALTER TABLE a ADD COLUMN check_in timestamptz, ADD COLUMN unique_key text;"), nil},
		{"OK quoted column named check", up(`ALTER TABLE a ADD COLUMN "check" text;`), nil},
		{"OK CHECK in CREATE TABLE", up("CREATE TABLE a (\n  id int PRIMARY KEY,\n  n text NOT NULL UNIQUE CHECK (n <> ''),\n  CONSTRAINT a_n CHECK (length(n) < 9)\n);"), nil},
		{"OK CHECK in a string default", up("ALTER TABLE a ADD COLUMN note text DEFAULT 'CHECK, UNIQUE';"), nil},
		{"OK several DROP", up("ALTER TABLE users DROP COLUMN email_verified, DROP COLUMN role;"), nil},
		{"ErrAddColumnCheck", up("ALTER TABLE users\n  ADD COLUMN role text NOT NULL DEFAULT 'member'\n    CHECK (role IN ('owner', 'admin', 'member'));"), []found{{4, alter}}},
		{"ErrAddColumnUnique", up("alter table only a add c text unique;"), []found{{2, alter}}},
		{"ErrAddColumnPrimaryKey", up("ALTER TABLE IF EXISTS a ADD COLUMN IF NOT EXISTS id bigint PRIMARY KEY;"), []found{{2, alter}}},
		{"ErrAddColumnReferences", up("ALTER TABLE a ADD COLUMN user_id bigint REFERENCES users (id);"), []found{{2, alter}}},
		{"ErrAddColumnNamedConstraint", up("ALTER TABLE a ADD COLUMN n int CONSTRAINT a_n_check CHECK (n > 0);"), []found{{2, alter}}},
		{"ErrAddConstraintWithOthers", up("ALTER TABLE a\n  ADD COLUMN n int,\n  ADD CONSTRAINT a_n CHECK (n > 0);"), []found{{4, alter}}},
		{"ErrAddUnnamedCheckWithOthers", up("ALTER TABLE a DROP COLUMN x,\nADD CHECK (n > 0);"), []found{{3, alter}}},
		{"ErrAddPrimaryKeyWithOthers", up("ALTER TABLE a ADD PRIMARY KEY (id), ALTER COLUMN id SET NOT NULL;"), []found{{2, alter}}},

		// 4. Subqueries in INSERT ... VALUES.
		{"OK INSERT VALUES", up("INSERT INTO a (x, y) VALUES (1, 'SELECT'), (2, lower('B'));"), nil},
		{"OK INSERT SELECT", up("INSERT INTO a (x) SELECT id FROM b WHERE id IN (SELECT id FROM c);"), nil},
		{"OK subquery in ON CONFLICT", up("INSERT INTO a (x) VALUES (1) ON CONFLICT (x) DO UPDATE SET y = (SELECT 1);"), nil},
		{"OK subquery in UPDATE", up("UPDATE users SET role = 'owner' WHERE id = (SELECT min(id) FROM users WHERE is_staff);"), nil},
		{"OK VALUES in a subquery", up("INSERT INTO a (x) SELECT v FROM (VALUES (1), (2)) AS t (v);"), nil},
		{"ErrInsertValuesSubquery", up("INSERT INTO a (x, y)\nVALUES (1,\n  (SELECT id FROM b LIMIT 1));"), []found{{4, insert}}},
		{"ErrInsertValuesNestedSubquery", up("insert into a values (1, coalesce((\nselect max(x) from a), 0));"), []found{{3, insert}}},
		{"ErrInsertValuesSecondRow", up("INSERT INTO a VALUES (1), ((SELECT 2));"), []found{{2, insert}}},
		{"ErrInsertInCTE", up("WITH n AS (INSERT INTO a VALUES ((SELECT 1)) RETURNING x) SELECT * FROM n;"), []found{{2, insert}}},

		// 5. transaction:false.
		{"OK transaction true", "-- migrate:up transaction:true\nCREATE TABLE a (id int);\n-- migrate:down\n", nil},
		{"OK transaction:false on down", "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down transaction:false\nDROP TABLE a;\n", nil},
		{"ErrTransactionFalse", "-- a comment\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY a_idx ON a (id);\n-- migrate:down\n", []found{{2, txFalse}}},

		// BEGIN ATOMIC, which migrate's statement splitter would cut apart.
		{"OK BEGIN in a dollar body", up("CREATE FUNCTION f() RETURNS void AS $$ BEGIN ATOMIC; $$ LANGUAGE sql;"), nil},
		{"ErrBeginAtomic", up("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\nEND;"), []found{{3, atomic}}},

		// Only up sections run.
		{"OK down section", up("CREATE TABLE a (id int);") + "CREATE TRIGGER t BEFORE INSERT ON a EXECUTE FUNCTION f();\n", nil},
		{"Several problems in file order", up("CREATE TRIGGER t BEFORE INSERT ON a EXECUTE FUNCTION f();\nCREATE TABLE b (a_id int REFERENCES public.a);"),
			[]found{{2, trigger}, {3, fk}}},
		{"OK empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := migrate.LintTenant("20990101000000_x.sql", tc.sql)
			var got []found
			for _, p := range problems {
				got = append(got, found{p.Line, p.Rule})
				assert.Equal(t, "20990101000000_x.sql", p.File)
				assert.NotEmpty(t, p.Message)
				assert.True(t, strings.HasPrefix(p.String(), fmt.Sprintf("20990101000000_x.sql:%d: %s: ", p.Line, p.Rule)), p.String())
				assert.NotContains(t, p.String(), "\n")
			}
			assert.Equal(t, tc.want, got, "%v", problems)
		})
	}
}

// TestLintTenantHints: each refusal says how to write it instead.
func TestLintTenantHints(t *testing.T) {
	for sql, hint := range map[string]string{
		"ALTER TABLE users ADD COLUMN role text CHECK (role <> '');":   "ALTER TABLE users ADD CONSTRAINT",
		"ALTER TABLE a ADD COLUMN n int, ADD CONSTRAINT c UNIQUE (n);": "ALTER TABLE a ADD CONSTRAINT",
		"INSERT INTO a VALUES ((SELECT 1));":                           "INSERT ... SELECT",
		"CREATE TABLE a (u int REFERENCES public.users);":              "REFERENCES users (id)",
		"CREATE TRIGGER t AFTER INSERT ON a EXECUTE FUNCTION f();":     "in the application",
	} {
		problems := migrate.LintTenant("x.sql", up(sql))
		require.Len(t, problems, 1, sql)
		assert.Contains(t, problems[0].Message, hint)
	}
}

// TestTenantMigrationsPassTheLinter: every tenant migration of the
// repository runs on Citus.
func TestTenantMigrationsPassTheLinter(t *testing.T) {
	require.NoError(t, migrate.LintTenantDir(dbmate.Tenant, "tenant"))
}

func TestLintTenantDir(t *testing.T) {
	fsys := fstest.MapFS{
		"tenant/20990101000000_ok.sql":      {Data: []byte(up("CREATE TABLE a (id int);"))},
		"tenant/20990102000000_bad.sql":     {Data: []byte(up("SELECT 1;\nCREATE TRIGGER t AFTER INSERT ON a EXECUTE FUNCTION f();"))},
		"tenant/20990103000000_worse.sql":   {Data: []byte("-- migrate:up transaction:false\nSELECT 1;\n-- migrate:down\n")},
		"tenant/README.md":                  {Data: []byte("CREATE TRIGGER is not read here")},
		"tenant/20990104000000_not_sql.txt": {Data: []byte("CREATE TRIGGER")},
	}
	err := migrate.LintTenantDir(fsys, "tenant")
	require.Error(t, err)
	assert.True(t, migrate.IsLintError(err))
	assert.Contains(t, err.Error(), "20990102000000_bad.sql:3: trigger: ")
	assert.Contains(t, err.Error(), "20990103000000_worse.sql:1: transaction-false: ")
	assert.NotContains(t, err.Error(), "ok.sql")
	assert.Error(t, migrate.LintTenantDir(fsys, "missing"))
}

// TestMigrateRefusesLintedMigration: a pending migration the linter refuses
// fails MigrateTenant (and MigrateTenants) with the file, line and rule,
// and nothing is applied, not even the pending files before it.
func TestMigrateRefusesLintedMigration(t *testing.T) {
	d := dbtest.New(t)
	s := newSchema(t, d, "acme")
	fsys := withExtra(t, "20990101000000_good.sql", up("CREATE TABLE good (id int);"))
	fsys["tenant/20990102000000_bad.sql"] = &fstest.MapFile{Data: []byte(up(
		"CREATE TABLE bad (id int);\nALTER TABLE bad\n  ADD COLUMN n int CHECK (n > 0);"))}
	d.Migrator.Tenant = fsys

	n, err := d.Migrator.MigrateTenant(t.Context(), s)
	require.Error(t, err)
	assert.Equal(t, 0, n)
	assert.True(t, migrate.IsLintError(err))
	assert.Contains(t, err.Error(), "20990102000000_bad.sql:4: alter-table-constraint: ADD COLUMN with an inline CHECK constraint is refused")

	results := d.Migrator.MigrateTenants(t.Context(), []db.Schema{s}, 1, nil)
	require.Len(t, results, 1)
	require.Error(t, results[0].Err)
	assert.Contains(t, results[0].Err.Error(), "20990102000000_bad.sql:4: alter-table-constraint")
	assert.True(t, migrate.IsLintError(results[0].Err))
	assert.Zero(t, results[0].Applied)

	var tables int
	require.NoError(t, d.Pool.QueryRow(t.Context(),
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = 'acme'").Scan(&tables))
	assert.Zero(t, tables, "the schema is unchanged")
	st, err := d.Migrator.TenantStatus(t.Context(), s)
	require.NoError(t, err)
	assert.Equal(t, []string{"20250101000000", "20990101000000", "20990102000000"}, st.Pending)

	// Fixed as the message says, it applies.
	fsys["tenant/20990102000000_bad.sql"] = &fstest.MapFile{Data: []byte(up(
		"CREATE TABLE bad (id int);\nALTER TABLE bad ADD COLUMN n int;\nALTER TABLE bad ADD CONSTRAINT bad_n_check CHECK (n > 0);"))}
	n, err = d.Migrator.MigrateTenant(t.Context(), s)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
}

// TestLintRulesMatchCitus runs, in a tenant schema, what each rule refuses
// and what its hint says to write instead: on Citus (go tool task
// test:citus, where the schema is distributed) the first fails with the
// error the rule foresees and the second works; on plain PostgreSQL the
// second works too. The linter refuses the first and passes the second.
func TestLintRulesMatchCitus(t *testing.T) {
	d := dbtest.New(t)
	newSchema(t, d, "acme")
	ctx := t.Context()
	var citus bool
	require.NoError(t, d.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')").Scan(&citus))
	inTenant := func(sql string) error {
		tx, err := d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // after Commit, a no-op
		if _, err := tx.Exec(ctx, "SET LOCAL search_path = acme"); err != nil {
			return err
		}
		for _, st := range strings.Split(sql, ";\n") {
			if _, err := tx.Exec(ctx, st); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	}
	require.NoError(t, inTenant("CREATE TABLE users (id bigint PRIMARY KEY);\n"+
		"CREATE TABLE a (id bigint PRIMARY KEY, n bigint);\n"+
		"CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"))

	for _, tc := range []struct {
		rule, refused, citusErr, instead string
	}{
		{migrate.RuleCrossSchemaFK, "CREATE TABLE b (id int, client_id bigint REFERENCES public.clients (id))",
			`referenced table "clients" must be a distributed table or a reference table`,
			"CREATE TABLE b (id int, user_id bigint REFERENCES users (id))"},
		{migrate.RuleTrigger, "CREATE TRIGGER a_touch BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION touch()",
			"triggers are not supported on distributed tables",
			"UPDATE a SET n = n + 1"},
		{migrate.RuleAlterTableConstraint, "ALTER TABLE a ADD COLUMN m int CHECK (m > 0)",
			"cannot execute ADD COLUMN command with PRIMARY KEY, UNIQUE, FOREIGN and CHECK constraints",
			"ALTER TABLE a ADD COLUMN m int;\nALTER TABLE a ADD CONSTRAINT a_m_check CHECK (m > 0)"},
		{migrate.RuleAlterTableConstraint, "ALTER TABLE a ADD COLUMN k int, ADD CONSTRAINT a_k_key UNIQUE (k)",
			"cannot execute ADD CONSTRAINT command with other subcommands",
			"ALTER TABLE a ADD COLUMN k int, ADD COLUMN j int;\nALTER TABLE a ADD CONSTRAINT a_k_key UNIQUE (k)"},
		{migrate.RuleInsertSubquery, "INSERT INTO a (id, n) VALUES (1, (SELECT count(*) FROM users))",
			"subqueries are not supported within INSERT queries",
			"INSERT INTO a (id, n) SELECT 1, count(*) FROM users"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			problems := migrate.LintTenant("x.sql", up(tc.refused+";"))
			require.Len(t, problems, 1, tc.refused)
			assert.Equal(t, tc.rule, problems[0].Rule)
			assert.Empty(t, migrate.LintTenant("x.sql", up(tc.instead+";")), tc.instead)
			if citus {
				err := inTenant(tc.refused)
				require.Error(t, err, "Citus runs %s", tc.refused)
				assert.Contains(t, err.Error(), tc.citusErr)
			}
			require.NoError(t, inTenant(tc.instead))
		})
	}
}
