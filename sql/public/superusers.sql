-- name: CreateSuperuser :one
INSERT INTO superusers (username, email, password_hash)
VALUES (@username, @email, @password_hash)
RETURNING *;

-- name: GetSuperuserByUsername :one
SELECT * FROM superusers WHERE username = @username;

-- name: ListSuperusers :many
SELECT * FROM superusers ORDER BY username;

-- name: DeleteSuperuser :one
-- DeleteSuperuser removes a superuser; their admin sessions go with them.
DELETE FROM superusers WHERE username = @username RETURNING *;

-- name: SetSuperuserPassword :one
UPDATE superusers SET password_hash = @password_hash WHERE username = @username RETURNING *;

-- name: DeleteSuperuserSessions :exec
-- DeleteSuperuserSessions signs a superuser out of the admin UI everywhere.
DELETE FROM admin_sessions WHERE superuser_id = @superuser_id;
