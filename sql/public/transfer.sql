-- Queries of tenant export and import (package transfer). The catalog
-- queries name the tenant's schema by its name; the tables they list are
-- then copied by COPY statements that quote each name (pgx.Identifier).

-- name: ExportTables :many
-- ExportTables lists the ordinary tables of the schema, by name, with the
-- columns COPY moves in their order: every column but generated ones (which
-- PostgreSQL computes on import) and dropped ones. schema_migrations is left
-- out: an archive carries its versions on their own.
SELECT c.relname::text AS name,
       array_agg(a.attname::text ORDER BY a.attnum)::text[] AS columns
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
WHERE c.relnamespace = to_regnamespace(@schema_name::text)::oid
  AND c.relkind = 'r'
  AND c.relname <> 'schema_migrations'
GROUP BY c.oid, c.relname
ORDER BY c.relname;

-- name: ExportForeignKeys :many
-- ExportForeignKeys lists the foreign keys between two different tables of
-- the schema: the import loads a referenced table before the tables that
-- reference it.
SELECT DISTINCT c.relname::text AS table_name, r.relname::text AS referenced
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
WHERE k.contype = 'f'
  AND k.conrelid <> k.confrelid
  AND c.relnamespace = to_regnamespace(@schema_name::text)::oid
  AND r.relnamespace = c.relnamespace
ORDER BY 1, 2;

-- name: ExportSequences :many
-- ExportSequences lists the columns of the schema's tables that take their
-- values from a sequence they own (identity and serial columns), with the
-- sequence's last value (0 before its first use).
SELECT t.relname::text AS table_name, a.attname::text AS column_name,
       coalesce(s.last_value, 0)::bigint AS last_value
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_class q ON q.oid = d.objid AND q.relkind = 'S'
JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
JOIN pg_catalog.pg_namespace n ON n.oid = q.relnamespace
JOIN pg_catalog.pg_sequences s ON s.schemaname = n.nspname AND s.sequencename = q.relname
WHERE d.classid = 'pg_catalog.pg_class'::regclass
  AND d.refclassid = 'pg_catalog.pg_class'::regclass
  AND d.deptype IN ('a', 'i')
  AND t.relnamespace = to_regnamespace(@schema_name::text)::oid
ORDER BY 1, 2;

-- name: ImportClient :one
-- ImportClient registers an imported tenant, provisioning until its import
-- commits, with the fields its archive carries.
INSERT INTO clients (schema_name, name, on_trial, paid_until, created_at, deleted_at)
VALUES (@schema_name, @name, @on_trial, @paid_until, @created_at, @deleted_at)
RETURNING *;

-- name: SetColumnSequence :exec
-- SetColumnSequence sets the sequence that the column @column_name of the
-- table @table_name (schema-qualified and quoted) owns to @value, so that
-- its next value is @value + 1. On Citus it runs on the coordinator, whose
-- sequence numbers the rows inserted through it.
SELECT setval(pg_get_serial_sequence(@table_name::text, @column_name::text), @value::bigint);

-- name: ImportForeignKeys :many
-- ImportForeignKeys lists the foreign keys of the schema's tables with their
-- definitions, whose referenced tables are schema-qualified (the search_path
-- of the query is public): an import drops them while it loads the rows and
-- adds them back after, checking every row at once, as pg_restore does.
SELECT c.relname::text AS table_name, k.conname::text AS name, pg_catalog.pg_get_constraintdef(k.oid)::text AS definition
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
WHERE k.contype = 'f'
  AND c.relnamespace = to_regnamespace(@schema_name::text)::oid
ORDER BY 1, 2;
