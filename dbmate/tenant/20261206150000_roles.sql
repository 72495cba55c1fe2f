-- migrate:up

-- Roles of a tenant's users (issue #12): owner, admin, member. The
-- permission table in server/permissions.go says what each may do.
-- One action per ALTER TABLE, and the constraint apart: Citus refuses an
-- ADD COLUMN with a constraint in a distributed schema.
--
-- The columns are added bare, then given their defaults and values, then
-- made NOT NULL: an ADD COLUMN with a DEFAULT makes PostgreSQL (15) read
-- the whole of pg_index, which holds a row for every index of every
-- tenant: millions of rows at 100,000 tenants, read for this migration
-- and again for every tenant created after it.
ALTER TABLE users ADD COLUMN role text;
ALTER TABLE users ALTER COLUMN role SET DEFAULT 'member';
ALTER TABLE users ADD COLUMN email_verified boolean;
ALTER TABLE users ALTER COLUMN email_verified SET DEFAULT false;

-- Existing data: the tenant's first staff user (by id) becomes its owner,
-- the other staff users admins; everyone else stays a member. is_staff stays
-- as it was, for the clients that read it.
UPDATE users SET email_verified = false, role = CASE
    WHEN id = (SELECT min(id) FROM users WHERE is_staff) THEN 'owner'
    WHEN is_staff THEN 'admin'
    ELSE 'member'
END;
ALTER TABLE users ALTER COLUMN role SET NOT NULL;
ALTER TABLE users ALTER COLUMN email_verified SET NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('owner', 'admin', 'member'));

-- The owners are locked and counted on every change of a role or of an
-- owner's active flag (the last active owner stays).
CREATE INDEX users_owner_idx ON users (id) WHERE role = 'owner';

-- migrate:down
DROP INDEX users_owner_idx;
ALTER TABLE users DROP COLUMN email_verified, DROP COLUMN role;
