-- Queries of the admin's management operations (see provision/manage.go).

-- name: UpdateUserByID :one
-- UpdateUserByID changes the fields given (a NULL argument keeps the column);
-- the admin's and the tenant's own user management (/api/users/) share it.
-- A new email address is not verified, whoever set it.
UPDATE users
SET email_verified = email_verified AND lower(email) = lower(coalesce(sqlc.narg('email')::text, email)),
    email = coalesce(sqlc.narg('email')::text, email),
    role = coalesce(sqlc.narg('role')::text, role),
    is_staff = coalesce(sqlc.narg('is_staff')::boolean, is_staff),
    is_active = coalesce(sqlc.narg('is_active')::boolean, is_active)
WHERE id = @id
RETURNING *;

-- name: DeleteUserByID :one
-- DeleteUserByID removes a user: their refresh tokens go with them (ON
-- DELETE CASCADE) and their items stay, without an author (SET NULL).
DELETE FROM users WHERE id = @id RETURNING *;
