-- name: CreateAPIKey :one
INSERT INTO api_key (
    organization_id,
    key_hash,
    key_prefix
) VALUES (
    @organization_id::uuid,
    @key_hash::bytea,
    @key_prefix::text
)
RETURNING *;

-- name: GetActiveAPIKeyByHash :one
-- Authenticates a request: a revoked or unknown key returns no row.
SELECT
    id,
    organization_id
FROM api_key
WHERE key_hash = @key_hash::bytea
    AND revoked_at IS NULL;

-- name: RevokeAPIKey :one
-- Revoking twice keeps the first revocation time.
UPDATE api_key
SET revoked_at = coalesce(revoked_at, now())
WHERE id = @id::uuid
RETURNING *;
