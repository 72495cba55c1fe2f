-- name: CreateSuperuser :one
INSERT INTO superusers (username, email, password_hash)
VALUES (@username, @email, @password_hash)
RETURNING *;

-- name: GetSuperuserByUsername :one
SELECT * FROM superusers WHERE username = @username;

-- name: ListSuperusers :many
SELECT * FROM superusers ORDER BY username;

