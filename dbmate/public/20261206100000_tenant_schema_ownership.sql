-- migrate:up

-- A tenant's schema is the product's to drop only if the product created it.
-- schema_created is set by tenant_schema_create in the transaction that
-- creates the schema, so a client row whose create was refused (the schema
-- already existed) or that died before creating it never owns a schema.
-- Tenants made before this migration that finished provisioning are taken
-- to own theirs; half-made ones are not (at worst their schema stays behind).
ALTER TABLE clients ADD COLUMN schema_created boolean NOT NULL DEFAULT false;
UPDATE clients SET schema_created = true WHERE state = 'ready';

-- tenant_object_namespace returns the schema an object (as pg_depend names
-- it) belongs to: its own namespace, or that of the relation it is part of
-- (a view's rule, a column default, a trigger, a policy, a constraint).
-- NULL for objects outside any schema (an extension, a publication, ...).
CREATE FUNCTION tenant_object_namespace(classid oid, objid oid) RETURNS oid
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
SELECT CASE $1
    WHEN 'pg_namespace'::regclass THEN $2
    WHEN 'pg_class'::regclass THEN (SELECT relnamespace FROM pg_class WHERE oid = $2)
    WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = $2)
    WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = $2)
    WHEN 'pg_constraint'::regclass THEN (SELECT connamespace FROM pg_constraint WHERE oid = $2)
    WHEN 'pg_rewrite'::regclass THEN
        (SELECT c.relnamespace FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = $2)
    WHEN 'pg_attrdef'::regclass THEN
        (SELECT c.relnamespace FROM pg_attrdef a JOIN pg_class c ON c.oid = a.adrelid WHERE a.oid = $2)
    WHEN 'pg_trigger'::regclass THEN
        (SELECT c.relnamespace FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.oid = $2)
    WHEN 'pg_policy'::regclass THEN
        (SELECT c.relnamespace FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE p.oid = $2)
    ELSE (SELECT n.oid FROM pg_namespace n WHERE n.nspname = (pg_identify_object($1, $2, 0)).schema)
END
$$;

-- tenant_schema_outside_dependents describes every object outside the named
-- schema that depends on an object inside it: what DROP SCHEMA ... CASCADE
-- would reach beyond the schema (a view in public over a tenant table, a
-- foreign key into it, a column of one of its types, an extension installed
-- in it, ...).
CREATE FUNCTION tenant_schema_outside_dependents(schema_name text) RETURNS SETOF text
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
WITH RECURSIVE ns AS (
    SELECT oid FROM pg_namespace WHERE nspname = $1
), inside (classid, objid) AS (
    SELECT 'pg_namespace'::regclass::oid, oid FROM ns
    UNION
    SELECT d.classid, d.objid
    FROM inside i
    JOIN pg_depend d ON d.refclassid = i.classid AND d.refobjid = i.objid
    WHERE d.deptype <> 'p' AND public.tenant_object_namespace(d.classid, d.objid) = (SELECT oid FROM ns)
), outside (classid, objid) AS (
    SELECT DISTINCT d.classid, d.objid
    FROM inside i
    JOIN pg_depend d ON d.refclassid = i.classid AND d.refobjid = i.objid
    -- An internal dependent is part of its object wherever it lives (a
    -- table's TOAST table in pg_toast): it goes with it, reaching nothing.
    WHERE d.deptype NOT IN ('p', 'i')
      AND public.tenant_object_namespace(d.classid, d.objid) IS DISTINCT FROM (SELECT oid FROM ns)
)
-- Name the relation that a rule, default, trigger or policy belongs to
-- ("view public.report"), not the part ("rule _RETURN on view report").
SELECT DISTINCT coalesce(
    (SELECT pg_describe_object('pg_class'::regclass, rel, 0)
     FROM (SELECT ev_class AS rel FROM pg_rewrite WHERE o.classid = 'pg_rewrite'::regclass AND oid = o.objid
           UNION ALL SELECT adrelid FROM pg_attrdef WHERE o.classid = 'pg_attrdef'::regclass AND oid = o.objid
           UNION ALL SELECT tgrelid FROM pg_trigger WHERE o.classid = 'pg_trigger'::regclass AND oid = o.objid
           UNION ALL SELECT polrelid FROM pg_policy WHERE o.classid = 'pg_policy'::regclass AND oid = o.objid) r),
    pg_describe_object(o.classid, o.objid, 0))
FROM outside o
ORDER BY 1
$$;

-- tenant_schema_create refuses a schema that already exists (SQLSTATE 42P06,
-- duplicate_schema, also what a concurrent CREATE SCHEMA gets) instead of
-- adopting it: a schema the product did not create is never migrated into,
-- handed to a tenant, or later dropped.
CREATE OR REPLACE FUNCTION tenant_schema_create(schema_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF $1 !~ '^[a-z_][a-z0-9_]{0,62}$' OR $1 IN ('public', 'information_schema') OR $1 LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'invalid tenant schema name %', quote_literal($1) USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = $1) THEN
        RAISE EXCEPTION 'schema % already exists', quote_ident($1) USING ERRCODE = '42P06';
    END IF;
    EXECUTE format('CREATE SCHEMA %I', $1);
    UPDATE public.clients c SET schema_created = true WHERE c.schema_name = $1;
END
$$;

-- tenant_schema_drop drops a registered tenant's schema, only if
-- tenant_schema_create made it (otherwise it leaves the schema alone and
-- the caller just unregisters the tenant), and refuses (SQLSTATE 2BP01,
-- dependent_objects_still_exist) when anything outside the schema depends on
-- something inside it, so CASCADE never reaches beyond the schema.
CREATE OR REPLACE FUNCTION tenant_schema_drop(schema_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    created boolean;
    deps text;
    rel record;
BEGIN
    SELECT c.schema_created INTO created FROM public.clients c WHERE c.schema_name = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'schema % is not a tenant', quote_literal($1) USING ERRCODE = '22023';
    END IF;
    IF NOT created OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = $1) THEN
        RETURN;
    END IF;
    -- Lock the schema's tables and views first (DROP would anyway), so no
    -- view or foreign key over them can appear between the check and the drop.
    FOR rel IN
        SELECT c.relname FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        ORDER BY c.oid
    LOOP
        EXECUTE format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', $1, rel.relname);
    END LOOP;
    SELECT string_agg(d, ', ') INTO deps FROM public.tenant_schema_outside_dependents($1) AS d;
    IF deps IS NOT NULL THEN
        RAISE EXCEPTION 'schema % cannot be dropped: objects outside it depend on it: %', quote_ident($1), deps
            USING ERRCODE = '2BP01', HINT = 'Drop or change those objects first.';
    END IF;
    EXECUTE format('DROP SCHEMA %I CASCADE', $1);
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION tenant_schema_drop(schema_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.clients c WHERE c.schema_name = $1) THEN
        RAISE EXCEPTION 'schema % is not a tenant', quote_literal($1) USING ERRCODE = '22023';
    END IF;
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', $1);
END
$$;
CREATE OR REPLACE FUNCTION tenant_schema_create(schema_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF $1 !~ '^[a-z_][a-z0-9_]{0,62}$' OR $1 IN ('public', 'information_schema') OR $1 LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'invalid tenant schema name %', quote_literal($1) USING ERRCODE = '22023';
    END IF;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', $1);
END
$$;
DROP FUNCTION tenant_schema_outside_dependents(text);
DROP FUNCTION tenant_object_namespace(oid, oid);
ALTER TABLE clients DROP COLUMN schema_created;
