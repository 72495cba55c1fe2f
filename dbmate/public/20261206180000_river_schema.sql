-- migrate:up
-- River's job queue (package jobs) keeps its tables in a schema of its own,
-- created here and filled by River's migrations, which tenantctl migrate
-- runs right after the public schema's. No tenant may be named river
-- (db.ParseSchema refuses it).
CREATE SCHEMA river;

-- migrate:down
DROP SCHEMA river CASCADE;
