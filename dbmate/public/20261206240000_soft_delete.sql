-- migrate:up

-- A tenant deleted softly keeps its schema, its data and its domains (which
-- stay reserved: domains.domain is unique whatever the tenant's state) but is
-- not routable: ResolveDomain skips it. tenantctl tenant restore clears
-- deleted_at; the purge job drops the tenants deleted longer ago than
-- TENANT_RETENTION. The update fires clients_notify_routing, so every
-- server drops its cached answers for the tenant's hosts.
ALTER TABLE clients ADD COLUMN deleted_at timestamptz;

CREATE INDEX clients_deleted_at_idx ON clients (deleted_at) WHERE deleted_at IS NOT NULL;

-- client_soft_delete marks the live, ready tenant id deleted and returns
-- when, or NULL if it is unknown, provisioning or already deleted. The
-- tenant's queries call it (as public.client_soft_delete) so that its
-- sign-ins end in the same transaction.
CREATE FUNCTION client_soft_delete(client_id bigint) RETURNS timestamptz
LANGUAGE sql VOLATILE AS $$
    UPDATE public.clients SET deleted_at = now()
    WHERE id = client_id AND state = 'ready' AND deleted_at IS NULL
    RETURNING deleted_at;
$$;

-- client_restore makes the deleted tenant id live again and returns true,
-- or false if it is unknown or not deleted.
CREATE FUNCTION client_restore(client_id bigint) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    WITH r AS (
        UPDATE public.clients SET deleted_at = NULL
        WHERE id = client_id AND deleted_at IS NOT NULL
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM r);
$$;

-- migrate:down
DROP FUNCTION client_restore(bigint);
DROP FUNCTION client_soft_delete(bigint);
DROP INDEX clients_deleted_at_idx;
ALTER TABLE clients DROP COLUMN deleted_at;
