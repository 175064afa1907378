-- migrate:up transaction:false
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS call_session_organization_id_id_idx ON call_session (organization_id, id);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS call_session_organization_id_id_idx;
