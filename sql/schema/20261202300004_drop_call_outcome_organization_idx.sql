-- migrate:up transaction:false
DROP INDEX CONCURRENTLY IF EXISTS call_outcome_organization_idx;

-- migrate:down transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS call_outcome_organization_idx ON call_outcome (organization_id, call_session_id);
