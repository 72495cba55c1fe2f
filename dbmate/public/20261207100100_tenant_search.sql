-- migrate:up

-- The admin's tenant search matches every term anywhere in a tenant's name,
-- schema name or domains (ILIKE '%term%'), which a b-tree cannot serve: at
-- 100,000 tenants each search read every row. Trigram GIN indexes answer
-- such patterns (case-insensitively too) for terms of three characters or
-- more; shorter ones still scan, as they match most tenants anyway.
-- pg_trgm is a contrib extension shipped with PostgreSQL and trusted (a
-- database owner may create it without being a superuser). On Citus it is
-- created on the coordinator, which holds public, and Citus creates it on
-- the workers too; these indexes stay on the coordinator with their tables.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX clients_name_trgm_idx ON clients USING gin (name gin_trgm_ops);
CREATE INDEX clients_schema_name_trgm_idx ON clients USING gin (schema_name gin_trgm_ops);
CREATE INDEX domains_domain_trgm_idx ON domains USING gin (domain gin_trgm_ops);

-- migrate:down
-- The extension stays: other objects of the database may use it.
DROP INDEX domains_domain_trgm_idx;
DROP INDEX clients_schema_name_trgm_idx;
DROP INDEX clients_name_trgm_idx;
