-- migrate:up
-- On Citus with schema-based sharding, every schema created is distributed
-- to a worker, river too. River's tables belong on the coordinator with
-- public (its jobs name tenants; they are not a tenant's), and River's own
-- migrations cannot run in a distributed schema. Plain PostgreSQL: nothing.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        IF EXISTS (SELECT FROM pg_dist_schema WHERE schemaid = 'river'::regnamespace) THEN
            PERFORM citus_schema_undistribute('river');
        END IF;
    END IF;
END
$$;

-- migrate:down
