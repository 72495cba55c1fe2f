-- name: GetClientWithDomains :one
-- GetClientWithDomains returns one tenant with its domains (primary first)
-- and its primary domain ('' if none).
SELECT c.id, c.schema_name, c.name, c.state, c.on_trial, c.paid_until, c.created_at, c.deleted_at,
       coalesce((SELECT array_agg(d.domain ORDER BY d.is_primary DESC, d.domain)
                 FROM domains d WHERE d.client_id = c.id), '{}')::text[] AS domains,
       coalesce((SELECT d.domain FROM domains d WHERE d.client_id = c.id AND d.is_primary), '')::text AS primary_domain
FROM clients c
WHERE c.schema_name = @schema_name;

-- name: ListClientDomains :many
-- ListClientDomains returns a tenant's domains, primary first, then by name.
SELECT * FROM domains WHERE client_id = @client_id ORDER BY is_primary DESC, domain;

-- name: SetPrimaryDomain :one
-- SetPrimaryDomain makes the domain primary; the caller cleared the old one.
UPDATE domains SET is_primary = true WHERE id = @id RETURNING *;

-- name: GetActiveSuperuser :one
-- GetActiveSuperuser returns the superuser an admin token or session names,
-- if it still exists and is active.
SELECT * FROM superusers WHERE id = @id AND is_active;

-- name: CreateAdminSession :exec
INSERT INTO admin_sessions (token_hash, superuser_id, csrf_token, expires_at)
VALUES (@token_hash, @superuser_id, @csrf_token, @expires_at);

-- name: GetAdminSession :one
-- GetAdminSession returns a live session of an active superuser.
SELECT s.superuser_id, s.csrf_token, s.flash, s.flash_error, s.expires_at, u.username
FROM admin_sessions s
JOIN superusers u ON u.id = s.superuser_id
WHERE s.token_hash = @token_hash AND s.expires_at > now() AND u.is_active;

-- name: SetAdminSessionFlash :exec
-- SetAdminSessionFlash sets (or, with '', clears) the message the next page shows.
UPDATE admin_sessions SET flash = @flash, flash_error = @flash_error WHERE token_hash = @token_hash;

-- name: DeleteAdminSession :exec
DELETE FROM admin_sessions WHERE token_hash = @token_hash;

-- name: DeleteExpiredAdminSessions :exec
DELETE FROM admin_sessions WHERE expires_at <= now();

-- name: ListClientsOrdered :many
-- ListClientsOrdered returns one page of the tenants, sorted by the
-- ordering keys @o1, @o2, @o3 (a field, '-' before it for descending, ''
-- for none) and then by schema name, with the number of all tenants in
-- total. The page is picked from clients alone, and only its tenants'
-- domains are read: at 100,000 tenants a page costs a walk to its offset,
-- not a domain lookup per tenant. In the default order (no keys) the CASEs
-- fold to constants in the plan made for the parameters, so the walk is
-- along the schema name's index.
WITH page AS (
    SELECT c.* FROM clients c
    ORDER BY
        CASE WHEN @o1::text = 'id' THEN c.id END ASC,
        CASE WHEN @o1::text = '-id' THEN c.id END DESC,
        CASE WHEN @o1::text = 'schema_name' THEN c.schema_name END ASC,
        CASE WHEN @o1::text = '-schema_name' THEN c.schema_name END DESC,
        CASE WHEN @o1::text = 'name' THEN c.name END ASC,
        CASE WHEN @o1::text = '-name' THEN c.name END DESC,
        CASE WHEN @o1::text = 'created_at' THEN c.created_at END ASC,
        CASE WHEN @o1::text = '-created_at' THEN c.created_at END DESC,
        CASE WHEN @o1::text = 'paid_until' THEN c.paid_until END ASC,
        CASE WHEN @o1::text = '-paid_until' THEN c.paid_until END DESC,
        CASE WHEN @o2::text = 'id' THEN c.id END ASC,
        CASE WHEN @o2::text = '-id' THEN c.id END DESC,
        CASE WHEN @o2::text = 'schema_name' THEN c.schema_name END ASC,
        CASE WHEN @o2::text = '-schema_name' THEN c.schema_name END DESC,
        CASE WHEN @o2::text = 'name' THEN c.name END ASC,
        CASE WHEN @o2::text = '-name' THEN c.name END DESC,
        CASE WHEN @o2::text = 'created_at' THEN c.created_at END ASC,
        CASE WHEN @o2::text = '-created_at' THEN c.created_at END DESC,
        CASE WHEN @o2::text = 'paid_until' THEN c.paid_until END ASC,
        CASE WHEN @o2::text = '-paid_until' THEN c.paid_until END DESC,
        CASE WHEN @o3::text = 'id' THEN c.id END ASC,
        CASE WHEN @o3::text = '-id' THEN c.id END DESC,
        CASE WHEN @o3::text = 'schema_name' THEN c.schema_name END ASC,
        CASE WHEN @o3::text = '-schema_name' THEN c.schema_name END DESC,
        CASE WHEN @o3::text = 'name' THEN c.name END ASC,
        CASE WHEN @o3::text = '-name' THEN c.name END DESC,
        CASE WHEN @o3::text = 'created_at' THEN c.created_at END ASC,
        CASE WHEN @o3::text = '-created_at' THEN c.created_at END DESC,
        CASE WHEN @o3::text = 'paid_until' THEN c.paid_until END ASC,
        CASE WHEN @o3::text = '-paid_until' THEN c.paid_until END DESC,
        c.schema_name
    LIMIT sqlc.arg(lim)::int OFFSET sqlc.arg(off)::bigint
)
SELECT p.id, p.schema_name, p.name, p.state, p.on_trial, p.paid_until, p.created_at, p.deleted_at,
       coalesce((SELECT array_agg(d.domain ORDER BY d.is_primary DESC, d.domain)
                 FROM domains d WHERE d.client_id = p.id), '{}')::text[] AS domains,
       coalesce((SELECT d.domain FROM domains d WHERE d.client_id = p.id AND d.is_primary), '')::text AS primary_domain,
       (SELECT count(*) FROM clients) AS total
