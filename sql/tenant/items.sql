-- name: ListItems :many
-- ListItems returns one page, newest first, each row carrying the total count
-- so that a page costs one query. An empty page carries no count: use CountItems.
SELECT i.id, i.name, i.description, i.created_by, i.created_at, i.updated_at,
       u.username AS created_by_username,
       count(*) OVER () AS total
FROM items i
LEFT JOIN users u ON u.id = i.created_by
ORDER BY i.created_at DESC, i.id DESC
LIMIT sqlc.arg(lim)::int OFFSET sqlc.arg(off)::bigint;

-- name: CountItems :one
SELECT count(*) FROM items;

-- name: GetItem :one
SELECT i.id, i.name, i.description, i.created_by, i.created_at, i.updated_at,
       u.username AS created_by_username
FROM items i
LEFT JOIN users u ON u.id = i.created_by
WHERE i.id = @id;

-- name: CreateItem :one
WITH i AS (
    INSERT INTO items (name, description, created_by)
    VALUES (@name, @description, @created_by)
    RETURNING *
)
SELECT i.id, i.name, i.description, i.created_by, i.created_at, i.updated_at,
       u.username AS created_by_username
FROM i
LEFT JOIN users u ON u.id = i.created_by;

-- name: UpdateItem :one
-- UpdateItem sets the fields given (a NULL argument keeps the column).
WITH i AS (
    UPDATE items SET name = coalesce(sqlc.narg('name')::text, items.name),
                     description = coalesce(sqlc.narg('description')::text, items.description),
                     updated_at = now()
    WHERE items.id = @id
    RETURNING *
)
SELECT i.id, i.name, i.description, i.created_by, i.created_at, i.updated_at,
       u.username AS created_by_username
FROM i
LEFT JOIN users u ON u.id = i.created_by;

-- name: DeleteItem :execrows
DELETE FROM items WHERE id = @id;
