package migrate

import (
	"strings"
	"testing"
)

// TestLintReadsTheStatementsMigrateRuns: the linter's statements are the
// ones splitStatements sends, also where quotes and words are unusual.
func TestLintReadsTheStatementsMigrateRuns(t *testing.T) {
	for _, sql := range []string{
		"SELECT 1; SELECT 2",
		"SELECT x$$ab$;$ab$ FROM t; SELECT 3",
		"SELECT $ab$;$ab$; SELECT E'\\';'; SELECT 'a\\'; SELECT \"b;\"",
		"/* a; /* b; */ ; */ SELECT 1; -- c;\n SELECT 2;;",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
		"SELECT $1; SELECT a$1; SELECT 'unterminated;",
		"\u3000; \u00a0CREATE TRIGGER t; SELECT 1\f",
	} {
		checkStatements(t, sql)
	}
}

func checkStatements(t *testing.T, sql string) {
	t.Helper()
	split := splitStatements(sql)
	lint := statements(tokenize(sql, 0))
	if len(split) != len(lint) {
		t.Fatalf("%q: splitStatements gives %d statements %q, the linter %d", sql, len(split), split, len(lint))
	}
	for i, st := range lint {
		last := st[len(st)-1]
		// An unterminated quote runs to the end, blank space too.
		text := strings.Trim(sql[st[0].pos:last.pos+len(last.raw)], sqlSpace)
		if !strings.Contains(split[i], text) {
			t.Fatalf("%q: statement %d is %q to splitStatements, the linter reads %q", sql, i, split[i], text)
		}
	}
}

// FuzzLint: the linter never panics, the lines it reports are lines of the
// file, and it reads the statements that migrate runs.
func FuzzLint(f *testing.F) {
	up := func(body string) string { return "-- migrate:up\n" + body + "\n-- migrate:down\n" }
	for _, s := range []string{
		up("CREATE TABLE a (id int REFERENCES public.b);"),
		up("ALTER TABLE a ADD COLUMN b int CHECK (b > 0), ADD CONSTRAINT c UNIQUE (b);"),
		up("INSERT INTO a VALUES ((SELECT 1)) ON CONFLICT DO NOTHING;"),
		up("CREATE OR REPLACE CONSTRAINT TRIGGER"),
		"-- migrate:up transaction:false\n-- migrate:up\n$$;$$ 'a;\n-- migrate:down",
		up("ALTER TABLE ONLY \"a\".b * ADD;;)))((( REFERENCES a. INSERT VALUES ( BEGIN ATOMIC"),
		up("E'\\'; REFERENCES public.x' /* /* */ REFERENCES x.y */ x$$y$;$y$"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		lines := strings.Count(sql, "\n") + 1
		for _, p := range LintTenant("f.sql", sql) {
			if p.Line < 1 || p.Line > lines || p.Rule == "" || p.Message == "" {
				t.Fatalf("%q: %+v", sql, p)
			}
		}
		checkStatements(t, sql)
	})
}
