package migrate

import "strings"

// splitStatements splits a migration's SQL into its statements, each
// without its terminating semicolon and surrounding blank space; empty
// statements (a lone ";", or comments only) are dropped.
//
// Tenant migrations are sent one statement at a time because Citus
// forwards some DDL to the worker holding the tenant's schema by its raw
// query text (CREATE INDEX, ALTER TABLE ... RENAME, ...), and a worker
// refuses a text of several statements ("cannot insert multiple commands
// into a prepared statement").
//
// A semicolon ends a statement only outside quotes and comments: '...'
// (a doubled quote inside stays inside), E'...' (also backslash escapes), "...", $tag$...$tag$, -- to
// the end of the line, and /* ... */, which nest. Parentheses do not
// matter: a semicolon cannot occur inside them except in the quoted forms
// above (a function body is dollar-quoted, and BEGIN ATOMIC bodies are
// refused in tenant migrations, see lint).
func splitStatements(sql string) []string {
	var out []string
	start := 0
	keep := func(end int) {
		if s := strings.TrimSpace(sql[start:end]); s != "" && !onlyComments(s) {
			out = append(out, s)
		}
	}
	for i := 0; i < len(sql); {
		switch c := sql[i]; {
		case c == ';':
			keep(i)
			i++
			start = i
		case c == '\'':
			escapes := i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !isIdentChar(sql[i-2]))
			i = skipQuoted(sql, i, '\'', escapes)
		case c == '"':
			i = skipQuoted(sql, i, '"', false)
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			i = skipLine(sql, i)
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			i = skipBlockComment(sql, i)
		case c == '$' && (i == 0 || !isIdentChar(sql[i-1])):
			i = skipDollar(sql, i)
		default:
			i++
		}
	}
	keep(len(sql))
	return out
}

// onlyComments reports whether s holds nothing but comments and space.
func onlyComments(s string) bool {
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "--"):
			i = skipLine(s, i)
		case strings.HasPrefix(s[i:], "/*"):
			i = skipBlockComment(s, i)
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r':
			i++
		default:
			return false
		}
	}
	return true
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// skipQuoted returns the index after the quoted text opening at i with q:
// a doubled q is a q, and with escapes a backslash escapes the next byte.
// An unterminated quote runs to the end.
func skipQuoted(s string, i int, q byte, escapes bool) int {
	for i++; i < len(s); i++ {
		switch {
		case escapes && s[i] == '\\':
			i++
		case s[i] == q && i+1 < len(s) && s[i+1] == q:
			i++
		case s[i] == q:
			return i + 1
		}
	}
	return len(s)
}

func skipLine(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(s)
}

// skipBlockComment returns the index after the comment opening at i;
// PostgreSQL's block comments nest.
func skipBlockComment(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch {
		case strings.HasPrefix(s[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(s[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return len(s)
}

// skipDollar returns the index after the dollar-quoted text opening at i
// ($$ or $tag$), or i+1 if no such quote opens there (a parameter $1).
func skipDollar(s string, i int) int {
	j := i + 1
	for j < len(s) && s[j] != '$' {
		c := s[j]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 || j > i+1 && c >= '0' && c <= '9') {
			return i + 1
		}
		j++
	}
	if j >= len(s) {
		return i + 1
	}
	tag := s[i : j+1]
	if k := strings.Index(s[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag)
	}
	return len(s)
}
