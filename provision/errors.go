package provision

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotFound is returned when the named tenant, domain or user does not exist.
var ErrNotFound = errors.New("not found")

// FieldError is an invalid or conflicting value of one input field. The CLI
// prints it as one line; the HTTP API renders it as {"field": ["message"]}.
type FieldError struct {
	Field   string
	Message string
	// Messages, when set, are every message of the field (a password that
	// breaks several rules); Message is then all of them in one line.
	Messages []string
}

// All returns every message of the field.
func (e *FieldError) All() []string {
	if len(e.Messages) > 0 {
		return e.Messages
	}
	return []string{e.Message}
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// SchemaInUseError is a tenant schema that cannot be dropped because objects
// outside it (a view, a foreign key, a column of one of its types) depend on
// objects inside it: dropping it would reach beyond the tenant.
type SchemaInUseError struct {
	Schema string
	// Detail is the database's message, naming the dependent objects.
	Detail string
}

func (e *SchemaInUseError) Error() string { return e.Detail }

// isCode reports whether err is a PostgreSQL error with the given SQLSTATE.
func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}
