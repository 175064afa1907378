-- name: CreateObjection :one
INSERT INTO objection_response (
    organization_id,
    call_session_id,
    objection,
    response,
    outcome
) VALUES (
    @organization_id::uuid,
    @call_session_id::uuid,
    @objection::text,
    sqlc.narg('response')::text,
    @outcome::objection_outcome
)
RETURNING *;

-- name: ListObjections :many
-- Newest first; keyset cursor as in ListProspects.
SELECT *
FROM objection_response
WHERE organization_id = @organization_id::uuid
    AND call_session_id = @call_session_id::uuid
    AND (
        sqlc.narg('cursor_created_at')::timestamptz IS NULL
        OR (created_at, id) < (sqlc.narg('cursor_created_at')::timestamptz, sqlc.narg('cursor_id')::uuid)
    )
ORDER BY created_at DESC, id DESC
LIMIT @max_rows::integer;
