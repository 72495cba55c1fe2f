-- Queries of webhook endpoints and their deliveries (server/webhooks.go,
-- package webhook's delivery job). The outbox rows of ordinary events are
-- written by RecordAudit (audit.sql).

-- name: CreateWebhookEndpoint :one
INSERT INTO webhook_endpoints (url, event_types, enabled, secret, created_by)
VALUES (@url, @event_types::text[], @enabled, @secret, sqlc.narg('created_by'))
RETURNING *;

-- name: ListWebhookEndpoints :many
-- ListWebhookEndpoints returns one page of the endpoints, newest first,
-- with the number of all of them.
SELECT id, url, event_types, enabled, disabled_reason, created_at, updated_at,
       count(*) OVER () AS total
FROM webhook_endpoints
ORDER BY created_at DESC, id DESC
LIMIT @lim::int OFFSET @off::bigint;

-- name: GetWebhookEndpoint :one
SELECT * FROM webhook_endpoints WHERE id = @id;

-- name: LockWebhookEndpoint :one
-- LockWebhookEndpoint returns endpoint id locked, for a change that needs
-- its values before (the audit log).
SELECT * FROM webhook_endpoints WHERE id = @id FOR UPDATE;

-- name: UpdateWebhookEndpoint :one
-- UpdateWebhookEndpoint sets the fields given (a NULL argument keeps the
-- column). Enabling clears disabled_reason: the owner took it back.
UPDATE webhook_endpoints
SET url = coalesce(sqlc.narg('url')::text, url),
    event_types = coalesce(sqlc.narg('event_types')::text[], event_types),
    enabled = coalesce(sqlc.narg('enabled')::boolean, enabled),
    disabled_reason = CASE WHEN coalesce(sqlc.narg('enabled')::boolean, enabled) THEN NULL ELSE disabled_reason END,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: DeleteWebhookEndpoint :one
-- DeleteWebhookEndpoint deletes an endpoint and its deliveries (cascade);
-- their pending jobs find no endpoint and complete.
DELETE FROM webhook_endpoints WHERE id = @id RETURNING *;

-- name: ListWebhookDeliveries :many
-- ListWebhookDeliveries returns one page of an endpoint's deliveries,
-- newest first, with the number of all of them.
SELECT id, event_id, event_type, status, attempts, response_code, latency_ms, last_error,
       created_at, last_attempt_at, delivered_at,
       count(*) OVER () AS total
FROM webhook_deliveries
WHERE endpoint_id = @endpoint_id
ORDER BY id DESC
LIMIT @lim::int OFFSET @off::bigint;

-- name: CreateWebhookDelivery :one
-- CreateWebhookDelivery writes one outbox row for one endpoint, whatever
-- it subscribes to (a test ping); enqueue its job with
-- EnqueueWebhookDeliveries in the same transaction.
INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payload)
VALUES (@endpoint_id, @event_id, @event_type, (@payload::text)::jsonb)
RETURNING id;

-- name: GetWebhookDelivery :one
-- GetWebhookDelivery returns a delivery with what its attempt needs of its
-- endpoint.
SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.payload, d.status, d.attempts, d.created_at,
       e.url, e.secret, e.enabled, e.updated_at AS endpoint_updated_at
FROM webhook_deliveries d
JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE d.id = @id;

-- name: RecordWebhookAttempt :one
-- RecordWebhookAttempt records one attempt's outcome: @status is
-- 'succeeded', 'failed' (the last attempt failed) or 'pending' (it is
-- retried). It returns the endpoint's id, and whether the endpoint has not
-- delivered anything since this delivery was created and not changed since
-- either: it failed for the whole retry window (computed for a 'failed'
-- status only, false otherwise). No row: the delivery is gone (its endpoint was deleted).
WITH d AS (
    UPDATE webhook_deliveries
    SET attempts = attempts + 1,
        status = @status::text,
        response_code = sqlc.narg('response_code'),
        latency_ms = @latency_ms,
        last_error = sqlc.narg('last_error'),
        last_attempt_at = now(),
        delivered_at = CASE WHEN @status::text = 'succeeded' THEN now() END
    WHERE webhook_deliveries.id = @id
    RETURNING webhook_deliveries.endpoint_id, webhook_deliveries.created_at
)
SELECT d.endpoint_id,
       (@status::text = 'failed' AND e.updated_at <= d.created_at AND NOT EXISTS (
           SELECT 1 FROM webhook_deliveries s
           WHERE s.endpoint_id = d.endpoint_id AND s.delivered_at >= d.created_at
       ))::boolean AS failing_throughout
FROM d JOIN webhook_endpoints e ON e.id = d.endpoint_id;

-- name: DisableWebhookEndpoint :one
-- DisableWebhookEndpoint disables an enabled endpoint with its reason and
-- returns it; no row when it is already disabled or gone.
UPDATE webhook_endpoints SET enabled = false, disabled_reason = @reason, updated_at = now()
WHERE id = @id AND enabled
RETURNING *;

-- name: ActiveOwnerEmails :many
-- ActiveOwnerEmails returns the addresses of the tenant's active owners.
SELECT email FROM users WHERE role = 'owner' AND is_active AND email <> '' ORDER BY id;
