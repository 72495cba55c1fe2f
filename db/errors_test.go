package db

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestIsUniqueViolation(t *testing.T) {
	for _, tc := range []struct {
		code, name string
		want       bool
	}{
		{"23505", "users_username_key", true},
		{"23505", "users_username_key_102008", true}, // a Citus shard's
		{"23505", "users_username_key_", false},
		{"23505", "users_username_key_x1", false},
		{"23505", "users_username_keys", false},
		{"23505", "users_username", false},
		{"23505", "other_users_username_key", false},
		{"23503", "users_username_key", false}, // not a unique violation
	} {
		err := fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: tc.code, ConstraintName: tc.name})
		if got := IsUniqueViolation(err, "users_username_key"); got != tc.want {
			t.Errorf("%s %s: got %v, want %v", tc.code, tc.name, got, tc.want)
		}
	}
	relayed := &pgconn.PgError{Code: "23505", Message: `duplicate key value violates unique constraint "users_username_key_102009"`}
	if !IsUniqueViolation(relayed, "users_username_key") {
		t.Error("a violation relayed by Citus without its constraint field is recognised by its message")
	}
	if IsUniqueViolation(&pgconn.PgError{Code: "23505", Message: "duplicate key"}, "users_username_key") {
		t.Error("a message naming no constraint matches nothing")
	}
	if IsUniqueViolation(fmt.Errorf("plain"), "users_username_key") {
		t.Error("a non-PostgreSQL error is no unique violation")
	}
}
