-- River's migration 001 (001_create_river_migration), from github.com/riverqueue/river/riverdriver/riverpgxv5
-- v0.51.2 (migration/main/001_create_river_migration.up.sql and .down.sql), as River ships it with its
-- /* TEMPLATE: schema */ markers removed (River's tables live in the public schema).
-- Ours alone: the river_migration row (INSERT in up, DELETE in down), which records
-- the version as River's own migrator would, so River's tools see the schema they expect.

-- squawk: River's SQL is kept as River wrote it, so these findings are River's:
--   prefer-identity: bigserial is River's choice of key.
-- squawk-ignore-file prefer-identity

-- migrate:up
CREATE TABLE river_migration(
  id bigserial PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT NOW(),
  version bigint NOT NULL,
  CONSTRAINT version CHECK (version >= 1)
);

CREATE UNIQUE INDEX ON river_migration USING btree(version);

INSERT INTO river_migration (version) VALUES (1);

-- migrate:down
DROP TABLE river_migration;
