package db

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ErrInvalidSchema is returned by ParseSchema for a name that may not be a tenant schema.
var ErrInvalidSchema = errors.New("invalid schema name")

// RiverSchema is the schema of the job queue's tables (package jobs).
const RiverSchema = "river"

var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Schema is the validated name of a tenant schema. The zero value is not a
// valid schema; obtain one from ParseSchema.
//
// A Schema may be pinned to the tenant registered under it (Pin): work in a
// pinned schema first checks, in the same statement that sets its
// search_path, that the schema is still the very one (same oid) the tenant
// owned when its host was resolved. A request authorized for a tenant
// therefore never runs in another tenant re-created under its name, and one
// whose tenant was deleted gets ErrTenantGone. (A schema is never adopted:
// provisioning refuses one that exists, so the oid names one tenant's.)
type Schema struct {
	name   string
	client int64 // the registered tenant's id when pinned, else 0
	oid    int64 // the schema's oid when pinned
}

// ParseSchema validates a tenant schema name: lower-case letters, digits and
// underscores, starting with a letter or underscore, at most 63 bytes, and
// not a name PostgreSQL reserves (public, information_schema, pg_*) nor the
// job queue's (RiverSchema).
// It returns an error wrapping ErrInvalidSchema otherwise.
func ParseSchema(s string) (Schema, error) {
	switch {
	case !schemaPattern.MatchString(s):
		return Schema{}, fmt.Errorf("%w %q: use 1-63 lower-case letters, digits or underscores, not starting with a digit", ErrInvalidSchema, s)
	case s == "public" || s == "information_schema" || strings.HasPrefix(s, "pg_"):
		return Schema{}, fmt.Errorf("%w %q: the name is reserved by PostgreSQL", ErrInvalidSchema, s)
	case s == RiverSchema:
		return Schema{}, fmt.Errorf("%w %q: the name is reserved for the job queue", ErrInvalidSchema, s)
	}
	return Schema{name: s}, nil
}

// MustParseSchema is ParseSchema for constants; it panics on an invalid name.
func MustParseSchema(s string) Schema {
	sc, err := ParseSchema(s)
	if err != nil {
		panic(err)
	}
	return sc
}

// Pin returns s pinned to the tenant whose id is client and to the schema
// whose oid is oid, both read together from the tenant's registration (see
// Schema).
func (s Schema) Pin(client, oid int64) Schema {
	s.client, s.oid = client, oid
	return s
}

// Client returns the id of the tenant s is pinned to, or 0 if s is not pinned.
func (s Schema) Client() int64 { return s.client }

// String returns the bare schema name.
func (s Schema) String() string { return s.name }

// IsZero reports whether s is the zero value (no schema).
func (s Schema) IsZero() bool { return s.name == "" }

// Ident returns the schema name quoted as an identifier: the value bound to
// set_config('search_path', ...). It is never spliced into SQL text; schemas
// are created and dropped by database functions that take the bare name.
func (s Schema) Ident() string { return pgx.Identifier{s.name}.Sanitize() }
