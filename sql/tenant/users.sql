-- name: CreateUser :one
INSERT INTO users (username, email, password_hash, is_staff)
VALUES (@username, @email, @password_hash, @is_staff)
RETURNING *;

-- name: GetUserByUsername :one
SELECT * FROM users WHERE username = @username;

-- name: GetActiveUser :one
-- GetActiveUser returns the user a token names, if it still exists and is active.
SELECT * FROM users WHERE id = @id AND is_active;

-- name: DeleteUserByUsername :one
-- DeleteUserByUsername removes a user (their refresh tokens go with them;
-- their items stay, without an author).
DELETE FROM users WHERE username = @username RETURNING *;

-- name: UpdateUserByUsername :one
-- UpdateUserByUsername changes the fields given (a NULL argument keeps the column).
UPDATE users
SET email = coalesce(sqlc.narg('email')::text, email),
    is_staff = coalesce(sqlc.narg('is_staff')::boolean, is_staff),
    is_active = coalesce(sqlc.narg('is_active')::boolean, is_active)
WHERE username = @username
RETURNING *;
