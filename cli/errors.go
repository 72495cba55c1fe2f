package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	ucli "github.com/urfave/cli/v3"

	"github.com/tenantctl/tenantctl/provision"
)

// usageError is a command line that cannot run as written: an unknown
// command or flag, a missing required flag, flags that exclude each other.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Exit statuses of tenantctl status --exit-code besides 0 (all schemas up
// to date), 1 (an error, also a schema that could not be read) and 2 (a
// usage error).
const (
	// ExitPending: some schema has migrations to apply, none has drifted.
	ExitPending = 3
	// ExitDrift: some schema's history disagrees with the migration files.
	ExitDrift = 4
)

// exitError is an outcome that scripts branch on rather than a failure; it
// carries its own exit status.
type exitError struct {
	msg  string
	code int
}

func (e exitError) Error() string { return e.msg }

// notFoundError names what was not found, in place of provision.ErrNotFound,
// which does not say whether the tenant or the domain is missing.
type notFoundError struct {
	kind, name string
}

func (e notFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.kind, e.name) }
func (e notFoundError) Unwrap() error { return provision.ErrNotFound }

// notFound replaces provision.ErrNotFound in err by a notFoundError for the
// named kind of thing; other errors pass unchanged.
func notFound(err error, kind, name string) error {
	if errors.Is(err, provision.ErrNotFound) {
		return notFoundError{kind: kind, name: name}
	}
	return err
}

// Error is what App.Run returns: a message of one line for stderr, and the
// exit status. Unwrap gives the underlying error.
type Error struct {
	Msg  string
	Code int
	Err  error
}

// Error returns the one-line message.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the error the message describes.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns the process exit status for an error from Run: 0 for nil,
// 2 for a usage error, ExitPending or ExitDrift from status --exit-code, 1
// for any other.
func ExitCode(err error) int {
	var e *Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e.Code
	case errors.As(err, new(usageError)):
		return 2
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// describe turns any error into an *Error with a message of one line that
// says what went wrong in the user's terms. It is the one place where
// errors meet the user.
func describe(err error) error {
	if err == nil {
		return nil
	}
	code := 1
	var ee exitError
	switch {
	case errors.As(err, new(usageError)):
		code = 2
	case errors.As(err, &ee):
		code = ee.code
	}
	msg := err.Error()
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, context.Canceled):
		msg = "interrupted"
	case errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000"):
		// A missing table or schema (through pgx; dbmate's own errors are
		// not *pgconn.PgError) means the database has not been migrated.
		msg += " (is the database migrated? run: tenantctl migrate)"
	}
	return &Error{Msg: oneLine(msg), Code: code, Err: err}
}

// oneLine joins the lines of a multi-line message (errors.Join, dbmate,
// connection errors over several hosts) so that it stays one line.
func oneLine(s string) string {
	var parts []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(\S+)$`)
	requiredFlags = regexp.MustCompile(`^Required flags? "([^"]*)" not set$`)
	// The Go parse error after the colon is not the user's business.
	invalidValue = regexp.MustCompile(`^invalid value ("[^"]*") for flag -+([^:\s]+)`)
)

// flagError rewrites the flag library's messages about the command line in
// the user's terms, naming each flag as it is typed (--name): an unknown
// flag, a missing required flag, a value that does not parse. Others pass
// unchanged.
func flagError(cmd *ucli.Command, err error) error {
	msg := err.Error()
	if m := undefinedFlag.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("unknown flag --%s", m[1])
	}
	if m := requiredFlags.FindStringSubmatch(msg); m != nil {
		names := strings.Split(m[1], ", ")
		for i, n := range names {
			names[i] = "--" + strings.TrimLeft(n, "-")
		}
		if len(names) == 1 {
			return fmt.Errorf("missing required flag %s", names[0])
		}
		return fmt.Errorf("missing required flags %s", strings.Join(names, ", "))
	}
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		out := fmt.Sprintf("invalid value %s for flag --%s", m[1], m[2])
		switch lookupFlag(cmd, m[2]).(type) {
		case *ucli.BoolFlag:
			out += " (want true or false)"
		case *ucli.IntFlag:
			out += " (want a whole number)"
		}
		return errors.New(out)
	}
	return err
}

// lookupFlag returns cmd's flag of that name, or nil.
func lookupFlag(cmd *ucli.Command, name string) ucli.Flag {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}
