-- name: AppliedMigrations :many
-- AppliedMigrations lists the dbmate versions applied to this tenant schema.
SELECT version FROM schema_migrations ORDER BY version;
