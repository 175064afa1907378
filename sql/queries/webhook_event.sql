-- name: InsertWebhookEvent :exec
-- Writes an event in the transaction of the change it reports, with one delivery
-- for every endpoint of the organization subscribed to its type and one River job
-- per delivery, in one statement that the caller queues with the change's last
-- statement (no round trip of its own). An organization without endpoints gets
-- the event row alone. The endpoints are read, not locked: see the webhooks
-- migration. data is NULL for an outcome.created event: its delivery renders the
-- outcome (see the migration that made data nullable). The id is made by the
-- service, time-ordered (newID).
WITH event AS (
    INSERT INTO webhook_event (
        id,
        organization_id,
        type,
        call_session_id,
        data
    ) VALUES (
        @id::uuid,
        @organization_id::uuid,
        @type::webhook_event_type,
        @call_session_id::uuid,
        sqlc.narg('data')::json
    )
    RETURNING
        id,
        organization_id,
        type,
        created_at
),
delivery AS (
    INSERT INTO webhook_delivery (
        organization_id,
        endpoint_id,
        event_id,
        event_type,
        created_at
    )
    SELECT
        event.organization_id,
        ep.id,
        event.id,
        event.type,
        event.created_at
    FROM event
    JOIN webhook_endpoint ep
        ON ep.organization_id = event.organization_id
        AND ep.deleted_at IS NULL
        AND event.type = ANY (ep.event_types)
    RETURNING id
)
INSERT INTO river_job (
    kind,
    queue,
    args,
    max_attempts,
    priority,
    state
)
SELECT
    @job_kind::text,
    @job_queue::text,
    jsonb_build_object('deliveryId', delivery.id),
    @job_max_attempts::smallint,
    1,
    'available'
FROM delivery;
