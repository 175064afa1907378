-- River's migration 003 (003_river_job_tags_non_null), from github.com/riverqueue/river/riverdriver/riverpgxv5
-- v0.51.2 (migration/main/003_river_job_tags_non_null.up.sql and .down.sql), as River ships it with its
-- /* TEMPLATE: schema */ markers removed (River's tables live in the public schema).
-- Ours alone: the river_migration row (INSERT in up, DELETE in down), which records
-- the version as River's own migrator would, so River's tools see the schema they expect.

-- squawk: River's SQL is kept as River wrote it, so these findings are River's:
--   adding-not-nullable-field: SET NOT NULL scans river_job, which is empty here.
-- river_job is empty when this runs: the River migrations arrive together and
-- no River client runs before `migrate up` has applied them all.
-- squawk-ignore-file adding-not-nullable-field

-- migrate:up
ALTER TABLE river_job ALTER COLUMN tags SET DEFAULT '{}';
UPDATE river_job SET tags = '{}' WHERE tags IS NULL;
ALTER TABLE river_job ALTER COLUMN tags SET NOT NULL;

INSERT INTO river_migration (version) VALUES (3);

-- migrate:down
DELETE FROM river_migration WHERE version = 3;

ALTER TABLE river_job
    ALTER COLUMN tags DROP NOT NULL,
    ALTER COLUMN tags DROP DEFAULT;
