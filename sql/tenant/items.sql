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
-- UpdateItem sets the fields given (a NULL argument keeps the column), and
-- returns the item with its name and description before the change (for
-- the audit log), read under the row's lock.
WITH old AS (
    SELECT items.id, items.name, items.description FROM items WHERE items.id = @id FOR UPDATE
), i AS (
    UPDATE items SET name = coalesce(sqlc.narg('name')::text, items.name),
                     description = coalesce(sqlc.narg('description')::text, items.description),
                     updated_at = now()
    FROM old
    WHERE items.id = old.id
    RETURNING items.*, old.name AS old_name, old.description AS old_description
)
SELECT i.id, i.name, i.description, i.created_by, i.created_at, i.updated_at,
       u.username AS created_by_username, i.old_name, i.old_description
FROM i
LEFT JOIN users u ON u.id = i.created_by;

-- name: DeleteItem :one
DELETE FROM items WHERE id = @id RETURNING id, name, description;

-- name: SearchItems :many
-- SearchItems is ListItems filtered and sorted as DRF's SearchFilter and
-- OrderingFilter do: every ILIKE pattern of @patterns (escaped by the
-- caller) must match the name or the description, and the ordering keys
-- @o1, @o2, @o3 (a field of ListItemOrderings, '-' before it for
-- descending, '' for none) sort before the default, newest first. The keys
-- only ever compare against constants: no SQL is built from them.
SELECT i.id, i.name, i.description, i.created_by, i.created_at, i.updated_at,
       u.username AS created_by_username,
       count(*) OVER () AS total
FROM items i
LEFT JOIN users u ON u.id = i.created_by
WHERE NOT EXISTS (
    SELECT 1 FROM unnest(@patterns::text[]) AS p(pattern)
    WHERE NOT (i.name ILIKE p.pattern ESCAPE '\' OR i.description ILIKE p.pattern ESCAPE '\')
)
ORDER BY
    CASE WHEN @o1::text = 'id' THEN i.id END ASC,
    CASE WHEN @o1::text = '-id' THEN i.id END DESC,
    CASE WHEN @o1::text = 'name' THEN i.name END ASC,
    CASE WHEN @o1::text = '-name' THEN i.name END DESC,
    CASE WHEN @o1::text = 'created_at' THEN i.created_at END ASC,
    CASE WHEN @o1::text = '-created_at' THEN i.created_at END DESC,
    CASE WHEN @o1::text = 'updated_at' THEN i.updated_at END ASC,
    CASE WHEN @o1::text = '-updated_at' THEN i.updated_at END DESC,
    CASE WHEN @o2::text = 'id' THEN i.id END ASC,
    CASE WHEN @o2::text = '-id' THEN i.id END DESC,
    CASE WHEN @o2::text = 'name' THEN i.name END ASC,
    CASE WHEN @o2::text = '-name' THEN i.name END DESC,
    CASE WHEN @o2::text = 'created_at' THEN i.created_at END ASC,
    CASE WHEN @o2::text = '-created_at' THEN i.created_at END DESC,
    CASE WHEN @o2::text = 'updated_at' THEN i.updated_at END ASC,
    CASE WHEN @o2::text = '-updated_at' THEN i.updated_at END DESC,
    CASE WHEN @o3::text = 'id' THEN i.id END ASC,
    CASE WHEN @o3::text = '-id' THEN i.id END DESC,
    CASE WHEN @o3::text = 'name' THEN i.name END ASC,
    CASE WHEN @o3::text = '-name' THEN i.name END DESC,
    CASE WHEN @o3::text = 'created_at' THEN i.created_at END ASC,
    CASE WHEN @o3::text = '-created_at' THEN i.created_at END DESC,
    CASE WHEN @o3::text = 'updated_at' THEN i.updated_at END ASC,
    CASE WHEN @o3::text = '-updated_at' THEN i.updated_at END DESC,
    i.created_at DESC, i.id DESC
LIMIT sqlc.arg(lim)::int OFFSET sqlc.arg(off)::bigint;
