-- name: GetServerSecret :one
SELECT secret
FROM server_secret
WHERE name = @name::text;
