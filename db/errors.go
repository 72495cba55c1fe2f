package db

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUniqueViolation reports whether err is a unique violation (23505) of
// constraint. On Citus, a tenant table is a shard whose constraints carry
// the shard's id (users_username_key_102008), and so does the error: that
// name matches too.
func IsUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		return false
	}
	name := pe.ConstraintName
	if name == "" {
		// Citus relays a worker's error without its fields; the message
		// still names the constraint.
		_, rest, ok := strings.Cut(pe.Message, `unique constraint "`)
		if name, _, ok = strings.Cut(rest, `"`); !ok {
			return false
		}
	}
	return isConstraint(name, constraint)
}

// isConstraint reports whether name is constraint, or constraint with a
// Citus shard id after an underscore.
func isConstraint(name, constraint string) bool {
	if name == constraint {
		return true
	}
	rest, ok := strings.CutPrefix(name, constraint+"_")
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
