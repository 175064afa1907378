-- River's migration 008 (008_job_id_autoincrement), from github.com/riverqueue/river/riverdriver/riverpgxv5
-- v0.51.2 (migration/main/008_job_id_autoincrement.up.sql and .down.sql), as River ships it with its
-- /* TEMPLATE: schema */ markers removed (River's tables live in the public schema).
-- Ours alone: the river_migration row (INSERT in up, DELETE in down), which records
-- the version as River's own migrator would, so River's tools see the schema they expect.

-- migrate:up
-- No-op. Postgres sequences already prevent automatically generated job IDs
-- from being reused.
SELECT 1;

INSERT INTO river_migration (line, version) VALUES ('main', 8);

-- migrate:down
DELETE FROM river_migration WHERE line = 'main' AND version = 8;

-- No-op. Postgres sequences already prevent automatically generated job IDs
-- from being reused.
SELECT 1;
