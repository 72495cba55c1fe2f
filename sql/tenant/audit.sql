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
            @client_addr, @request_id, sqlc.narg('changes'))
    RETURNING id
)
INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payload)
SELECT e.id, @event_id::text, @action::text, @payload::jsonb
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
       jsonb_build_object('tenant', @tenant::jsonb, 'delivery_id', d.id),
       @max_attempts::smallint, @metadata::jsonb, 1, 'default', 'available', now(), '{}'
FROM unnest(@ids::bigint[]) AS d(id);
