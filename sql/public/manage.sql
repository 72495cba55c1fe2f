-- Queries of the admin's management operations (see provision/manage.go).

-- name: LockClientDomains :many
-- LockClientDomains locks a tenant's domains and returns their ids, so that
-- two removals at once cannot both see a second domain and leave none.
SELECT id FROM domains WHERE client_id = @client_id ORDER BY id FOR UPDATE;

-- name: SearchSuperusers :many
-- SearchSuperusers returns one page of superusers, by username, with the
-- number of all superusers.
SELECT s.id, s.username, s.email, s.is_active, s.date_joined, s.last_login,
       count(*) OVER () AS total
FROM superusers s
ORDER BY s.username
LIMIT @lim OFFSET @off;

-- name: CountSuperusers :one
SELECT count(*) FROM superusers;

-- name: GetSuperuserByID :one
SELECT * FROM superusers WHERE id = @id;

-- name: LockActiveSuperusers :many
-- LockActiveSuperusers locks the active superusers and returns their ids, so
-- that two deletions at once cannot both see another one left and leave none.
SELECT id FROM superusers WHERE is_active ORDER BY id FOR UPDATE;

-- name: DeleteSuperuserByID :one
-- DeleteSuperuserByID removes a superuser; their admin sessions go with them
-- (ON DELETE CASCADE), and their admin tokens name nobody any more.
DELETE FROM superusers WHERE id = @id RETURNING *;

-- name: SetSuperuserPasswordByID :one
UPDATE superusers SET password_hash = @password_hash WHERE id = @id RETURNING *;

-- name: DeleteAdminSessionsOf :exec
-- DeleteAdminSessionsOf signs a superuser out of the admin UI everywhere.
DELETE FROM admin_sessions WHERE superuser_id = @superuser_id;
