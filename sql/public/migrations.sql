-- name: AppliedMigrations :many
-- AppliedMigrations lists the dbmate versions applied to the public schema.
SELECT version FROM schema_migrations ORDER BY version;
