-- migrate:up

-- A routing change now names the hosts whose cached answers it may have made
-- wrong, so a server drops just those and never empties its cache for a
-- signup, a rename or a deletion. One notification per changed row, its
-- payload JSON: {"table", "op", "tenant_id", "hosts": [...]}.
--
-- - A domains row names its host (and, for an update, the host it had).
-- - A clients row names every host of the tenant: a tenant becoming ready or
--   being restored makes "not a tenant" answers wrong, one renamed or
--   deleted makes its tenant answers wrong, and these are exactly its
--   domains'. (A deleted tenant's domains go by ON DELETE CASCADE, each
--   naming its own host.)
-- - A NOTIFY payload must be under 8000 bytes: a tenant with too many hosts
--   for that (about 30 of the longest, 250 of a usual length) sends
--   "all": true instead, and every server empties its cache.
-- - Updates that leave what ResolveDomain reads unchanged (a tenant's name,
--   trial, paid_until; a domain's is_primary) notify nothing.
--
-- A domain added to a tenant first locks the tenant's row: a change to the
-- tenant that is being committed then either reads the new domain or
-- commits first (and the domain's own notification follows it), so a
-- tenant's notification never misses a host added at the same time.
CREATE OR REPLACE FUNCTION notify_tenant_routing() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tenant bigint;
    hosts text[];
    payload text;
BEGIN
    IF TG_TABLE_NAME = 'domains' THEN
        IF TG_OP = 'UPDATE' AND (OLD.domain, OLD.client_id) IS NOT DISTINCT FROM (NEW.domain, NEW.client_id) THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'DELETE' THEN
            tenant := OLD.client_id;
            hosts := ARRAY[OLD.domain];
        ELSE
            PERFORM 1 FROM public.clients WHERE id = NEW.client_id FOR NO KEY UPDATE;
            tenant := NEW.client_id;
            hosts := ARRAY[NEW.domain];
            IF TG_OP = 'UPDATE' AND OLD.domain <> NEW.domain THEN
                hosts := hosts || OLD.domain;
            END IF;
        END IF;
    ELSE
        IF TG_OP = 'UPDATE' AND (OLD.id, OLD.schema_name, OLD.state, OLD.deleted_at)
                IS NOT DISTINCT FROM (NEW.id, NEW.schema_name, NEW.state, NEW.deleted_at) THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'DELETE' THEN
            tenant := OLD.id;
        ELSE
            tenant := NEW.id;
        END IF;
        hosts := ARRAY(SELECT d.domain FROM public.domains d WHERE d.client_id = tenant ORDER BY d.domain);
    END IF;
    payload := json_build_object('table', TG_TABLE_NAME, 'op', lower(TG_OP), 'tenant_id', tenant, 'hosts', hosts)::text;
    IF octet_length(payload) >= 8000 THEN
        payload := json_build_object('table', TG_TABLE_NAME, 'op', lower(TG_OP), 'tenant_id', tenant, 'all', true)::text;
    END IF;
    PERFORM pg_notify('tenant_routing', payload);
    RETURN NULL;
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION notify_tenant_routing() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    IF TG_TABLE_NAME = 'domains' THEN
        PERFORM pg_notify('tenant_routing', json_build_object(
            'table', 'domains', 'op', lower(TG_OP), 'tenant_id', r.client_id, 'host', r.domain)::text);
        IF TG_OP = 'UPDATE' AND OLD.domain IS DISTINCT FROM NEW.domain THEN
            PERFORM pg_notify('tenant_routing', json_build_object(
                'table', 'domains', 'op', 'update', 'tenant_id', OLD.client_id, 'host', OLD.domain)::text);
        END IF;
    ELSE
        PERFORM pg_notify('tenant_routing', json_build_object(
            'table', 'clients', 'op', lower(TG_OP), 'tenant_id', r.id, 'schema', r.schema_name)::text);
    END IF;
    RETURN NULL;
END
$$;
