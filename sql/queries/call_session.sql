-- name: CreateCall :one
-- The composite foreign key (organization_id, prospect_id) refuses a prospect of
-- another organization with the same 23503 as a missing one.
INSERT INTO call_session (
    organization_id,
    prospect_id,
    status,
    started_at
) VALUES (
    @organization_id::uuid,
    @prospect_id::uuid,
    @status::call_status,
    CASE WHEN @status::call_status = 'in_progress' THEN now() END
)
RETURNING *;

-- name: GetCall :one
SELECT *
FROM call_session
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid;

-- name: ListCalls :many
-- Newest first, optionally filtered by status and prospect; keyset cursor as in ListProspects.
SELECT *
FROM call_session
WHERE organization_id = @organization_id::uuid
    AND (sqlc.narg('status')::call_status IS NULL OR status = sqlc.narg('status')::call_status)
    AND (sqlc.narg('prospect_id')::uuid IS NULL OR prospect_id = sqlc.narg('prospect_id')::uuid)
    AND (
        sqlc.narg('cursor_created_at')::timestamptz IS NULL
        OR (created_at, id) < (sqlc.narg('cursor_created_at')::timestamptz, sqlc.narg('cursor_id')::uuid)
    )
ORDER BY created_at DESC, id DESC
LIMIT @max_rows::integer;

-- name: StartCall :one
-- Returns no row when the call is missing or not scheduled; the UPDATE's row lock
-- and re-check of status under READ COMMITTED make the transition race-free.
UPDATE call_session
SET
    status = 'in_progress',
    started_at = now(),
    updated_at = now()
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid
    AND status = 'scheduled'
RETURNING *;

-- name: CancelCall :one
-- Returns no row when the call is missing or already completed or cancelled.
UPDATE call_session
SET
    status = 'cancelled',
    ended_at = now(),
    updated_at = now()
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid
    AND status IN ('scheduled', 'in_progress')
RETURNING *;

-- name: LockCallForObjection :one
-- Locks the call (FOR NO KEY UPDATE, by updating it) before an objection is added,
-- so objections serialize with outcome creation and cancellation. Touching the row
-- gives it a new version, which GetCallForOutcomeForUpdate uses to detect that a
-- writer committed while it waited. The caller checks the returned status and
-- rolls back when the call is not in progress.
UPDATE call_session
SET updated_at = now()
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid
RETURNING status;

-- name: GetCallForOutcomeForUpdate :one
-- One round trip for every check of outcome creation. Locks the call row (FOR
-- UPDATE OF c) and keeps the prospect's client_count still until commit (FOR SHARE
-- OF p); rows are locked call first, then prospect, the order used everywhere.
--
-- Under READ COMMITTED a statement that waited for the lock sees the NEW version of
-- the locked rows but reads the subqueries (has_outcome, deferred_objections) from
-- its OLD snapshot. snapshot_current compares the locked row's version with the one
-- the snapshot holds: when it is false a writer committed while we waited, and the
-- caller must run this query again (it then holds the lock, so it does not wait).
SELECT
    c.id,
    c.organization_id,
    c.prospect_id,
    c.status,
    c.started_at,
    c.ended_at,
    c.created_at,
    c.updated_at,
    p.client_count,
    p.advisory_mode,
    EXISTS (
        SELECT 1
        FROM call_outcome o
        WHERE o.call_session_id = c.id
    ) AS has_outcome,
    coalesce((
        SELECT json_agg(json_build_object(
            'id', r.id,
            'callId', r.call_session_id,
            'objection', r.objection,
            'response', r.response,
            'outcome', r.outcome,
            'createdAt', r.created_at
        ) ORDER BY r.created_at, r.id)
        FROM objection_response r
        WHERE r.call_session_id = c.id
            AND r.outcome = 'Deferred'
    ), '[]')::jsonb AS deferred_objections,
    (c.xmin = (
        SELECT s.xmin
        FROM call_session s
        WHERE s.id = c.id
    ))::boolean AS snapshot_current
FROM call_session c
JOIN prospect p
    ON p.organization_id = c.organization_id
    AND p.id = c.prospect_id
WHERE c.organization_id = @organization_id::uuid
    AND c.id = @id::uuid
FOR UPDATE OF c
FOR SHARE OF p;

-- name: CompleteCall :exec
-- Called only by outcome creation, under the lock GetCallForOutcomeForUpdate took.
UPDATE call_session
SET
    status = 'completed',
    ended_at = now(),
    updated_at = now()
WHERE id = @id::uuid;
