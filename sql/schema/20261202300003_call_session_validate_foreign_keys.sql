-- migrate:up

-- The foreign keys added NOT VALID by the previous migration, validated in a
-- transaction of their own: VALIDATE CONSTRAINT scans under a lock that lets
-- writes go on.
ALTER TABLE call_outcome VALIDATE CONSTRAINT call_outcome_organization_id_call_session_id_fkey;
ALTER TABLE objection_response VALIDATE CONSTRAINT objection_response_organization_id_call_session_id_fkey;

-- migrate:down
