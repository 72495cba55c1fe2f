-- migrate:up

-- tenant_gone raises SQLSTATE TG404: the tenant a request was authorized for
-- no longer owns its schema. Every transaction of a request compares, in
-- the statement that sets its search_path, the schema's oid with the one
-- its host resolved to, and calls this when they differ: the schema was
-- dropped, or dropped and created again for another tenant under the same
-- name (which the schema name alone would not tell). Comparing oids costs a
-- catalog cache lookup; only a mismatch calls this function.
CREATE FUNCTION tenant_gone(bigint, text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tenant % no longer owns schema %', $1, quote_ident($2)
        USING ERRCODE = 'TG404';
END
$$;

-- migrate:down
DROP FUNCTION tenant_gone(bigint, text);
