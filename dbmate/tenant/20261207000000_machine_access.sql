-- migrate:up

-- Machine access and events (issue #11): the audit log, API keys, and
-- webhook endpoints with their deliveries (the outbox the job queue
-- delivers from).

-- One row per change, written in the transaction of the change (package
-- audit). actor_id is not a foreign key: the log outlives users and keys.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'superuser', 'system')),
    actor_id    bigint,
    actor_name  text NOT NULL DEFAULT '',
    action      text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    client_addr text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT '',
    -- {"before": {...}, "after": {...}} of the changed fields only; never a
    -- password, hash or secret.
    changes     jsonb
);

CREATE INDEX audit_log_created_idx ON audit_log (created_at);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_type, actor_id, id);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, id);

-- A key acts as the user who created it, limited by its scope; it goes
-- with that user. Only a hash (SHA-256) of the secret is kept.
CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    scope        text NOT NULL CHECK (scope IN ('read', 'read_write')),
    created_by   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE webhook_endpoints (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url             text NOT NULL,
    event_types     text[] NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    -- The HMAC key itself: a signature needs it, so it cannot be hashed.
    secret          bytea NOT NULL,
    created_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Why the endpoint was disabled by the product (sustained failure);
    -- NULL when enabled, or disabled by its owner.
    disabled_reason text
);

-- The outbox: one row per event and endpoint, written with the change,
-- delivered (and retried) by a job. event_id is the webhook-id header,
-- the same on every attempt, for the receiver's de-duplication.
CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id     bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    response_code   integer,
    latency_ms      integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at    timestamptz
);

CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);

-- migrate:down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE api_keys;
DROP TABLE audit_log;
