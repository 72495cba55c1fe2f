-- migrate:up

-- dbmate creates this table itself before the first migration; declaring it
-- here too lets sqlc type the queries that read it.
CREATE TABLE IF NOT EXISTS schema_migrations (version varchar PRIMARY KEY);

-- clients are the tenants. A client is routable only once its state is
-- 'ready': provisioning inserts the row first (reserving the schema name and
-- domain) and flips the state as its last step, so a half-made tenant never
-- serves a request.
CREATE TABLE clients (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schema_name text NOT NULL UNIQUE
        CHECK (schema_name ~ '^[a-z_][a-z0-9_]{0,62}$'
               AND schema_name <> 'public'
               AND schema_name <> 'information_schema'
               AND schema_name NOT LIKE 'pg\_%'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    state       text NOT NULL DEFAULT 'provisioning'
        CHECK (state IN ('provisioning', 'ready')),
    on_trial    boolean NOT NULL DEFAULT false,
    paid_until  date,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE domains (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain     text NOT NULL UNIQUE CHECK (domain = lower(domain) AND length(domain) BETWEEN 1 AND 253),
    client_id  bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    is_primary boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX domains_client_id_idx ON domains (client_id);
-- At most one primary domain per tenant.
CREATE UNIQUE INDEX domains_one_primary_idx ON domains (client_id) WHERE is_primary;

CREATE TABLE superusers (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9.@+_-]{1,150}$'),
    email         text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    is_active     boolean NOT NULL DEFAULT true,
    date_joined   timestamptz NOT NULL DEFAULT now(),
    last_login    timestamptz
);

-- Tenant schemas are created and dropped only through these two functions,
-- so a schema name reaches DDL as a bound parameter, validated again here and
-- quoted by format('%I'); no client ever builds the statement text. Only a
-- schema registered as a client can be dropped.
CREATE FUNCTION tenant_schema_create(schema_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF $1 !~ '^[a-z_][a-z0-9_]{0,62}$' OR $1 IN ('public', 'information_schema') OR $1 LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'invalid tenant schema name %', quote_literal($1) USING ERRCODE = '22023';
    END IF;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', $1);
END
$$;

CREATE FUNCTION tenant_schema_drop(schema_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.clients c WHERE c.schema_name = $1) THEN
        RAISE EXCEPTION 'schema % is not a tenant', quote_literal($1) USING ERRCODE = '22023';
    END IF;
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', $1);
END
$$;

-- Servers cache Host -> schema in process; any change to routing tells every
-- listening server to drop its cache. NOTIFY is delivered at commit.
CREATE FUNCTION notify_tenant_routing() RETURNS trigger
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

-- migrate:down
DROP TABLE domains;
DROP TABLE clients;
DROP TABLE superusers;
DROP FUNCTION notify_tenant_routing();
DROP FUNCTION tenant_schema_create(text);
DROP FUNCTION tenant_schema_drop(text);
