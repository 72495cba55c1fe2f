-- name: ResolveDomain :one
-- ResolveDomain maps a request host to the id and schema of a ready tenant
-- that is not deleted (a softly deleted tenant's hosts are unknown hosts),
-- with the schema's oid, which a request's transactions check (see
-- db.Schema.Pin).
SELECT c.id, c.schema_name, coalesce(to_regnamespace(c.schema_name)::oid::bigint, 0)::bigint AS schema_oid
FROM domains d
JOIN clients c ON c.id = d.client_id
WHERE d.domain = @domain AND c.state = 'ready' AND c.deleted_at IS NULL;

-- name: CreateDomain :one
INSERT INTO domains (domain, client_id, is_primary)
VALUES (@domain, @client_id, @is_primary)
RETURNING *;

-- name: ClearPrimaryDomain :exec
-- ClearPrimaryDomain unsets the tenant's primary domain, before another takes its place.
UPDATE domains SET is_primary = false WHERE client_id = @client_id AND is_primary;

-- name: GetDomain :one
SELECT * FROM domains WHERE domain = @domain;

-- name: DeleteDomain :exec
DELETE FROM domains WHERE id = @id;

-- name: CountClientDomains :one
SELECT count(*) FROM domains WHERE client_id = @client_id;

-- name: PromoteOldestDomain :exec
-- PromoteOldestDomain makes the oldest remaining domain primary when the tenant has none.
UPDATE domains SET is_primary = true
WHERE id = (SELECT d.id FROM domains d WHERE d.client_id = @client_id ORDER BY d.created_at, d.id LIMIT 1)
  AND NOT EXISTS (SELECT 1 FROM domains p WHERE p.client_id = @client_id AND p.is_primary);

-- name: ListDomainsBySchema :many
-- ListDomainsBySchema returns every domain with its tenant's schema, or only
-- the named tenant's when schema_name is not NULL, by schema, primary first,
-- then by name.
SELECT d.domain, c.schema_name, d.is_primary, d.created_at
FROM domains d
JOIN clients c ON c.id = d.client_id
WHERE sqlc.narg('schema_name')::text IS NULL OR c.schema_name = sqlc.narg('schema_name')::text
ORDER BY c.schema_name, d.is_primary DESC, d.domain;

-- name: SearchClientDomains :many
-- SearchClientDomains is ListClientDomains filtered and sorted as the admin
-- API's domain list: every ILIKE pattern of @patterns must match the
-- domain, and the ordering keys @o1, @o2, @o3 (a field, '-' before it for
-- descending, '' for none) sort before the default, primary first, then by
-- name.
SELECT d.* FROM domains d
WHERE d.client_id = @client_id
  AND NOT EXISTS (
    SELECT 1 FROM unnest(@patterns::text[]) AS p(pattern)
    WHERE NOT d.domain ILIKE p.pattern ESCAPE '\'
)
ORDER BY
    CASE WHEN @o1::text = 'domain' THEN d.domain END ASC,
    CASE WHEN @o1::text = '-domain' THEN d.domain END DESC,
    CASE WHEN @o1::text = 'created_at' THEN d.created_at END ASC,
    CASE WHEN @o1::text = '-created_at' THEN d.created_at END DESC,
    CASE WHEN @o1::text = 'is_primary' THEN d.is_primary END ASC,
    CASE WHEN @o1::text = '-is_primary' THEN d.is_primary END DESC,
    CASE WHEN @o2::text = 'domain' THEN d.domain END ASC,
    CASE WHEN @o2::text = '-domain' THEN d.domain END DESC,
    CASE WHEN @o2::text = 'created_at' THEN d.created_at END ASC,
    CASE WHEN @o2::text = '-created_at' THEN d.created_at END DESC,
    CASE WHEN @o2::text = 'is_primary' THEN d.is_primary END ASC,
    CASE WHEN @o2::text = '-is_primary' THEN d.is_primary END DESC,
    CASE WHEN @o3::text = 'domain' THEN d.domain END ASC,
    CASE WHEN @o3::text = '-domain' THEN d.domain END DESC,
    CASE WHEN @o3::text = 'created_at' THEN d.created_at END ASC,
    CASE WHEN @o3::text = '-created_at' THEN d.created_at END DESC,
    CASE WHEN @o3::text = 'is_primary' THEN d.is_primary END ASC,
    CASE WHEN @o3::text = '-is_primary' THEN d.is_primary END DESC,
    d.is_primary DESC, d.domain;
