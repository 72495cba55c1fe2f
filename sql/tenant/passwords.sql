-- Queries of the password and email flows (server/passwords.go): change,
-- reset, email verification.

-- name: SetPasswordEndSignIns :exec
-- SetPasswordEndSignIns sets user id's password hash and ends every sign-in
-- of the user: their refresh tokens are revoked, and their access tokens
-- issued before valid_after are refused (users.tokens_valid_after).
-- valid_after comes from the server's clock, the clock that stamps the
-- tokens' iat, not from the database's.
WITH r AS (
    UPDATE refresh_tokens SET revoked_at = now()
    WHERE user_id = @id AND revoked_at IS NULL
)
UPDATE users SET password_hash = @password_hash, tokens_valid_after = @valid_after::timestamptz
WHERE id = @id;

-- name: ActiveUsersByEmail :many
-- ActiveUsersByEmail returns the active users whose address is email,
-- compared case-insensitively.
SELECT * FROM users WHERE lower(email) = lower(@email::text) AND is_active ORDER BY id;

-- name: PeekAccountToken :one
-- PeekAccountToken returns the active user a link of purpose is for, if the
-- link is unused, unexpired and its user still has the address it was sent
-- to (as UseAccountToken checks), without using it.
SELECT u.* FROM account_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = @token_hash AND t.purpose = @purpose AND t.used_at IS NULL
  AND t.expires_at > now() AND lower(u.email) = lower(t.email) AND u.is_active;

-- name: UseUserAccountTokens :exec
-- UseUserAccountTokens marks every unused link of purpose of user_id used
-- (a reset done with one link ends the others).
UPDATE account_tokens SET used_at = now()
WHERE user_id = @user_id AND purpose = @purpose AND used_at IS NULL;

-- name: SetEmailVerified :one
-- SetEmailVerified marks user_id's address verified if it still is email,
-- and returns the user.
UPDATE users SET email_verified = true
WHERE id = @user_id AND lower(email) = lower(@email::text)
RETURNING *;

-- name: SetEmailUnverified :exec
-- SetEmailUnverified marks user id's (changed) address not verified.
UPDATE users SET email_verified = false WHERE id = @id;
