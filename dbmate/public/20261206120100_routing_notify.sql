-- migrate:up

-- Every change to routing now says what changed, so a server can drop just
-- those cached answers: one notification per changed row, its payload JSON
-- naming the table, the tenant and, for domains, the host (and the host it
-- had before an update). PostgreSQL folds identical notifications of one
-- transaction into one.
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

DROP TRIGGER clients_notify_routing ON clients;
DROP TRIGGER domains_notify_routing ON domains;

CREATE TRIGGER clients_notify_routing
    AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION notify_tenant_routing();

CREATE TRIGGER domains_notify_routing
    AFTER INSERT OR UPDATE OR DELETE ON domains
    FOR EACH ROW EXECUTE FUNCTION notify_tenant_routing();

-- migrate:down
DROP TRIGGER clients_notify_routing ON clients;
DROP TRIGGER domains_notify_routing ON domains;

CREATE OR REPLACE FUNCTION notify_tenant_routing() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenant_routing', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER clients_notify_routing
    AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION notify_tenant_routing();

CREATE TRIGGER domains_notify_routing
    AFTER INSERT OR UPDATE OR DELETE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION notify_tenant_routing();
