package migrate

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSplitStatements(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
		want []string
	}{
		{"one", "CREATE TABLE a (id int)", []string{"CREATE TABLE a (id int)"}},
		{"two", "CREATE TABLE a (id int);\nCREATE INDEX a_idx ON a (id);\n", []string{"CREATE TABLE a (id int)", "CREATE INDEX a_idx ON a (id)"}},
		{"empty", " ; ;\n-- nothing\n/* still nothing */ ;", nil},
		{"string", "INSERT INTO t VALUES ('a;b', 'it''s;');SELECT 1", []string{"INSERT INTO t VALUES ('a;b', 'it''s;')", "SELECT 1"}},
		{"escape string", `SELECT E'a\';b';SELECT 2`, []string{`SELECT E'a\';b'`, "SELECT 2"}},
		{"not an escape string", `SELECT 'a\';SELECT 3`, []string{`SELECT 'a\'`, "SELECT 3"}},
		{"identifier", `CREATE TABLE "a;b" (id int);SELECT 4`, []string{`CREATE TABLE "a;b" (id int)`, "SELECT 4"}},
		{"line comment", "SELECT 5; -- a; b\nSELECT 6", []string{"SELECT 5", "-- a; b\nSELECT 6"}},
		{"nested comment", "SELECT /* a /* b; */ c; */ 7;SELECT 8", []string{"SELECT /* a /* b; */ c; */ 7", "SELECT 8"}},
		{"dollar", "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;SELECT 9",
			[]string{"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "SELECT 9"}},
		{"dollar tag", "DO $body$ BEGIN PERFORM 1; END $body$;SELECT 10", []string{"DO $body$ BEGIN PERFORM 1; END $body$", "SELECT 10"}},
		{"parameter", "PREPARE p AS SELECT $1;SELECT 11", []string{"PREPARE p AS SELECT $1", "SELECT 11"}},
		{"identifier with dollar", "SELECT a$b;SELECT 12", []string{"SELECT a$b", "SELECT 12"}},
		{"unterminated", "SELECT 'a;", []string{"SELECT 'a;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, splitStatements(tc.sql))
		})
	}
}

// FuzzSplitStatements: splitting never panics, and each statement it
// returns is one statement: split again, it comes back unchanged.
func FuzzSplitStatements(f *testing.F) {
	for _, s := range []string{"SELECT 1; SELECT 2", "SELECT 'a;b'", "$$;$$;", "/* /* */ */;", "E'\\';'", "SELECT 1 -- x\n;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		for _, st := range splitStatements(sql) {
			assert.NotEmpty(t, st)
			assert.Equal(t, []string{st}, splitStatements(st), "from %q", sql)
		}
	})
}
