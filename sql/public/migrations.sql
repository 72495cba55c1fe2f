-- name: AppliedMigrations :many
-- AppliedMigrations lists the dbmate versions applied to the public schema.
SELECT version FROM schema_migrations ORDER BY version;

-- name: SetTenantMigrations :exec
-- SetTenantMigrations records the versions applied (sorted) to the schema
-- the transaction's search_path names: the tenant being migrated, whose
-- search_path holds its schema alone, hence the qualified names. A schema
-- that is no tenant's (no clients row) records nothing. current_schema()
-- is a name, whose collation is "C": compared in the default one, so that
-- the lookup uses the schema_name index rather than reading every row.
INSERT INTO public.tenant_migrations (client_id, versions)
SELECT c.id, @versions::text[]
FROM public.clients c WHERE c.schema_name = current_schema()::text COLLATE "default"
ON CONFLICT (client_id) DO UPDATE SET versions = EXCLUDED.versions;

-- name: UpToDateTenants :many
-- UpToDateTenants returns those of the schemas whose recorded versions are
-- exactly @versions (sorted): the migration files'.
SELECT c.schema_name
FROM clients c JOIN tenant_migrations m ON m.client_id = c.id
WHERE c.schema_name = ANY(@schemas::text[]) AND m.versions = @versions::text[];

-- name: TenantMigrations :many
-- TenantMigrations returns the recorded versions (sorted) of every tenant
-- that has any.
SELECT c.schema_name, m.versions
FROM clients c JOIN tenant_migrations m ON m.client_id = c.id;
