-- migrate:up

-- An outcome.created event no longer stores its data. An Outcome never changes
-- once decided (no route changes it, and an objection is never added to a call
-- that is completed), so a delivery renders it when it is sent, from the call's
-- outcome, as GET .../outcome does. The event's row, written in the outcome's
-- transaction, shrinks from the rendered Outcome (300 bytes and more) to the
-- call's id: less WAL on the path every outcome takes. A call.cancelled event
-- keeps its data, the Call as it was when cancelled.
--
-- call_session_id has no foreign key, like the other outbox references (see the
-- webhooks migration): the call is the row the change itself locked.
ALTER TABLE webhook_event ADD COLUMN call_session_id uuid;
-- The one reader of webhook_event.data is the delivery (LockDeliveryForAttempt),
-- which renders an outcome's data when the column is NULL; no client reads it.
-- squawk-ignore ban-drop-not-null
ALTER TABLE webhook_event ALTER COLUMN data DROP NOT NULL;
ALTER TABLE webhook_event ADD CONSTRAINT webhook_event_data_or_outcome_call CHECK (
    data IS NOT NULL OR (type = 'outcome.created' AND call_session_id IS NOT NULL)
) NOT VALID;
COMMENT ON COLUMN webhook_event.call_session_id IS 'The call the event reports on (no foreign key: see the webhooks migration); NULL on events written before it was added.';
COMMENT ON COLUMN webhook_event.data IS 'call.cancelled: the Call as GET /v1/calls/{id} showed it when it was cancelled, rendered by the service (json, not jsonb: the bytes are kept as written). outcome.created: NULL, rendered when delivered from the call''s outcome, which never changes (events written before this column could be NULL hold it).';

-- migrate:down
ALTER TABLE webhook_event DROP CONSTRAINT webhook_event_data_or_outcome_call;
COMMENT ON COLUMN webhook_event.data IS 'The resource as the API shows it (the Outcome as GET .../outcome answers, the Call as GET /v1/calls/{id}), rendered by the service when the change was made. json, not jsonb: the bytes are kept as written.';
ALTER TABLE webhook_event DROP COLUMN call_session_id;
