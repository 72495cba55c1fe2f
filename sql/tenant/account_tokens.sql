-- name: CreateAccountToken :exec
-- CreateAccountToken stores the hash of a new single-use link for user_id,
-- sent to email, valid for ttl_secs seconds.
INSERT INTO account_tokens (token_hash, purpose, user_id, email, expires_at)
VALUES (@token_hash, @purpose, @user_id, @email, now() + make_interval(secs => @ttl_secs::float8));

-- name: UseAccountToken :one
-- UseAccountToken marks a link used and returns it, if it is of purpose,
-- unused, unexpired, and its user still has the address it was sent to.
UPDATE account_tokens t SET used_at = now()
FROM users u
WHERE t.token_hash = @token_hash AND t.purpose = @purpose AND t.used_at IS NULL
  AND t.expires_at > now() AND u.id = t.user_id AND lower(u.email) = lower(t.email)
RETURNING t.user_id, t.email;
