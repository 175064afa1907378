-- migrate:up

-- River (github.com/riverqueue/river, the job queue that delivers webhooks) ships
-- its tables without comments; the schema docs and tbls lint want one on every
-- table and column. What each holds, as River's own code uses it.

COMMENT ON TABLE river_job IS 'River''s jobs. callsvc inserts one per webhook delivery (kind webhook_delivery, queue webhooks, args {"deliveryId": ...}) in the transaction that writes the delivery; River locks, runs, retries and cleans them.';
COMMENT ON COLUMN river_job.id IS 'Job id, from a sequence.';
COMMENT ON COLUMN river_job.state IS 'available, running, retryable, scheduled, pending, completed, cancelled or discarded.';
COMMENT ON COLUMN river_job.attempt IS 'Attempts River has started (a snoozed attempt is not counted).';
COMMENT ON COLUMN river_job.max_attempts IS 'Attempts after which River discards the job.';
COMMENT ON COLUMN river_job.attempted_at IS 'When the latest attempt started.';
COMMENT ON COLUMN river_job.created_at IS 'When the job was inserted.';
COMMENT ON COLUMN river_job.finalized_at IS 'When the job reached completed, cancelled or discarded; NULL before.';
COMMENT ON COLUMN river_job.scheduled_at IS 'When the job may run next.';
COMMENT ON COLUMN river_job.priority IS 'Priority 1 (first) to 4.';
COMMENT ON COLUMN river_job.args IS 'The job''s arguments as JSON.';
COMMENT ON COLUMN river_job.attempted_by IS 'Ids of the River clients that ran the latest attempts.';
COMMENT ON COLUMN river_job.errors IS 'Errors of failed attempts, one JSON object each.';
COMMENT ON COLUMN river_job.kind IS 'Which worker runs the job.';
COMMENT ON COLUMN river_job.metadata IS 'River''s bookkeeping about the job (snooze count, output).';
COMMENT ON COLUMN river_job.queue IS 'Queue the job is in.';
COMMENT ON COLUMN river_job.tags IS 'Free-form labels.';
COMMENT ON COLUMN river_job.unique_key IS 'Key of a unique job; NULL for others (callsvc''s jobs are not unique jobs).';
COMMENT ON COLUMN river_job.unique_states IS 'States in which unique_key is unique, as a bit mask.';

COMMENT ON TABLE river_leader IS 'The River client elected to run maintenance (scheduling retries, rescuing stuck jobs, cleaning finished ones); one row while a leader holds it.';
COMMENT ON COLUMN river_leader.elected_at IS 'When the leader was elected.';
COMMENT ON COLUMN river_leader.expires_at IS 'When the leadership lapses unless renewed.';
COMMENT ON COLUMN river_leader.leader_id IS 'Id of the leading River client.';
COMMENT ON COLUMN river_leader.name IS 'Always default.';

COMMENT ON TABLE river_migration IS 'River''s migration versions, recorded by callsvc''s dbmate migrations as River''s own migrator would.';
-- River rebuilt river_migration inside a DO block (005), which sqlc does not read:
-- sqlc would refuse a plain COMMENT on the column it cannot see.
DO $$ BEGIN EXECUTE $c$COMMENT ON COLUMN river_migration.line IS 'Migration line; main.'$c$; END $$;
COMMENT ON COLUMN river_migration.version IS 'River migration version applied.';
COMMENT ON COLUMN river_migration.created_at IS 'When it was applied.';

COMMENT ON TABLE river_notification IS 'River''s notification outbox (used by its SQLite driver; empty on PostgreSQL).';
COMMENT ON COLUMN river_notification.id IS 'Notification id, from a sequence.';
COMMENT ON COLUMN river_notification.created_at IS 'When it was written.';
COMMENT ON COLUMN river_notification.payload IS 'The notification''s payload.';
COMMENT ON COLUMN river_notification.topic IS 'The notification''s topic.';

COMMENT ON TABLE river_queue IS 'River''s queues (callsvc has one, webhooks) and whether they are paused.';
COMMENT ON COLUMN river_queue.name IS 'Queue name.';
COMMENT ON COLUMN river_queue.created_at IS 'When the queue was first seen.';
COMMENT ON COLUMN river_queue.metadata IS 'River''s bookkeeping about the queue.';
COMMENT ON COLUMN river_queue.paused_at IS 'When the queue was paused; NULL while it runs.';
COMMENT ON COLUMN river_queue.updated_at IS 'When a River client last reported the queue.';

-- migrate:down
COMMENT ON TABLE river_job IS NULL;
COMMENT ON TABLE river_leader IS NULL;
COMMENT ON TABLE river_migration IS NULL;
COMMENT ON TABLE river_notification IS NULL;
COMMENT ON TABLE river_queue IS NULL;
