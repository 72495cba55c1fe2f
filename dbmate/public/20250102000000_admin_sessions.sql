-- migrate:up

-- Sessions of superusers signed in to the admin web UI. The cookie carries a
-- random token; only its SHA-256 is stored, so a leaked copy of this table
-- signs nobody in. Each session has its own CSRF token, checked on every
-- form, and at most one flash message waiting for the next page.
CREATE TABLE admin_sessions (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    superuser_id bigint NOT NULL REFERENCES superusers (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    flash        text NOT NULL DEFAULT '',
    flash_error  boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

CREATE INDEX admin_sessions_superuser_id_idx ON admin_sessions (superuser_id);
CREATE INDEX admin_sessions_expires_at_idx ON admin_sessions (expires_at);

-- migrate:down
DROP TABLE admin_sessions;
