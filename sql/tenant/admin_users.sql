-- name: SearchUsers :many
-- SearchUsers returns one page of users, by username, whose username or
-- email matches the ILIKE pattern (every user when pattern is ''), with the
-- number of matching users.
SELECT u.id, u.username, u.email, u.is_staff, u.is_active, u.date_joined, u.last_login,
       count(*) OVER () AS total
FROM users u
WHERE @pattern::text = ''
   OR u.username ILIKE @pattern::text ESCAPE '\'
   OR u.email ILIKE @pattern::text ESCAPE '\'
ORDER BY u.username
LIMIT @lim OFFSET @off;

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