FROM (
    SELECT s.*, row_number() OVER () AS n FROM page s
) p
ORDER BY p.n;

-- name: SearchClientsOrdered :many
-- SearchClientsOrdered is ListClientsOrdered for the tenants that match
-- every ILIKE pattern of a search in the name, the schema name or one of
-- the domains, total counting only those. @first, the search's first
-- pattern, picks the candidates through the trigram indexes
-- (20261207100100_tenant_search.sql); the others, @rest, filter them. The
-- matches are read once, for both the page and the total.
WITH page AS (
    SELECT c.*, count(*) OVER () AS total
    FROM clients c
    WHERE c.id IN (
        SELECT m.id FROM clients m
        WHERE m.name ILIKE @first::text ESCAPE '\' OR m.schema_name ILIKE @first::text ESCAPE '\'
        UNION
        SELECT d.client_id FROM domains d WHERE d.domain ILIKE @first::text ESCAPE '\'
    )
    AND (cardinality(@rest::text[]) = 0 OR NOT EXISTS (
        SELECT 1 FROM unnest(@rest::text[]) AS r(pattern)
        WHERE NOT (c.name ILIKE r.pattern ESCAPE '\' OR c.schema_name ILIKE r.pattern ESCAPE '\'
                   OR EXISTS (SELECT 1 FROM domains d WHERE d.client_id = c.id AND d.domain ILIKE r.pattern ESCAPE '\'))
    ))
    ORDER BY
        CASE WHEN @o1::text = 'id' THEN c.id END ASC,
        CASE WHEN @o1::text = '-id' THEN c.id END DESC,
        CASE WHEN @o1::text = 'schema_name' THEN c.schema_name END ASC,
        CASE WHEN @o1::text = '-schema_name' THEN c.schema_name END DESC,
        CASE WHEN @o1::text = 'name' THEN c.name END ASC,
        CASE WHEN @o1::text = '-name' THEN c.name END DESC,
        CASE WHEN @o1::text = 'created_at' THEN c.created_at END ASC,
        CASE WHEN @o1::text = '-created_at' THEN c.created_at END DESC,
        CASE WHEN @o1::text = 'paid_until' THEN c.paid_until END ASC,
        CASE WHEN @o1::text = '-paid_until' THEN c.paid_until END DESC,
        CASE WHEN @o2::text = 'id' THEN c.id END ASC,
        CASE WHEN @o2::text = '-id' THEN c.id END DESC,
        CASE WHEN @o2::text = 'schema_name' THEN c.schema_name END ASC,
        CASE WHEN @o2::text = '-schema_name' THEN c.schema_name END DESC,
        CASE WHEN @o2::text = 'name' THEN c.name END ASC,
        CASE WHEN @o2::text = '-name' THEN c.name END DESC,
        CASE WHEN @o2::text = 'created_at' THEN c.created_at END ASC,
        CASE WHEN @o2::text = '-created_at' THEN c.created_at END DESC,
        CASE WHEN @o2::text = 'paid_until' THEN c.paid_until END ASC,
        CASE WHEN @o2::text = '-paid_until' THEN c.paid_until END DESC,
        CASE WHEN @o3::text = 'id' THEN c.id END ASC,
        CASE WHEN @o3::text = '-id' THEN c.id END DESC,
        CASE WHEN @o3::text = 'schema_name' THEN c.schema_name END ASC,
        CASE WHEN @o3::text = '-schema_name' THEN c.schema_name END DESC,
        CASE WHEN @o3::text = 'name' THEN c.name END ASC,
        CASE WHEN @o3::text = '-name' THEN c.name END DESC,
        CASE WHEN @o3::text = 'created_at' THEN c.created_at END ASC,
        CASE WHEN @o3::text = '-created_at' THEN c.created_at END DESC,
        CASE WHEN @o3::text = 'paid_until' THEN c.paid_until END ASC,
        CASE WHEN @o3::text = '-paid_until' THEN c.paid_until END DESC,
        c.schema_name
    LIMIT sqlc.arg(lim)::int OFFSET sqlc.arg(off)::bigint
)
SELECT p.id, p.schema_name, p.name, p.state, p.on_trial, p.paid_until, p.created_at, p.deleted_at,
       coalesce((SELECT array_agg(d.domain ORDER BY d.is_primary DESC, d.domain)
                 FROM domains d WHERE d.client_id = p.id), '{}')::text[] AS domains,
       coalesce((SELECT d.domain FROM domains d WHERE d.client_id = p.id AND d.is_primary), '')::text AS primary_domain,
       p.total
FROM (
    SELECT s.*, row_number() OVER () AS n FROM page s
) p
ORDER BY p.n;
