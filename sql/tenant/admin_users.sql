-- name: GetUserByID :one
SELECT * FROM users WHERE id = @id;

-- name: SetUserActive :one
UPDATE users SET is_active = @is_active WHERE id = @id RETURNING *;

-- name: SetUserPassword :one
UPDATE users SET password_hash = @password_hash WHERE id = @id RETURNING *;

-- name: RevokeUserRefreshTokens :exec
-- RevokeUserRefreshTokens signs the user out everywhere: none of their
-- refresh tokens can be rotated any more.
UPDATE refresh_tokens SET revoked_at = now()
WHERE user_id = @user_id AND revoked_at IS NULL;

-- name: SearchUsersOrdered :many
-- SearchUsersOrdered returns one page of users, filtered and sorted as the
-- admin's lists ask: every ILIKE pattern of @patterns must match the username or the
-- email, and the ordering keys @o1, @o2, @o3 (a field, '-' before it for
-- descending, '' for none) sort before the default, by username.
SELECT u.id, u.username, u.email, u.is_staff, u.is_active, u.date_joined, u.last_login,
       u.role, u.email_verified,
       count(*) OVER () AS total
FROM users u
WHERE NOT EXISTS (
    SELECT 1 FROM unnest(@patterns::text[]) AS p(pattern)
    WHERE NOT (u.username ILIKE p.pattern ESCAPE '\' OR u.email ILIKE p.pattern ESCAPE '\')
)
ORDER BY
    CASE WHEN @o1::text = 'id' THEN u.id END ASC,
    CASE WHEN @o1::text = '-id' THEN u.id END DESC,
    CASE WHEN @o1::text = 'username' THEN u.username END ASC,
    CASE WHEN @o1::text = '-username' THEN u.username END DESC,
    CASE WHEN @o1::text = 'email' THEN u.email END ASC,
    CASE WHEN @o1::text = '-email' THEN u.email END DESC,
    CASE WHEN @o1::text = 'date_joined' THEN u.date_joined END ASC,
    CASE WHEN @o1::text = '-date_joined' THEN u.date_joined END DESC,
    CASE WHEN @o1::text = 'last_login' THEN u.last_login END ASC,
    CASE WHEN @o1::text = '-last_login' THEN u.last_login END DESC,
    CASE WHEN @o2::text = 'id' THEN u.id END ASC,
    CASE WHEN @o2::text = '-id' THEN u.id END DESC,
    CASE WHEN @o2::text = 'username' THEN u.username END ASC,
    CASE WHEN @o2::text = '-username' THEN u.username END DESC,
    CASE WHEN @o2::text = 'email' THEN u.email END ASC,
    CASE WHEN @o2::text = '-email' THEN u.email END DESC,
    CASE WHEN @o2::text = 'date_joined' THEN u.date_joined END ASC,
    CASE WHEN @o2::text = '-date_joined' THEN u.date_joined END DESC,
    CASE WHEN @o2::text = 'last_login' THEN u.last_login END ASC,
    CASE WHEN @o2::text = '-last_login' THEN u.last_login END DESC,
    CASE WHEN @o3::text = 'id' THEN u.id END ASC,
    CASE WHEN @o3::text = '-id' THEN u.id END DESC,
    CASE WHEN @o3::text = 'username' THEN u.username END ASC,
    CASE WHEN @o3::text = '-username' THEN u.username END DESC,
    CASE WHEN @o3::text = 'email' THEN u.email END ASC,
    CASE WHEN @o3::text = '-email' THEN u.email END DESC,
    CASE WHEN @o3::text = 'date_joined' THEN u.date_joined END ASC,
    CASE WHEN @o3::text = '-date_joined' THEN u.date_joined END DESC,
    CASE WHEN @o3::text = 'last_login' THEN u.last_login END ASC,
    CASE WHEN @o3::text = '-last_login' THEN u.last_login END DESC,
    u.username
LIMIT sqlc.arg(lim)::int OFFSET sqlc.arg(off)::bigint;
