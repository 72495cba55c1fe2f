-- name: CreateUser :one
INSERT INTO users (username, email, password_hash, is_staff, role)
VALUES (@username, @email, @password_hash, @is_staff, @role)
RETURNING *;

-- name: GetUserByUsername :one
SELECT * FROM users WHERE username = @username;

-- name: GetActiveUser :one
-- GetActiveUser returns the user a token names, if it still exists and is active.
SELECT * FROM users WHERE id = @id AND is_active;

