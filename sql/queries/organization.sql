-- name: CreateOrganization :one
INSERT INTO organization (
    name
) VALUES (
    @name::text
)
RETURNING *;

-- name: GetOrganization :one
SELECT *
FROM organization
WHERE id = @id::uuid;
