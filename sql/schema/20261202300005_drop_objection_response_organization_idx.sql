-- migrate:up transaction:false
DROP INDEX CONCURRENTLY IF EXISTS objection_response_organization_idx;

-- migrate:down transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS objection_response_organization_idx ON objection_response (organization_id, call_session_id);
