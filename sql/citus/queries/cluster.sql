-- name: CitusVersion :one
-- CitusVersion returns the version of the citus extension in this
-- database; no row when it is not installed.
SELECT extversion::text AS version FROM pg_catalog.pg_extension WHERE extname = 'citus';

-- name: IsCoordinator :one
-- IsCoordinator reports whether this database is the cluster's coordinator
-- (cluster operations run there only).
SELECT citus_is_coordinator()::boolean AS is_coordinator;

-- name: ListNodes :many
-- ListNodes returns every node of the cluster, the coordinator (group 0)
-- first.
SELECT nodeid, groupid, nodename, nodeport, noderole::text AS noderole, isactive, shouldhaveshards
FROM pg_dist_node
ORDER BY groupid, nodeid;

-- name: SchemaNodes :many
-- SchemaNodes returns the primary node holding each distributed schema's
-- shards, read from the metadata alone (no node is asked anything), or only
-- schema_name's when it is not null. A schema in the middle of a move may
-- briefly have a row for each node; an empty schema (no tables) has none.
SELECT DISTINCT n.nspname::text AS schema_name, nd.nodeid, nd.nodename, nd.nodeport
FROM pg_dist_schema s
JOIN pg_catalog.pg_namespace n ON n.oid = s.schemaid
JOIN pg_dist_partition p ON p.colocationid = s.colocationid
JOIN pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid
JOIN pg_dist_placement pl ON pl.shardid = sh.shardid
JOIN pg_dist_node nd ON nd.groupid = pl.groupid
WHERE pl.shardstate = 1 AND nd.noderole = 'primary'
  AND (sqlc.narg(schema_name)::text IS NULL OR n.nspname = sqlc.narg(schema_name)::text)
ORDER BY schema_name, nd.nodeid;

-- name: IsDistributedSchema :one
-- IsDistributedSchema reports whether schema_name is a distributed schema.
SELECT EXISTS (
    SELECT FROM pg_dist_schema s JOIN pg_catalog.pg_namespace n ON n.oid = s.schemaid
    WHERE n.nspname = sqlc.arg(schema_name)::text
)::boolean AS distributed;

-- name: SchemaSizes :many
-- SchemaSizes returns the bytes of each distributed schema's shards on each
-- node holding them, from citus_shards (which asks every node for the sizes
-- of its shards).
SELECT n.nspname::text AS schema_name, cs.nodename::text AS nodename, cs.nodeport::integer AS nodeport,
    coalesce(sum(cs.shard_size), 0)::bigint AS bytes
FROM citus_shards cs
JOIN pg_catalog.pg_class c ON c.oid = cs.table_name
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE cs.citus_table_type = 'schema'
GROUP BY n.nspname, cs.nodename, cs.nodeport
ORDER BY schema_name;

-- name: StatTenantsTrack :one
-- StatTenantsTrack is citus.stat_tenants_track: citus_stat_tenants counts
-- nothing unless it is 'all'.
SELECT current_setting('citus.stat_tenants_track')::text AS track;

-- name: BusiestSchemas :many
-- BusiestSchemas returns the distributed schemas with the most queries in
-- citus_stat_tenants' current and last periods, busiest first.
SELECT n.nspname::text AS schema_name,
    coalesce(sum(t.query_count_in_this_period), 0)::bigint AS queries_this_period,
    coalesce(sum(t.query_count_in_last_period), 0)::bigint AS queries_last_period,
    coalesce(sum(t.cpu_usage_in_this_period), 0)::float8 AS cpu_this_period,
    coalesce(sum(t.cpu_usage_in_last_period), 0)::float8 AS cpu_last_period
FROM citus_stat_tenants t
JOIN pg_dist_schema s ON s.colocationid = t.colocation_id
JOIN pg_catalog.pg_namespace n ON n.oid = s.schemaid
GROUP BY n.nspname
ORDER BY coalesce(sum(t.query_count_in_this_period), 0) + coalesce(sum(t.query_count_in_last_period), 0) DESC, schema_name
LIMIT sqlc.arg(lim);

-- name: MoveSchema :exec
-- MoveSchema moves a distributed schema's shards to another node:
-- citus_schema_move, online with mode 'auto' (logical replication), or
-- blocking writes to the schema with 'block_writes'.
SELECT citus_schema_move(quote_ident(sqlc.arg(schema_name)::text)::regnamespace, sqlc.arg(node_name)::text,
    sqlc.arg(node_port)::integer, sqlc.arg(mode)::citus.shard_transfer_mode);

-- name: RebalanceStart :one
-- RebalanceStart schedules a rebalance of the cluster as a background job
-- and returns its id, or 0 when there is nothing to move.
SELECT coalesce(citus_rebalance_start(NULL, false, sqlc.arg(mode)::citus.shard_transfer_mode), 0)::bigint AS job_id;

-- name: RebalanceStatus :one
-- RebalanceStatus returns the latest rebalance job; no row when there has
-- never been one.
SELECT job_id, state::text AS state, description, started_at, finished_at, details
FROM citus_rebalance_status();

-- name: RebalanceStop :exec
-- RebalanceStop cancels the running rebalance; Citus refuses when none runs.
SELECT citus_rebalance_stop();
