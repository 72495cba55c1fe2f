-- migrate:up

-- demo marks the tenants that `tenantctl demo` made. demo adds its user only
-- to those, so a real tenant that happens to be called school1 never gets a
-- demo/demo123 account. Demo tenants made before this column existed are
-- recognised by their .localhost primary domain (a name that resolves only
-- on the machine itself, so never a production tenant's).
ALTER TABLE clients ADD COLUMN demo boolean NOT NULL DEFAULT false;
UPDATE clients c SET demo = true
WHERE c.schema_name IN ('school1', 'school2')
  AND EXISTS (SELECT 1 FROM domains d WHERE d.client_id = c.id AND d.is_primary AND d.domain = c.schema_name || '.localhost');

-- migrate:down
ALTER TABLE clients DROP COLUMN demo;
