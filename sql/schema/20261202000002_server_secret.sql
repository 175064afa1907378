-- migrate:up

-- Secrets that every callsvc server of this database shares, so that what one
-- server signs another verifies (API.md, "More than one server"). They belong to
-- the deployment, not to a tenant: no organization_id.
CREATE TABLE server_secret (
    name text PRIMARY KEY CHECK (name IN ('cursor')),
    secret bytea NOT NULL CHECK (octet_length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE server_secret IS 'Keys shared by every server of this database, created by the migrations. Not tenant data.';
COMMENT ON COLUMN server_secret.name IS 'What the key is for: cursor (the HMAC key that signs list cursors, unless CALLSVC_CURSOR_KEY overrides it).';
COMMENT ON COLUMN server_secret.secret IS 'The key, at least 32 random bytes. Replacing it invalidates the cursors already issued (400 when used) once the servers restart.';
COMMENT ON COLUMN server_secret.created_at IS 'When the key was made.';

-- 32 bytes from two random (version 4) UUIDs: 244 bits from PostgreSQL's strong
-- random source, with no extension.
INSERT INTO server_secret (name, secret)
VALUES ('cursor', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

-- migrate:down
DROP TABLE server_secret;
