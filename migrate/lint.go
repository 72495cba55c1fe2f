package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
)

// The tenant migration linter refuses, in tenant migrations, what Citus
// cannot run in a distributed schema (schema-based sharding: each tenant
// schema lives whole on one worker). It runs on plain PostgreSQL too, so a
// project stays ready to move onto Citus; migrate runs it before applying
// anything, and a test runs it on every migration in the repository.
//
// It reads SQL as tokens: string literals, quoted identifiers,
// dollar-quoted bodies and comments are single tokens or skipped, so
// nothing inside them is mistaken for a keyword, and keywords match whole
// words in any case. It reads the statements a migration runs, not the code
// of functions or DO blocks those statements create or run.

// The rules of the tenant migration linter.
const (
	RuleCrossSchemaFK        = "cross-schema-foreign-key"
	RuleTrigger              = "trigger"
	RuleAlterTableConstraint = "alter-table-constraint"
	RuleInsertSubquery       = "insert-values-subquery"
	RuleTransactionFalse     = "transaction-false"
	RuleBeginAtomic          = "begin-atomic"
)

// Problem is one thing the linter refuses in a tenant migration.
type Problem struct {
	File    string // the file's name, as given to LintTenant
	Line    int    // 1-based line of the offending statement or clause
	Rule    string // one of the Rule constants
	Message string // what is refused, why, and how to write it instead
}

// String gives the problem as FILE:LINE: RULE: MESSAGE, on one line.
func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Rule, p.Message)
}

// LintError is the error of a tenant migration the linter refuses.
type LintError struct {
	Problems []Problem
}

// Error lists the problems on one line, for the CLI's one-line errors.
func (e *LintError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "refused by the tenant migration linter (Citus could not run it): " + strings.Join(parts, "; ")
}

// LintTenantDir lints every migration file in dir of fsys. It returns a
// *LintError listing every problem, an error reading the files, or nil.
func LintTenantDir(fsys fs.FS, dir string) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && versionPattern.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return lintTenantFiles(fsys, dir, names)
}

// lintTenantFiles lints the named files of dir in fsys, as LintTenantDir.
func lintTenantFiles(fsys fs.FS, dir string, names []string) error {
	var problems []Problem
	for _, name := range names {
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return fmt.Errorf("read migration %s: %w", name, err)
		}
		problems = append(problems, LintTenant(name, string(b))...)
	}
	if len(problems) > 0 {
		return &LintError{Problems: problems}
	}
	return nil
}

// IsLintError reports whether err is, or wraps, a *LintError.
func IsLintError(err error) bool {
	var le *LintError
	return errors.As(err, &le)
}

// dbmate's own patterns for a section's directives (pkg/dbmate/migration.go),
// so the linter reads the same up sections migrate applies.
var (
	upDirective   = regexp.MustCompile(`(?m)^--\s*migrate:up(\s*$|\s+\S+)`)
	downDirective = regexp.MustCompile(`(?m)^--\s*migrate:down(\s*$|\s+\S+)`)
	directiveName = regexp.MustCompile(`^--\s*migrate:(up|down)`)
)

// LintTenant lints the tenant migration sql, the contents of the file name
// (dbmate's format), and returns its problems in file order: nil if it may
// run on Citus. Only the up sections are read: migrate never runs down.
func LintTenant(name, sql string) []Problem {
	var problems []Problem
	line, at := 1, 0 // the line of offset at; problems come mostly in order
	add := func(pos int, rule, msg string) {
		if pos < at {
			line, at = 1, 0
		}
		line += strings.Count(sql[at:pos], "\n")
		at = pos
		problems = append(problems, Problem{File: name, Line: line, Rule: rule, Message: msg})
	}
	ups := upDirective.FindAllStringIndex(sql, -1)
	for i, up := range ups {
		end := len(sql)
		if i+1 < len(ups) {
			end = ups[i+1][0]
		}
		if down := downDirective.FindStringIndex(sql[up[0]:end]); down != nil {
			end = up[0] + down[0]
		}
		if upOptions(sql[up[0]:end])["transaction"] == "false" {
			add(up[0], RuleTransactionFalse, "tenant migrations must run in a transaction: remove transaction:false "+
				"(migrate scopes the tenant's search_path to the migration's transaction, which it cannot do without one; "+
				"index with a plain CREATE INDEX, which locks only one tenant's table)")
		}
		for _, st := range statements(tokenize(sql[up[0]:end], up[0])) {
			lintStatement(st, add)
		}
	}
	// Rules run a statement at a time: put a statement's problems in order.
	slices.SortStableFunc(problems, func(a, b Problem) int { return a.Line - b.Line })
	return problems
}

// upOptions parses the options of the up directive that starts section, as
// dbmate does: key:value pairs after "-- migrate:up" on its line.
func upOptions(section string) map[string]string {
	line, _, _ := strings.Cut(section, "\n")
	opts := map[string]string{}
	for _, pair := range strings.Fields(directiveName.ReplaceAllString(line, "")) {
		if kv := strings.Split(pair, ":"); len(kv) == 2 {
			opts[kv[0]] = kv[1]
		}
	}
	return opts
}

