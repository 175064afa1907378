-- migrate:up

-- Outcome creation now locks the call in one statement and reads in the next
-- (lock-then-read): no writer needs to touch the call row to be seen, and the
-- prospect is no longer locked. The comments say so.
COMMENT ON COLUMN call_session.status IS 'scheduled, in_progress, completed or cancelled. Writers serialize on this row''s lock: an outcome takes FOR UPDATE, an objection FOR NO KEY UPDATE, a status change its UPDATE.';
COMMENT ON COLUMN call_session.updated_at IS 'When the call''s status last changed.';

-- migrate:down
COMMENT ON COLUMN call_session.status IS 'scheduled, in_progress, completed or cancelled. Row lock order: call_session before prospect.';
COMMENT ON COLUMN call_session.updated_at IS 'When the call or its objections last changed; every write to a call''s objections or outcome updates this row, which lets the outcome''s locking read detect concurrent writers.';
