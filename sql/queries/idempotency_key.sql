-- name: TryLockIdempotencyKey :one
-- A transaction-scoped advisory lock on the key's scope: the request that holds
-- it runs; a concurrent one with the same key is told the key is in use instead
-- of waiting. The lock ends with the transaction that stores the answer.
SELECT pg_try_advisory_xact_lock(
    hashtextextended(concat_ws(' ', @organization_id::uuid, @method::text, @path::text, @key::text), 0)
)::boolean AS locked;

-- name: GetIdempotencyKey :one
-- The stored answer of a key, unless it has expired.
SELECT
    request_hash,
    response_status,
    response_location,
    response_body
FROM idempotency_key
WHERE organization_id = @organization_id::uuid
    AND method = @method::text
    AND path = @path::text
    AND key = @key::text
    AND expires_at > now();

-- name: StoreIdempotencyKey :exec
-- Stores an answer; an expired row with the same key is replaced.
INSERT INTO idempotency_key (
    organization_id,
    method,
    path,
    key,
    request_hash,
    response_status,
    response_location,
    response_body,
    expires_at
) VALUES (
    @organization_id::uuid,
    @method::text,
    @path::text,
    @key::text,
    @request_hash::bytea,
    @response_status::smallint,
    sqlc.narg('response_location')::text,
    @response_body::bytea,
    now() + make_interval(secs => @ttl_seconds::integer)
)
ON CONFLICT (organization_id, method, path, key) DO UPDATE
SET
    request_hash = excluded.request_hash,
    response_status = excluded.response_status,
    response_location = excluded.response_location,
    response_body = excluded.response_body,
    created_at = excluded.created_at,
    expires_at = excluded.expires_at
WHERE idempotency_key.expires_at <= now();

-- name: DeleteExpiredIdempotencyKeys :execrows
-- Deletes at most max_rows expired keys: short transactions, short locks.
DELETE FROM idempotency_key
WHERE ctid = ANY (ARRAY(
    SELECT ctid
    FROM idempotency_key
    WHERE expires_at <= now()
    ORDER BY expires_at
    LIMIT @max_rows::integer
));
