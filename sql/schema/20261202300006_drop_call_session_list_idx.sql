-- migrate:up transaction:false
DROP INDEX CONCURRENTLY IF EXISTS call_session_list_idx;

-- migrate:down transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS call_session_list_idx ON call_session (organization_id, created_at DESC, id DESC);
