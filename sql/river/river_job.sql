-- sqlc reads this file as schema only, to type the queries of sql/public
-- that read River's job table, and the one of sql/tenant that writes it
-- (EnqueueWebhookDeliveries): River's own migrations (jobs.Migrate) create
-- the real table, with more columns than the few declared here. Nothing
-- runs this file.
CREATE TYPE river.river_job_state AS ENUM (
    'available', 'cancelled', 'completed', 'discarded', 'pending', 'retryable', 'running', 'scheduled'
);

CREATE TABLE river.river_job (
    id bigserial PRIMARY KEY,
    state river.river_job_state NOT NULL DEFAULT 'available',
    kind text NOT NULL,
    queue text NOT NULL DEFAULT 'default',
    scheduled_at timestamptz NOT NULL DEFAULT now(),
    args jsonb NOT NULL DEFAULT '{}',
    max_attempts smallint NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    priority smallint NOT NULL DEFAULT 1,
    tags varchar(255)[] NOT NULL DEFAULT '{}'
);
