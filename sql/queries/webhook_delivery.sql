-- name: ListWebhookDeliveries :many
-- An endpoint's deliveries, newest first; keyset cursor as in ListProspects.
SELECT *
FROM webhook_delivery
WHERE organization_id = @organization_id::uuid
    AND endpoint_id = @endpoint_id::uuid
    AND (
        sqlc.narg('cursor_created_at')::timestamptz IS NULL
        OR (created_at, id) < (sqlc.narg('cursor_created_at')::timestamptz, sqlc.narg('cursor_id')::uuid)
    )
ORDER BY created_at DESC, id DESC
LIMIT @max_rows::integer;

-- name: ListWebhookDeliveriesByStatus :many
-- ListWebhookDeliveries of one status, on an index of its own.
SELECT *
FROM webhook_delivery
WHERE organization_id = @organization_id::uuid
    AND endpoint_id = @endpoint_id::uuid
    AND status = @status::webhook_delivery_status
    AND (
        sqlc.narg('cursor_created_at')::timestamptz IS NULL
        OR (created_at, id) < (sqlc.narg('cursor_created_at')::timestamptz, sqlc.narg('cursor_id')::uuid)
    )
ORDER BY created_at DESC, id DESC
LIMIT @max_rows::integer;

-- name: FailPendingDeliveriesOfEndpoint :exec
-- A deleted endpoint's pending deliveries will get no attempt.
UPDATE webhook_delivery
SET
    status = 'failed',
    last_error = @reason::text,
    next_attempt_at = NULL
WHERE organization_id = @organization_id::uuid
    AND endpoint_id = @endpoint_id::uuid
    AND status = 'pending';

-- name: LockDeliveryForAttempt :one
-- What an attempt needs, with the delivery locked (one attempt at a time, should
-- River ever run a job twice) and the endpoint locked FOR SHARE until the
-- attempt is recorded, so that DeleteWebhookEndpoint waits for it. Every row it
-- reads is locked or never changes (the event), so the locking statement may read
-- them itself. No row: the delivery is gone. event_data NULL: an outcome.created
-- event, whose outcome (of event_call_id) is read with GetOutcome.
SELECT
    d.id,
    d.organization_id,
    d.endpoint_id,
    d.status,
    d.attempts,
    d.created_at,
    e.id AS event_id,
    e.type AS event_type,
    e.data AS event_data,
    e.call_session_id AS event_call_id,
    e.created_at AS event_created_at,
    ep.url AS endpoint_url,
    ep.secret_sealed AS endpoint_secret_sealed,
    ep.deleted_at AS endpoint_deleted_at
FROM webhook_delivery d
JOIN webhook_event e
    ON e.id = d.event_id
JOIN webhook_endpoint ep
    ON ep.id = d.endpoint_id
WHERE d.id = @id::uuid
FOR NO KEY UPDATE OF d
FOR SHARE OF ep;

-- name: RecordDeliveryAttempt :exec
UPDATE webhook_delivery
SET
    status = @status::webhook_delivery_status,
    attempts = attempts + 1,
    last_attempt_at = @attempted_at::timestamptz,
    last_response_status = sqlc.narg('response_status')::smallint,
    last_error = sqlc.narg('error')::text,
    next_attempt_at = sqlc.narg('next_attempt_at')::timestamptz
WHERE id = @id::uuid;

-- name: FailDelivery :exec
-- Ends a pending delivery without an attempt (its endpoint was deleted).
UPDATE webhook_delivery
SET
    status = 'failed',
    last_error = @reason::text,
    next_attempt_at = NULL
WHERE id = @id::uuid
    AND status = 'pending';

-- name: PendingDeliveries :one
-- How many deliveries wait, and for how long the oldest has (0 when none), by the
-- database's clock: the queue's depth and age, for metrics.
SELECT
    count(*) AS pending,
    coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_seconds
FROM webhook_delivery
WHERE status = 'pending';
