package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantctl/tenantctl/db"
	"github.com/tenantctl/tenantctl/provision"
	"github.com/tenantctl/tenantctl/token"
)

// apiError is an error with the exact response it deserves. Handlers return
// one for every expected failure; anything else is logged and becomes a 500.
type apiError struct {
	status int
	body   any
	header http.Header
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %v", e.status, e.body) }

// detail is the {"detail": ...} body DRF uses for most errors.
type detail struct {
	Detail string `json:"detail"`
	Code   string `json:"code,omitempty"`
	// Messages are SimpleJWT's reasons, per token class tried, why an
	// access token was refused.
	Messages []tokenMessage `json:"messages,omitempty"`
}

// tokenMessage is one entry of SimpleJWT's "messages": why a token was not
// valid as one token class.
type tokenMessage struct {
	TokenClass string `json:"token_class"`
	TokenType  string `json:"token_type"`
	Message    string `json:"message"`
}

func errDetail(status int, msg string) *apiError {
	return &apiError{status: status, body: detail{Detail: msg}}
}

var (
	errNotFound     = errDetail(http.StatusNotFound, "Not found.")
	errInvalidPage  = errDetail(http.StatusNotFound, "Invalid page.")
	errBodyTooLarge = errDetail(http.StatusRequestEntityTooLarge, "Request body is too large.")
	errUnavailable  = errDetail(http.StatusServiceUnavailable, "Service temporarily unavailable, try again shortly.")
	errInternal     = errDetail(http.StatusInternalServerError, "A server error occurred.")
	// errTenantBusy answers a request whose tenant already holds its share
	// of the database (DB_TENANT_MAX_CONNS) while other tenants wait: the
	// client retries shortly, and the other tenants are served meanwhile.
	errTenantBusy = &apiError{status: http.StatusServiceUnavailable,
		body:   detail{Detail: "This tenant has too many requests in progress, try again shortly.", Code: "tenant_busy"},
		header: http.Header{"Retry-After": {"1"}}}
	errNotProvided   = &apiError{status: http.StatusUnauthorized, body: detail{Detail: "Authentication credentials were not provided."}, header: http.Header{"Www-Authenticate": {`Bearer realm="api"`}}}
	errBadCredential = errDetail(http.StatusUnauthorized, "No active account found with the given credentials")
	errCrossTenant   = &apiError{status: http.StatusForbidden, body: map[string]string{
		"error":  "Invalid token for this tenant",
		"detail": "This token cannot be used on this domain",
	}}
)

// errToken is the 401 SimpleJWT answers for a token it does not accept.
func errToken(msg string) *apiError {
	return &apiError{
		status: http.StatusUnauthorized,
		body:   detail{Detail: msg, Code: "token_not_valid"},
		header: http.Header{"Www-Authenticate": {`Bearer realm="api"`}},
	}
}

// errAccessToken is the 401 SimpleJWT's JWTAuthentication answers for a
// bearer token that is not a valid access token: besides the detail, the
// reason per token class it tried (only AccessToken here).
func errAccessToken(err error) *apiError {
	e := errToken("Given token not valid for any token type")
	e.body = detail{Detail: "Given token not valid for any token type", Code: "token_not_valid", Messages: []tokenMessage{
		{TokenClass: "AccessToken", TokenType: token.Access, Message: tokenErrorMessage(err)},
	}}
	return e
}

// tokenErrorMessage is SimpleJWT's TokenError message for a token that
// token.Parse refused with err.
func tokenErrorMessage(err error) string {
	if errors.Is(err, token.ErrWrongType) {
		return "Token has wrong type"
	}
	return "Token is invalid or expired"
}

// fieldErrors is DRF's validation error body: {"field": ["message", ...]}.
type fieldErrors map[string][]string

func (fe fieldErrors) add(field, msg string) { fe[field] = append(fe[field], msg) }

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return &apiError{status: http.StatusBadRequest, body: map[string][]string(fe)}
}

// toAPIError maps any error to the response it gets. The second result
// reports whether the error was unexpected and must be logged as such.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	var fe *provision.FieldError
	var se *provision.SchemaInUseError
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case errors.As(err, &ae):
		return ae, false
	case errors.As(err, &fe):
		return &apiError{status: http.StatusBadRequest, body: map[string][]string{fe.Field: fe.All()}}, false
	case errors.As(err, &se):
		// Objects outside the schema depend on it: nothing was dropped.
		return errDetail(http.StatusBadRequest, se.Error()), false
	case errors.Is(err, provision.ErrLastDomain):
		return errLastDomain, false
	case errors.Is(err, provision.ErrLastSuperuser):
		return errLastSuperuser, false
	case errors.Is(err, provision.ErrTenantDeleted):
		return errDetail(http.StatusBadRequest, "This tenant is already deleted: restore it, or delete it permanently."), false
	case errors.Is(err, provision.ErrTenantLive):
		return errDetail(http.StatusBadRequest, "This tenant is not deleted: there is nothing to restore."), false
	case errors.Is(err, pgx.ErrNoRows), errors.Is(err, provision.ErrNotFound), errors.Is(err, db.ErrTenantGone):
		// A tenant deleted while its request was in flight is gone, as its
		// host will be once every cache has heard of it.
		return errNotFound, false
	case errors.Is(err, db.ErrTenantBusy):
		return errTenantBusy, false
	case errors.As(err, &pe) && pe.Code == "23505":
		return errDetail(http.StatusConflict, "A conflicting record already exists."), false
	case errors.As(err, &pe) && (pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300"):
		// Server shutting down, crashed, starting up, or out of connections.
		return errUnavailable, true
	case errors.As(err, &pe):
		return errInternal, true
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne), pgconn.SafeToRetry(err), isConnectError(err):
		return errUnavailable, true
	}
	return errInternal, true
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}
