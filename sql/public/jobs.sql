-- name: TenantForJob :one
-- TenantForJob gives a background job's tenant, if it is still registered
-- and ready under this schema name, with the schema's oid (see
-- db.Schema.Pin).
SELECT c.id, coalesce(to_regnamespace(c.schema_name)::oid::bigint, 0)::bigint AS schema_oid
FROM clients c
WHERE c.schema_name = @schema_name AND c.state = 'ready';

-- name: ListReadyTenants :many
-- ListReadyTenants returns the id and schema of every ready tenant, for
-- jobs.ForEachTenant.
SELECT id, schema_name FROM clients WHERE state = 'ready' ORDER BY schema_name;
