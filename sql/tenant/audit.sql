-- Queries of the audit log and of the webhook outbox it feeds (package
-- audit). Every change writes its entry with RecordAudit in its own
-- transaction.

-- name: RecordAudit :many
-- RecordAudit writes one audit entry and, when @webhook, one outbox row
-- for each enabled webhook endpoint subscribed to the action, returning
-- those rows' ids (usually none). One statement: no round trip is added
-- for the outbox.
WITH entry AS (
    INSERT INTO audit_log (actor_type, actor_id, actor_name, action, target_type, target_id,
                           client_addr, request_id, changes)
    VALUES (@actor_type, sqlc.narg('actor_id'), @actor_name, @action, @target_type, @target_id,
            @client_addr, @request_id, (sqlc.narg('changes')::text)::jsonb)
    RETURNING id
)
INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payload)
SELECT e.id, @event_id::text, @action::text, (@payload::text)::jsonb
FROM webhook_endpoints e, entry
WHERE @webhook::boolean AND e.enabled AND @action::text = ANY (e.event_types)
RETURNING webhook_deliveries.id;

-- name: EnqueueWebhookDeliveries :exec
-- EnqueueWebhookDeliveries enqueues the job delivering each outbox row, in
-- the transaction that wrote them, straight into River's table: the tenant
-- transaction is not a pgx.Tx that River's InsertTx could take. The columns
-- are those River's own insert writes; workers poll the table (1s), so no
-- notification is needed. A test (audit) runs these jobs through River.
INSERT INTO river.river_job (kind, args, max_attempts, metadata, priority, queue, state, scheduled_at, tags)
SELECT 'webhook.deliver',
       jsonb_build_object('tenant', (@tenant::text)::jsonb, 'delivery_id', d.id),
       @max_attempts::smallint, (@metadata::text)::jsonb, 1, 'default', 'available', now(), '{}'
FROM unnest(@ids::bigint[]) AS d(id);

-- The reads of the log: GET /api/audit/, the admin's tenant page and
-- tenantctl audit. A filter left NULL does not apply, so one query serves
-- every combination; the caller plans it with its parameters
-- (UseCustomPlans), which drops the filters not given and lets each
-- combination use its index (audit_log_action_idx, _actor_idx, _target_idx,
-- _created_idx, or the primary key for the order).

-- name: UseCustomPlans :exec
-- UseCustomPlans makes the rest of the transaction plan each statement
-- with its parameters' values (the connections force generic plans, which
-- cannot leave an unused filter out).
SELECT set_config('plan_cache_mode', 'force_custom_plan', true);

-- name: ListAudit :many
-- ListAudit returns up to @lim entries older than @before_id (NULL: from
-- the newest), newest first, that match every filter given. An entry
-- matches @actions (exact) or @action_prefixes (LIKE patterns); each
-- guarded by IS NOT NULL, so that a custom plan drops the one not given
-- and an exact action uses its index.
SELECT id, created_at, actor_type, actor_id, actor_name, action, target_type, target_id,
       client_addr, request_id, changes
FROM audit_log
WHERE (sqlc.narg('before_id')::bigint IS NULL OR id < sqlc.narg('before_id')::bigint)
  AND ((sqlc.narg('actions')::text[] IS NULL AND sqlc.narg('action_prefixes')::text[] IS NULL)
       OR (sqlc.narg('actions')::text[] IS NOT NULL AND action = ANY (sqlc.narg('actions')::text[]))
       OR (sqlc.narg('action_prefixes')::text[] IS NOT NULL AND action LIKE ANY (sqlc.narg('action_prefixes')::text[])))
  AND (sqlc.narg('actor_type')::text IS NULL OR actor_type = sqlc.narg('actor_type')::text)
  AND (sqlc.narg('actor_id')::bigint IS NULL OR actor_id = sqlc.narg('actor_id')::bigint)
  AND (sqlc.narg('target_type')::text IS NULL OR target_type = sqlc.narg('target_type')::text)
  AND (sqlc.narg('target_id')::text IS NULL OR target_id = sqlc.narg('target_id')::text)
  AND (sqlc.narg('since')::timestamptz IS NULL OR created_at >= sqlc.narg('since')::timestamptz)
  AND (sqlc.narg('until')::timestamptz IS NULL OR created_at <= sqlc.narg('until')::timestamptz)
ORDER BY id DESC
LIMIT @lim;

-- name: ListAuditNewer :many
-- ListAuditNewer is ListAudit backwards, for a previous page: up to @lim
-- entries newer than @after_id, oldest first, that match every filter
-- given.
SELECT id, created_at, actor_type, actor_id, actor_name, action, target_type, target_id,
       client_addr, request_id, changes
FROM audit_log
WHERE id > @after_id::bigint
  AND ((sqlc.narg('actions')::text[] IS NULL AND sqlc.narg('action_prefixes')::text[] IS NULL)
       OR (sqlc.narg('actions')::text[] IS NOT NULL AND action = ANY (sqlc.narg('actions')::text[]))
       OR (sqlc.narg('action_prefixes')::text[] IS NOT NULL AND action LIKE ANY (sqlc.narg('action_prefixes')::text[])))
  AND (sqlc.narg('actor_type')::text IS NULL OR actor_type = sqlc.narg('actor_type')::text)
  AND (sqlc.narg('actor_id')::bigint IS NULL OR actor_id = sqlc.narg('actor_id')::bigint)
  AND (sqlc.narg('target_type')::text IS NULL OR target_type = sqlc.narg('target_type')::text)
  AND (sqlc.narg('target_id')::text IS NULL OR target_id = sqlc.narg('target_id')::text)
  AND (sqlc.narg('since')::timestamptz IS NULL OR created_at >= sqlc.narg('since')::timestamptz)
  AND (sqlc.narg('until')::timestamptz IS NULL OR created_at <= sqlc.narg('until')::timestamptz)
ORDER BY id
LIMIT @lim;

-- name: PruneAudit :execrows
-- PruneAudit deletes up to @lim entries written before @before, the oldest
-- first; the retention job calls it until it deletes fewer, each batch in a
-- transaction of its own, so that a huge log is never one long
-- transaction.
DELETE FROM audit_log
WHERE id IN (SELECT old.id FROM audit_log old WHERE old.created_at < @before::timestamptz
             ORDER BY old.created_at LIMIT @lim);
