-- migrate:up

-- tenant_check raises SQLSTATE TG404 unless the tenant with this id is
-- registered, ready, under this schema name. Every transaction of a request
-- calls it, in the statement that sets the search_path, so work authorized
-- for one tenant never runs in a tenant deleted and re-created under the
-- same name (the schema name alone would match). Names are qualified: the
-- caller's search_path is the tenant's schema, which may hold a "clients".
CREATE FUNCTION tenant_check(bigint, text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM public.clients c
        WHERE c.id = $1 AND c.schema_name = $2 AND c.state = 'ready'
    ) THEN
        RAISE EXCEPTION 'tenant % is no longer registered as schema %', $1, quote_ident($2)
            USING ERRCODE = 'TG404';
    END IF;
END
$$;

-- migrate:down
DROP FUNCTION tenant_check(bigint, text);
