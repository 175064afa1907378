-- name: CreateProspect :one
INSERT INTO prospect (
    organization_id,
    name,
    client_count
) VALUES (
    @organization_id::uuid,
    @name::text,
    sqlc.narg('client_count')::integer
)
RETURNING *;

-- name: GetProspect :one
SELECT *
FROM prospect
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid;

-- name: ListProspects :many
-- Newest first; the cursor is the (created_at, id) of the last row of the previous page.
SELECT *
FROM prospect
WHERE organization_id = @organization_id::uuid
    AND (
        sqlc.narg('cursor_created_at')::timestamptz IS NULL
        OR (created_at, id) < (sqlc.narg('cursor_created_at')::timestamptz, sqlc.narg('cursor_id')::uuid)
    )
ORDER BY created_at DESC, id DESC
LIMIT @max_rows::integer;

-- name: UpdateProspect :one
-- JSON merge semantics: a NULL name keeps the name; client_count is replaced
-- (possibly by NULL) only when set_client_count is true.
UPDATE prospect
SET
    name = coalesce(sqlc.narg('name')::text, name),
    client_count = CASE
        WHEN @set_client_count::boolean THEN sqlc.narg('client_count')::integer
        ELSE client_count
    END,
    updated_at = now()
WHERE organization_id = @organization_id::uuid
    AND id = @id::uuid
RETURNING *;