type tokenKind uint8

const (
	tokWord   tokenKind = iota // keyword, identifier or number
	tokIdent                   // "quoted identifier"
	tokString                  // '...', E'...', $tag$...$tag$
	tokPunct                   // any other single byte
)

// token is a token of SQL, at pos in its file, at depth parentheses within
// its statement: an opening parenthesis is at the depth outside it, as is
// its closing one.
type token struct {
	kind  tokenKind
	raw   string // the text as written
	upper string // raw in upper case (ASCII letters only), for words
	pos   int
	depth int
}

// tokenize splits sql, which starts at offset base of its file, into
// tokens. It skips quotes and comments exactly as splitStatements does, so
// its semicolons are the ones splitStatements splits at.
func tokenize(sql string, base int) []token {
	var ts []token
	depth := 0
	emit := func(kind tokenKind, i, j int) {
		t := token{kind: kind, raw: sql[i:j], pos: base + i, depth: depth}
		if kind == tokWord {
			t.upper = upperASCII(t.raw)
		}
		ts = append(ts, t)
	}
	for i := 0; i < len(sql); {
		switch c := sql[i]; {
		case strings.IndexByte(sqlSpace, c) >= 0:
			i++
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			i = skipLine(sql, i)
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			i = skipBlockComment(sql, i)
		case c == '\'':
			escapes := i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !isIdentChar(sql[i-2]))
			j := skipQuoted(sql, i, '\'', escapes)
			emit(tokString, i, j)
			i = j
		case c == '"':
			j := skipQuoted(sql, i, '"', false)
			emit(tokIdent, i, j)
			i = j
		case c == '$' && (i == 0 || !isIdentChar(sql[i-1])):
			j := skipDollar(sql, i)
			if j > i+1 {
				emit(tokString, i, j)
			} else {
				emit(tokPunct, i, j) // a parameter's $
			}
			i = j
		case isIdentChar(c):
			j := skipWord(sql, i)
			emit(tokWord, i, j)
			i = j
		default:
			if c == ')' {
				depth--
			}
			emit(tokPunct, i, i+1)
			switch c {
			case '(':
				depth++
			case ';':
				depth = 0
			}
			i++
		}
	}
	return ts
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// statements groups tokens into statements, without their semicolons.
func statements(ts []token) [][]token {
	var out [][]token
	start := 0
	for i, t := range ts {
		if t.kind == tokPunct && t.raw == ";" {
			if i > start {
				out = append(out, ts[start:i])
			}
			start = i + 1
		}
	}
	if start < len(ts) {
		out = append(out, ts[start:])
	}
	return out
}

// stmt is one statement's tokens, with matching helpers that are false
// past its end.
type stmt []token

func (s stmt) word(i int, words ...string) bool {
	if i < 0 || i >= len(s) || s[i].kind != tokWord {
		return false
	}
	for _, w := range words {
		if s[i].upper == w {
			return true
		}
	}
	return false
}

func (s stmt) punct(i int, p string) bool {
	return i >= 0 && i < len(s) && s[i].kind == tokPunct && s[i].raw == p
}

// name reports whether s[i] can be (part of) an object's name.
func (s stmt) name(i int) bool {
	return i >= 0 && i < len(s) && (s[i].kind == tokWord || s[i].kind == tokIdent)
}

// qualifiedName returns the end of the dotted name at i and its text, or
// i and "" if no name starts there.
func (s stmt) qualifiedName(i int) (int, string) {
	if !s.name(i) {
		return i, ""
	}
	text := s[i].raw
	j := i + 1
	for s.punct(j, ".") && s.name(j+1) {
		text += "." + s[j+1].raw
		j += 2
	}
	return j, text
}

func lintStatement(tokens []token, add func(pos int, rule, msg string)) {
	s := stmt(tokens)
	lintForeignKeys(s, add)
	lintTrigger(s, add)
	lintAlterTable(s, add)
	lintInsertValues(s, add)
	for i := range s {
		if s.word(i, "BEGIN") && s.word(i+1, "ATOMIC") {
			add(s[i].pos, RuleBeginAtomic, "a BEGIN ATOMIC function body is refused: migrate sends a tenant migration "+
				"a statement at a time and would cut the body at its semicolons; write the body as a string instead: AS $$ ... $$")
		}
	}
}

// lintForeignKeys refuses REFERENCES to a schema-qualified table.
func lintForeignKeys(s stmt, add func(pos int, rule, msg string)) {
	for i := range s {
		if !s.word(i, "REFERENCES") {
			continue
		}
		if end, name := s.qualifiedName(i + 1); end > i+2 {
			add(s[i].pos, RuleCrossSchemaFK, fmt.Sprintf("a foreign key into another schema (REFERENCES %s) is refused: "+
				"Citus cannot distribute a foreign key from a tenant's schema into public or another schema, "+
				"and tenant migrations never name a schema; reference tables of the tenant's own schema by their bare name "+
				"(REFERENCES users (id)), and check references to shared rows in the application", name))
		}
	}
}

