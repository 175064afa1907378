-- migrate:up

-- The check added NOT VALID by the previous migration, validated in a transaction
-- of its own: VALIDATE CONSTRAINT scans the table under a lock that lets writes go on.
ALTER TABLE webhook_event VALIDATE CONSTRAINT webhook_event_data_or_outcome_call;

-- migrate:down
