-- Stubs of the Citus 13.0 catalog objects that sql/citus/queries use, for
-- sqlc only: Citus creates them (in pg_catalog, citus_schemas in public)
-- when CREATE EXTENSION citus runs, so dbmate's schema does not hold them.
-- Names, column types and argument types follow Citus 13.0.5;
-- cluster.TestCatalogStubsMatchCitus applies this file to an empty database
-- and compares it with a real Citus coordinator's catalog.
--
-- Only the columns the queries need are required here, but the ones listed
-- must have Citus' types. Function bodies are placeholders (SQL, so that the
-- file runs on plain PostgreSQL for that comparison).

CREATE SCHEMA citus;

CREATE TYPE citus.shard_transfer_mode AS ENUM ('auto', 'force_logical', 'block_writes');

CREATE TYPE noderole AS ENUM ('primary', 'secondary', 'unavailable');

CREATE TYPE citus_job_status AS ENUM ('scheduled', 'running', 'finished', 'cancelling', 'cancelled', 'failing', 'failed');

-- pg_dist_node: the coordinator (groupid 0) and the workers.
CREATE TABLE pg_dist_node (
    nodeid integer NOT NULL,
    groupid integer NOT NULL,
    nodename text NOT NULL,
    nodeport integer NOT NULL,
    noderack text NOT NULL,
    hasmetadata boolean NOT NULL,
    isactive boolean NOT NULL,
    noderole noderole NOT NULL,
    nodecluster name NOT NULL,
    metadatasynced boolean,
    shouldhaveshards boolean NOT NULL
);

-- pg_dist_schema: the distributed (tenant) schemas, each its own colocation group.
CREATE TABLE pg_dist_schema (
    schemaid oid NOT NULL,
    colocationid integer NOT NULL
);

-- pg_dist_partition: the distributed tables.
CREATE TABLE pg_dist_partition (
    logicalrelid regclass NOT NULL,
    partmethod "char" NOT NULL,
    partkey text,
    colocationid integer NOT NULL,
    repmodel "char" NOT NULL,
    autoconverted boolean
);

-- pg_dist_shard: the shards of the distributed tables.
CREATE TABLE pg_dist_shard (
    logicalrelid regclass NOT NULL,
    shardid bigint NOT NULL,
    shardstorage "char" NOT NULL,
    shardminvalue text,
    shardmaxvalue text
);

-- pg_dist_placement: which node group holds each shard.
CREATE TABLE pg_dist_placement (
    placementid bigint NOT NULL,
    shardid bigint NOT NULL,
    shardstate integer NOT NULL,
    shardlength bigint NOT NULL,
    groupid integer NOT NULL
);

-- citus_shards is a view in Citus; a table is all sqlc needs.
CREATE TABLE citus_shards (
    table_name regclass,
    shardid bigint,
    shard_name text,
    citus_table_type text,
    colocation_id integer,
    nodename text,
    nodeport integer,
    shard_size bigint
);

-- citus_stat_tenants is a view in Citus; empty unless citus.stat_tenants_track = 'all'.
CREATE TABLE citus_stat_tenants (
    nodeid integer,
    colocation_id integer,
    tenant_attribute text,
    read_count_in_this_period integer,
    read_count_in_last_period integer,
    query_count_in_this_period integer,
    query_count_in_last_period integer,
    cpu_usage_in_this_period double precision,
    cpu_usage_in_last_period double precision
);

CREATE FUNCTION citus_is_coordinator() RETURNS boolean
    LANGUAGE sql AS $$ SELECT false $$;

CREATE FUNCTION citus_schema_move(schema_id regnamespace, target_node_name text, target_node_port integer,
        shard_transfer_mode citus.shard_transfer_mode DEFAULT 'auto') RETURNS void
    LANGUAGE sql AS $$ SELECT $$;

CREATE FUNCTION citus_rebalance_start(rebalance_strategy name DEFAULT NULL, drain_only boolean DEFAULT false,
        shard_transfer_mode citus.shard_transfer_mode DEFAULT 'auto') RETURNS bigint
    LANGUAGE sql AS $$ SELECT NULL::bigint $$;

CREATE FUNCTION citus_rebalance_stop() RETURNS void
    LANGUAGE sql AS $$ SELECT $$;

-- citus_rebalance_status returns TABLE (...) in Citus; sqlc reads the columns
-- of a set-returning function only from a table it returns, hence this
-- stand-in table, which Citus does not have. Its columns are the function's.
CREATE TABLE citus_rebalance_status_result (
    job_id bigint,
    state citus_job_status,
    job_type name,
    description text,
    started_at timestamptz,
    finished_at timestamptz,
    details jsonb
);

CREATE FUNCTION citus_rebalance_status(raw boolean DEFAULT false) RETURNS SETOF citus_rebalance_status_result
    LANGUAGE sql AS $$ SELECT * FROM citus_rebalance_status_result $$;
