-- name: CreateClient :one
-- CreateClient reserves a schema name in the provisioning state.
-- demo marks a tenant made by tenantctl demo.
INSERT INTO clients (schema_name, name, on_trial, paid_until, demo)
VALUES (@schema_name, @name, @on_trial, @paid_until, @demo)
RETURNING *;

-- name: MarkClientReady :exec
-- MarkClientReady makes a provisioned tenant routable.
UPDATE clients SET state = 'ready' WHERE id = @id;

-- name: GetClientBySchema :one
SELECT * FROM clients WHERE schema_name = @schema_name;

-- name: TenantRegistered :one
-- TenantRegistered reports whether the tenant with this id is still
-- registered, ready, under this schema name.
SELECT EXISTS (
    SELECT 1 FROM clients WHERE id = @id AND schema_name = @schema_name AND state = 'ready'
);

-- name: ListClients :many
-- ListClients returns every tenant with its domains, primary first.
SELECT c.*,
       coalesce(array_agg(d.domain ORDER BY d.is_primary DESC, d.domain)
                FILTER (WHERE d.domain IS NOT NULL), '{}')::text[] AS domains
FROM clients c
LEFT JOIN domains d ON d.client_id = c.id
GROUP BY c.id
ORDER BY c.schema_name;

-- name: ListClientSchemas :many
-- ListClientSchemas returns the schemas of all tenants that are ready.
SELECT schema_name FROM clients WHERE state = 'ready' ORDER BY schema_name;

-- name: DeleteClient :exec
DELETE FROM clients WHERE id = @id;

-- name: CreateTenantSchema :exec
SELECT tenant_schema_create(@schema_name::text);

-- name: DropTenantSchema :exec
-- DropTenantSchema drops a registered tenant's schema and everything in it.
SELECT tenant_schema_drop(@schema_name::text);

-- name: ListStaleClients :many
-- ListStaleClients returns tenants left in the provisioning state.
SELECT schema_name FROM clients WHERE state = 'provisioning' ORDER BY schema_name;

-- name: UpdateClient :one
-- UpdateClient changes the fields given: a NULL name or on_trial keeps the
-- column; paid_until is set (to a date, or NULL) only when set_paid_until.
UPDATE clients
SET name = coalesce(sqlc.narg('name')::text, name),
    on_trial = coalesce(sqlc.narg('on_trial')::boolean, on_trial),
    paid_until = CASE WHEN @set_paid_until::boolean THEN sqlc.narg('paid_until')::date ELSE paid_until END
WHERE schema_name = @schema_name
RETURNING *;

-- name: ReadyTenant :one
-- ReadyTenant gives the id of the ready tenant registered under this schema
-- name, with the schema's oid (see db.Pinned).
SELECT c.id, coalesce(to_regnamespace(c.schema_name)::oid::bigint, 0)::bigint AS schema_oid
FROM clients c
WHERE c.schema_name = @schema_name AND c.state = 'ready';

-- name: ListReadyTenants :many
-- ListReadyTenants returns the id and schema of every ready tenant that is
-- not deleted, for jobs.ForEachTenant.
SELECT id, schema_name FROM clients WHERE state = 'ready' AND deleted_at IS NULL ORDER BY schema_name;

-- name: ListPurgeableClients :many
-- ListPurgeableClients returns the schemas of the tenants deleted softly
-- before @before, which the purge job drops.
SELECT schema_name FROM clients
WHERE deleted_at IS NOT NULL AND deleted_at < @before::timestamptz
ORDER BY deleted_at, schema_name;

-- name: ClientProvisioning :one
-- ClientProvisioning reports whether tenant id (any, if 0) is registered
-- under this schema name and still being made (state provisioning): a job
-- enqueued in its creation's transactions may run before it is ready.
SELECT EXISTS (
    SELECT FROM clients
    WHERE (@id::bigint = 0 OR id = @id) AND schema_name = @schema_name AND state = 'provisioning'
)::boolean AS provisioning;

-- name: GetClient :one
-- GetClient returns tenant id (a domain's client), e.g. for the audit entry
-- of a change made by domain name alone.
SELECT * FROM clients WHERE id = @id;

-- name: ListClientsAfter :many
-- ListClientsAfter returns up to @lim tenants whose schema name sorts after
-- @after, by schema name, each with its domains (primary first, then by
-- name) and primary domain ('' if none): tenant list reads every tenant a
-- page at a time along the schema name's index, so it holds one page
-- however many tenants there are.
SELECT c.id, c.schema_name, c.name, c.state, c.on_trial, c.paid_until, c.created_at, c.deleted_at,
       coalesce((SELECT array_agg(d.domain ORDER BY d.is_primary DESC, d.domain)
                 FROM domains d WHERE d.client_id = c.id), '{}')::text[] AS domains,
       coalesce((SELECT d.domain FROM domains d WHERE d.client_id = c.id AND d.is_primary), '')::text AS primary_domain
FROM clients c
WHERE c.schema_name > @after::text
ORDER BY c.schema_name
LIMIT sqlc.arg(lim)::int;

-- name: ClientListWidths :one
-- ClientListWidths returns, in characters, the widest name (with the
-- " (provisioning)" tenant list adds to a tenant not ready), schema name
-- and comma-separated domain list of all tenants, so that tenant list can
-- align its columns before it streams the rows.
SELECT coalesce(max(char_length(c.name) + CASE WHEN c.state <> 'ready' THEN char_length(' (provisioning)') ELSE 0 END), 0)::int AS name,
       coalesce(max(char_length(c.schema_name)), 0)::int AS schema_name,
       coalesce((SELECT max(w.width) FROM (
           SELECT sum(char_length(d.domain)) + count(*) - 1 AS width FROM domains d GROUP BY d.client_id
       ) w), 0)::int AS domains
FROM clients c;
