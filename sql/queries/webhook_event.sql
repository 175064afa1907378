-- name: InsertWebhookEvent :exec
-- Writes an event in the transaction of the change it reports, with one delivery
-- for every endpoint of the organization subscribed to its type and one River job
-- per delivery, in one statement that the caller queues with the change's last
-- statement (no round trip of its own). An event no endpoint is subscribed to is
-- not written at all: an event is only ever read by its deliveries, and an
-- endpoint subscribed later gets none of the events before it. So an
-- organization without endpoints writes nothing here. The endpoints are read,
-- not locked: see the webhooks migration. data is NULL for an outcome.created
-- event: its delivery renders the outcome (see the migration that made data
-- nullable). The id is made by the service, time-ordered (newID).
WITH subscribed AS (
    SELECT ep.id
    FROM webhook_endpoint ep
    WHERE ep.organization_id = @organization_id::uuid
        AND ep.deleted_at IS NULL
        AND @type::webhook_event_type = ANY (ep.event_types)
),
event AS (
    INSERT INTO webhook_event (
        id,
        organization_id,
        type,
        call_session_id,
        data
    )
    SELECT
        @id::uuid,
        @organization_id::uuid,
        @type::webhook_event_type,
        @call_session_id::uuid,
        sqlc.narg('data')::json
    WHERE EXISTS (SELECT FROM subscribed)
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
        subscribed.id,
        event.id,
        event.type,
        event.created_at
    FROM event
    CROSS JOIN subscribed
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
