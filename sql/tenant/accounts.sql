-- Queries of a tenant's own user management: /api/users/ (server/users.go).

-- name: GetUserForUpdate :one
-- GetUserForUpdate returns user id, locked until the transaction ends.
SELECT * FROM users WHERE id = @id FOR UPDATE;

-- name: LockActiveOwners :many
-- LockActiveOwners locks the tenant's active owners and returns their ids,
-- so that two concurrent changes cannot each remove a different one of the
-- last two owners.
SELECT id FROM users WHERE role = 'owner' AND is_active ORDER BY id FOR UPDATE;
