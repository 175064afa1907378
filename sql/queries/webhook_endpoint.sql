-- name: CreateWebhookEndpoint :one
-- The id is made by the service: the sealed secret is bound to it. Event types
-- travel as text[] (pgx knows no encoding of an array of our enum).
INSERT INTO webhook_endpoint (
    id,
    organization_id,
    url,
    event_types,
    description,
    secret_sealed
) VALUES (
    @id::uuid,
    @organization_id::uuid,
    @url::text,
    CAST(@event_types::text[] AS webhook_event_type[]),
    sqlc.narg('description')::text,
    @secret_sealed::bytea
)
RETURNING
    id,
    url,
    event_types::text[] AS event_types,
    description,
    created_at;

-- name: GetWebhookEndpoint :one
SELECT
    id,
    url,
    event_types::text[] AS event_types,
    description,
    created_at
FROM webhook_endpoint
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid
    AND deleted_at IS NULL;

-- name: ListWebhookEndpoints :many
-- Newest first; keyset cursor as in ListProspects.
SELECT
    id,
    url,
    event_types::text[] AS event_types,
    description,
    created_at
FROM webhook_endpoint
WHERE organization_id = @organization_id::uuid
    AND deleted_at IS NULL
    AND (
        sqlc.narg('cursor_created_at')::timestamptz IS NULL
        OR (created_at, id) < (sqlc.narg('cursor_created_at')::timestamptz, sqlc.narg('cursor_id')::uuid)
    )
ORDER BY created_at DESC, id DESC
LIMIT @max_rows::integer;

-- name: DeleteWebhookEndpoint :one
-- Returns no row when the endpoint is missing or already deleted. The UPDATE
-- waits for the attempts in flight to the endpoint (LockDeliveryForAttempt holds
-- the row FOR SHARE), and an attempt that locks it afterwards sees deleted_at: no
-- attempt starts once this has committed.
UPDATE webhook_endpoint
SET deleted_at = now()
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid
    AND deleted_at IS NULL
RETURNING id;
