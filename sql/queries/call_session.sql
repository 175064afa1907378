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
-- Newest first, optionally filtered by status; keyset cursor as in ListProspects.
-- Served by call_session_status_list_idx alone, which holds every call under its
-- status: one index scan per status asked for (every status when none is),
-- each stopping after max_rows, and the newest max_rows of theirs. There is no
-- (organization_id, created_at, id) index for the unfiltered list, because
-- every index of call_session gets an entry each time a call changes status
-- (the update cannot be HOT: status is indexed), on the path of every outcome.
SELECT c.*
FROM unnest(
    CASE
        WHEN sqlc.narg('status')::call_status IS NULL THEN enum_range(NULL::call_status)
        ELSE ARRAY[sqlc.narg('status')::call_status]
    END
) AS s (status)
CROSS JOIN LATERAL (
    SELECT *
    FROM call_session
    WHERE organization_id = @organization_id::uuid
        AND status = s.status
        AND (
            sqlc.narg('cursor_created_at')::timestamptz IS NULL
            OR (created_at, id) < (sqlc.narg('cursor_created_at')::timestamptz, sqlc.narg('cursor_id')::uuid)
        )
    ORDER BY created_at DESC, id DESC
    LIMIT @max_rows::integer
) c
ORDER BY c.created_at DESC, c.id DESC
LIMIT @max_rows::integer;

-- name: ListCallsOfProspect :many
-- A prospect's calls, newest first, optionally filtered by status; keyset cursor
-- as in ListProspects. Served by call_session_prospect_list_idx.
SELECT *
FROM call_session
WHERE organization_id = @organization_id::uuid
    AND prospect_id = @prospect_id::uuid
    AND (sqlc.narg('status')::call_status IS NULL OR status = sqlc.narg('status')::call_status)
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

-- name: LockCallForCancel :one
-- Locks the call for a cancellation and returns it as of the lock, with the
-- transaction's time: the cancelled call (and its call.cancelled event) can be
-- rendered before CancelCall runs. The lock conflicts with an outcome's and an
-- objection's, so the status read stays true until commit.
SELECT
    sqlc.embed(call_session),
    now()::timestamptz AS cancelled_at
FROM call_session
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid
FOR NO KEY UPDATE;

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
-- Locks the call FOR NO KEY UPDATE before an objection is added and returns its
-- status as of the lock: an objection never lands on a call that an outcome or a
-- cancellation has just closed, and an outcome being decided waits for it (its
-- FOR UPDATE conflicts), then reads it. The caller checks the status and rolls
-- back when the call is not in progress. Locking writes no new row version.
SELECT status
FROM call_session
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid
FOR NO KEY UPDATE;

-- name: TryLockCallForOutcome :one
-- Takes the call's row lock for outcome creation if nobody holds it, and only
-- that: the checks read from GetOutcome, a statement that starts once the lock
-- is held. Under READ COMMITTED a statement that waited for a lock sees the
-- locked row as the winner left it, but its subqueries and joins read the
-- snapshot from before the wait; the next statement takes a new snapshot and
-- sees every committed writer. They go in one pipelined batch, so the split
-- costs no round trip.
-- Only a call in progress is locked. When another transaction holds the call
-- (the winner of a race, a cancel, an objection), locked is false and
-- WaitForCallWriters, next in the batch, waits for it to end; GetOutcome then
-- reads what it left. So the losers of a race wait for the winner together and
-- not for each other: had they queued for the call's lock, each would hold it
-- for a round trip to the server, one after the other, only to read that the
-- outcome exists. locked is also false when the call is not in the
-- organization or not in progress, which GetOutcome tells.
-- It answers when it started (statement_timestamp: when PostgreSQL received
-- it); GetOutcome's checked_at minus that is the time the lock and the wait
-- took, as PostgreSQL's own clock measured it.
WITH locked AS (
    SELECT id
    FROM call_session
    WHERE organization_id = @organization_id::uuid
        AND id = @id::uuid
        AND status = 'in_progress'
    FOR UPDATE SKIP LOCKED
)
SELECT
    statement_timestamp()::timestamptz AS lock_requested_at,
    EXISTS (SELECT FROM locked) AS locked;

-- name: WaitForCallWriters :exec
-- Waits until no other transaction holds the call in progress, by asking for a
-- share lock, which waits for every writer (FOR UPDATE, FOR NO KEY UPDATE, an
-- UPDATE) and not for the other waiters. Sent after TryLockCallForOutcome: when
-- that took the lock, this is a no-op (the transaction holds a stronger lock,
-- and no WAL is written). When the wait ends on a call no longer in progress,
-- the outcome is refused by what GetOutcome reads. On a call still in progress
-- (the holder rolled back, or was an objection) TryLockCallForOutcome, sent
-- again right after, turns the share lock into the call's lock; when other
-- waiters share it too, it skips, and the outcome is tried again from the start
-- with GetCallForOutcomeForUpdate (two share holders that both asked for the
-- lock itself would deadlock).
SELECT
FROM call_session
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid
    AND status = 'in_progress'
FOR SHARE;

-- name: GetCallForOutcomeForUpdate :one
-- TryLockCallForOutcome that waits for the lock, in the queue of those asking
-- for it: what an outcome falls back to when it shared the call with other
-- waiters after WaitForCallWriters, so that its second run cannot miss the lock.
WITH locked AS (
    SELECT id
    FROM call_session
    WHERE organization_id = @organization_id::uuid
        AND id = @id::uuid
        AND status = 'in_progress'
    FOR UPDATE
)
SELECT
    statement_timestamp()::timestamptz AS lock_requested_at,
    EXISTS (SELECT FROM locked) AS locked;

-- name: CompleteCall :exec
-- Called only by outcome creation, under the call lock TryLockCallForOutcome (or,
-- on a rerun, GetCallForOutcomeForUpdate) took.
UPDATE call_session
SET
    status = 'completed',
    ended_at = now(),
    updated_at = now()
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid;
