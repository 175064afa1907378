-- name: CreateOutcome :one
-- The service gives the id it made (time-ordered); created_at is the
-- transaction's time unless given. Both default when absent.
INSERT INTO call_outcome (
    id,
    organization_id,
    call_session_id,
    outcome_type,
    disqualification_reason,
    qualification_flags,
    advisory_mode,
    created_at
) VALUES (
    coalesce(sqlc.narg('id')::uuid, gen_random_uuid()),
    @organization_id::uuid,
    @call_session_id::uuid,
    @outcome_type::outcome_type,
    sqlc.narg('disqualification_reason')::text,
    @qualification_flags::jsonb,
    @advisory_mode::boolean,
    coalesce(sqlc.narg('created_at')::timestamptz, now())
)
RETURNING *;

-- name: GetOutcome :one
-- A call's outcome, and what deciding one checks: one row when the call exists in
-- the organization; the outcome columns are NULL while it has none. Deferred
-- objections in the order they were recorded. Outcome creation runs it right
-- after its lock (TryLockCallForOutcome, WaitForCallWriters); checked_at is when
-- this statement ran (clock_timestamp), so the lock's wait can be measured.
SELECT
    c.id AS call_id,
    c.status AS call_status,
    p.advisory_mode AS prospect_advisory_mode,
    o.id AS outcome_id,
    o.outcome_type,
    o.disqualification_reason,
    o.qualification_flags,
    o.advisory_mode,
    o.created_at,
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
    clock_timestamp()::timestamptz AS checked_at
FROM call_session c
JOIN prospect p
    ON p.organization_id = c.organization_id
    AND p.id = c.prospect_id
LEFT JOIN call_outcome o
    ON o.call_session_id = c.id
WHERE c.organization_id = @organization_id::uuid
    AND c.id = @call_id::uuid;
