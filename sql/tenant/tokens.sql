-- name: CreateRefreshToken :exec
INSERT INTO refresh_tokens (jti, family, user_id, expires_at)
VALUES (@jti, @family, @user_id, @expires_at);

-- name: UseRefreshToken :one
-- UseRefreshToken marks a live refresh token used, atomically, so that of two
-- concurrent rotations of one token only one succeeds.
UPDATE refresh_tokens SET used_at = now()
WHERE jti = @jti AND user_id = @user_id
  AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
RETURNING family;

-- name: RevokeRefreshFamily :exec
-- RevokeRefreshFamily revokes every token descended from the same sign-in.
UPDATE refresh_tokens SET revoked_at = now()
WHERE family = (SELECT t.family FROM refresh_tokens t WHERE t.jti = @jti)
  AND revoked_at IS NULL;

-- name: RevokeRefreshToken :execrows
-- RevokeRefreshToken blacklists one live token (logout).
UPDATE refresh_tokens SET revoked_at = now()
WHERE jti = @jti AND user_id = @user_id
  AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now();

-- name: DeleteExpiredRefreshTokens :execrows
DELETE FROM refresh_tokens WHERE expires_at < now();

-- name: RecordSignIn :exec
-- RecordSignIn stores a sign-in's first refresh token and the user's last
-- login, in one statement. The attempt Throttle counted is given back by
-- ThrottleSucceeded, a statement of its own (see SignInUser).
WITH t AS (
    INSERT INTO refresh_tokens (jti, family, user_id, expires_at)
    VALUES (@jti, @family, @user_id, @expires_at)
)
UPDATE users SET last_login = now() WHERE users.id = @user_id;

-- name: RefreshTokenLive :one
-- RefreshTokenLive reports whether a refresh token can still be used: not
-- used (rotated), revoked (logged out) nor expired.
SELECT EXISTS (
    SELECT 1 FROM refresh_tokens
    WHERE jti = @jti AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
) AS live;

-- name: EndTenantSignIns :exec
-- EndTenantSignIns ends every sign-in in the tenant: all refresh tokens are
-- revoked, and access tokens issued before valid_after are refused
-- (users.tokens_valid_after). Soft delete and restore run it in the
-- transaction that changes public.clients (SoftDeleteClient,
-- RestoreClient), as a statement of its own: on Citus a statement touching
-- the tenant's tables runs on its worker, where public has no clients.
WITH r AS (
    UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL
)
UPDATE users SET tokens_valid_after = @valid_after::timestamptz;

-- name: SoftDeleteClient :one
-- SoftDeleteClient marks this tenant (client id) deleted in public.clients
-- (public.client_soft_delete: false if it was not live).
SELECT (public.client_soft_delete(@client_id::bigint) IS NOT NULL)::boolean AS deleted;

-- name: RestoreClient :one
-- RestoreClient makes this deleted tenant (client id) live again
-- (public.client_restore: false if it was not deleted).
SELECT public.client_restore(@client_id::bigint)::boolean AS restored;
