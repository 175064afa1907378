-- migrate:up

-- call_session's primary key becomes (organization_id, id), the key every query
-- and both composite foreign keys use, instead of id beside a UNIQUE
-- (organization_id, id): one index less. It matters because completing a call
-- changes its status, which call_session_status_list_idx holds, so the update
-- cannot be HOT and adds an entry to every index of the table, on the path of
-- every outcome (bench/README.md). An id is still unique in practice (random
-- or time-ordered UUIDs, made by the service or gen_random_uuid()), and the
-- tenant-first key is the one that keeps tenants apart.
--
-- The index was built CONCURRENTLY by the migration before. The foreign keys
-- that depend on the old unique constraint are dropped with it and added again
-- NOT VALID, so this transaction scans nothing; the next one validates them.
ALTER TABLE call_outcome DROP CONSTRAINT call_outcome_organization_id_call_session_id_fkey;
ALTER TABLE objection_response DROP CONSTRAINT objection_response_organization_id_call_session_id_fkey;
ALTER TABLE call_session DROP CONSTRAINT call_session_organization_id_id_key;
ALTER TABLE call_session DROP CONSTRAINT call_session_pkey;
ALTER TABLE call_session ADD CONSTRAINT call_session_pkey PRIMARY KEY USING INDEX call_session_organization_id_id_idx;
ALTER TABLE call_outcome ADD CONSTRAINT call_outcome_organization_id_call_session_id_fkey
    FOREIGN KEY (organization_id, call_session_id) REFERENCES call_session (organization_id, id) NOT VALID;
ALTER TABLE objection_response ADD CONSTRAINT objection_response_organization_id_call_session_id_fkey
    FOREIGN KEY (organization_id, call_session_id) REFERENCES call_session (organization_id, id) NOT VALID;
COMMENT ON COLUMN call_session.id IS 'Call id (UUID). The primary key is (organization_id, id): every lookup names the organization.';

-- migrate:down
ALTER TABLE call_outcome DROP CONSTRAINT call_outcome_organization_id_call_session_id_fkey;
ALTER TABLE objection_response DROP CONSTRAINT objection_response_organization_id_call_session_id_fkey;
ALTER TABLE call_session DROP CONSTRAINT call_session_pkey;
ALTER TABLE call_session ADD CONSTRAINT call_session_pkey PRIMARY KEY (id);
ALTER TABLE call_session ADD CONSTRAINT call_session_organization_id_id_key UNIQUE (organization_id, id);
ALTER TABLE call_outcome ADD CONSTRAINT call_outcome_organization_id_call_session_id_fkey
    FOREIGN KEY (organization_id, call_session_id) REFERENCES call_session (organization_id, id);
ALTER TABLE objection_response ADD CONSTRAINT objection_response_organization_id_call_session_id_fkey
    FOREIGN KEY (organization_id, call_session_id) REFERENCES call_session (organization_id, id);
COMMENT ON COLUMN call_session.id IS 'Call id (UUID).';
