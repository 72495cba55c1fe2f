-- migrate:up

-- dbmate creates this table itself before the first migration; declaring it
-- here too lets sqlc type the queries that read it.
CREATE TABLE IF NOT EXISTS schema_migrations (version varchar PRIMARY KEY);

-- Tenant migrations run with search_path set to the tenant schema alone and
-- never name a schema, so one file serves every tenant.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9.@+_-]{1,150}$'),
    email         text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    is_staff      boolean NOT NULL DEFAULT false,
    is_active     boolean NOT NULL DEFAULT true,
    date_joined   timestamptz NOT NULL DEFAULT now(),
    last_login    timestamptz
);

CREATE TABLE items (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        varchar(200) NOT NULL CHECK (name <> ''),
    description text NOT NULL DEFAULT '',
    -- Deleting a user keeps the items they wrote.
    created_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The list endpoint pages newest first.
CREATE INDEX items_newest_idx ON items (created_at DESC, id DESC);
CREATE INDEX items_created_by_idx ON items (created_by);

-- Every refresh token ever issued. A rotation marks the old one used and
-- issues the next in the same family; presenting a used token again revokes
-- the whole family (it was stolen or replayed). Logout revokes one token.
CREATE TABLE refresh_tokens (
    jti        uuid PRIMARY KEY,
    family     uuid NOT NULL,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- migrate:down
DROP TABLE refresh_tokens;
DROP TABLE items;
DROP TABLE users;