// lintTrigger refuses CREATE [OR REPLACE] [CONSTRAINT | EVENT] TRIGGER.
func lintTrigger(s stmt, add func(pos int, rule, msg string)) {
	if !s.word(0, "CREATE") {
		return
	}
	i := 1
	if s.word(i, "OR") && s.word(i+1, "REPLACE") {
		i += 2
	}
	if s.word(i, "CONSTRAINT", "EVENT") {
		i++
	}
	if s.word(i, "TRIGGER") {
		add(s[0].pos, RuleTrigger, "CREATE TRIGGER is refused: Citus does not run triggers on the tables of a distributed schema; "+
			"do the trigger's work in the application, in the same transaction as the change "+
			"(or with a generated column, a DEFAULT or a CHECK constraint where one fits)")
	}
}

// tableConstraint lists the words that start a table constraint after ADD.
var tableConstraint = []string{"CONSTRAINT", "CHECK", "UNIQUE", "PRIMARY", "FOREIGN", "EXCLUDE"}

// lintAlterTable refuses an ALTER TABLE of several actions of which one
// adds a constraint, and an ADD COLUMN with an inline constraint: Citus
// answers "cannot execute ADD COLUMN command with PRIMARY KEY, UNIQUE,
// FOREIGN and CHECK constraints" and refuses constraints in multi-action
// commands.
func lintAlterTable(s stmt, add func(pos int, rule, msg string)) {
	if !s.word(0, "ALTER") || !s.word(1, "TABLE") {
		return
	}
	i := 2
	if s.word(i, "IF") && s.word(i+1, "EXISTS") {
		i += 2
	}
	if s.word(i, "ONLY") {
		i++
	}
	i, table := s.qualifiedName(i)
	if s.punct(i, "*") {
		i++
	}
	if table == "" {
		table = "t"
	}
	// The actions, split at the commas outside parentheses.
	var actions []stmt
	start := i
	for j := i; j <= len(s); j++ {
		if j == len(s) || s.punct(j, ",") && s[j].depth == 0 {
			if j > start {
				actions = append(actions, s[start:j])
			}
			start = j + 1
		}
	}
	for _, a := range actions {
		if !a.word(0, "ADD") {
			continue
		}
		if a.word(1, tableConstraint...) {
			if len(actions) > 1 {
				add(a[0].pos, RuleAlterTableConstraint, fmt.Sprintf("ADD CONSTRAINT in an ALTER TABLE of several actions is refused: "+
					"Citus cannot add a constraint together with other changes; give the constraint an ALTER TABLE of its own: "+
					"ALTER TABLE %s ADD CONSTRAINT ...", table))
				return
			}
			continue
		}
		// ADD [COLUMN] [IF NOT EXISTS] name type [constraints]
		for j := 1; j < len(a); j++ {
			if a[j].depth == 0 && a.word(j, "CHECK", "UNIQUE", "PRIMARY", "REFERENCES") {
				add(a[j].pos, RuleAlterTableConstraint, fmt.Sprintf("ADD COLUMN with an inline %s constraint is refused: "+
					"Citus cannot execute ADD COLUMN with PRIMARY KEY, UNIQUE, FOREIGN and CHECK constraints; "+
					"add the column, then the constraint in an ALTER TABLE of its own: "+
					"ALTER TABLE %s ADD COLUMN ...; ALTER TABLE %s ADD CONSTRAINT ...", a[j].upper, table, table))
				return
			}
		}
	}
}

// lintInsertValues refuses a subquery in the VALUES of an INSERT.
func lintInsertValues(s stmt, add func(pos int, rule, msg string)) {
	for i := range s {
		if !s.word(i, "INSERT") {
			continue
		}
		d := s[i].depth
		// Find the INSERT's own VALUES: at its depth, before its query or its end.
		j := i + 1
		for ; j < len(s) && s[j].depth >= d; j++ {
			if s[j].depth == d && s.word(j, "VALUES", "SELECT", "DEFAULT", "RETURNING", "ON") {
				break
			}
		}
		if !s.word(j, "VALUES") || s[j].depth != d {
			continue
		}
		for k := j + 1; k < len(s) && s[k].depth >= d; k++ {
			if s[k].depth == d && s.word(k, "ON", "RETURNING") {
				break
			}
			if s.punct(k, "(") && s.word(k+1, "SELECT", "WITH") {
				add(s[k+1].pos, RuleInsertSubquery, "a subquery in INSERT ... VALUES is refused: Citus does not run subqueries "+
					"inside the VALUES of an INSERT into a distributed table; write it as INSERT ... SELECT: "+
					"INSERT INTO t (a, b) SELECT 1, x FROM ... instead of VALUES (1, (SELECT x FROM ...))")
				break
			}
		}
	}
}
