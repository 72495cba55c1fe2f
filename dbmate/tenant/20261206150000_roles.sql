-- migrate:up

-- Roles of a tenant's users (issue #12): owner, admin, member. The
-- permission table in server/permissions.go says what each may do.
-- One action per ALTER TABLE, and the constraint apart: Citus refuses an
-- ADD COLUMN with a constraint in a distributed schema.
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'member';
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('owner', 'admin', 'member'));
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

-- Existing data: the tenant's first staff user (by id) becomes its owner,
-- the other staff users admins; everyone else stays a member. is_staff stays
-- as it was, for the clients that read it.
UPDATE users SET role = 'admin' WHERE is_staff;
UPDATE users SET role = 'owner'
WHERE id = (SELECT min(id) FROM users WHERE is_staff);

-- The owners are locked and counted on every change of a role or of an
-- owner's active flag (the last active owner stays).
CREATE INDEX users_owner_idx ON users (id) WHERE role = 'owner';

-- migrate:down
DROP INDEX users_owner_idx;
ALTER TABLE users DROP COLUMN email_verified, DROP COLUMN role;
