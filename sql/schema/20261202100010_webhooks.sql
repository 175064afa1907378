-- migrate:up

-- Webhooks: an organization's endpoints, the events its changes produce and each
-- event's delivery to each endpoint. An event and its deliveries are written in the
-- transaction of the change they report (a transactional outbox); River's jobs
-- (river_job, kind webhook_delivery) carry the deliveries out.
--
-- The outbox rows are written on the outcome's path, so they take no row lock
-- there: webhook_event and webhook_delivery have no foreign key to organization or
-- webhook_endpoint, whose rows every outcome of the organization would otherwise
-- lock FOR KEY SHARE (a write, and a MultiXact when outcomes overlap). Endpoints are
-- never deleted (deleted_at), and the statement that writes the deliveries reads
-- the endpoints it names, so the references cannot dangle.

CREATE TYPE webhook_event_type AS ENUM ('outcome.created', 'call.cancelled');
COMMENT ON TYPE webhook_event_type IS 'What an event reports: outcome.created (data: the Outcome) or call.cancelled (data: the Call).';

CREATE TYPE webhook_delivery_status AS ENUM ('pending', 'succeeded', 'failed');
COMMENT ON TYPE webhook_delivery_status IS 'pending until an attempt succeeds (succeeded) or the retries give up or the endpoint is deleted (failed).';

CREATE TABLE webhook_endpoint (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organization (id),
    url text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2000 AND url ~* '^https?://[^/?#]'),
    event_types webhook_event_type[] NOT NULL CHECK (cardinality(event_types) >= 1 AND array_position(event_types, NULL) IS NULL),
    description text CHECK (char_length(description) <= 500),
    secret_sealed bytea NOT NULL CHECK (octet_length(secret_sealed) = 61),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT webhook_endpoint_deleted_after_created CHECK (deleted_at >= created_at)
);
CREATE INDEX webhook_endpoint_list_idx ON webhook_endpoint (organization_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
COMMENT ON TABLE webhook_endpoint IS 'An HTTP endpoint an organization subscribed to events. Deleting one sets deleted_at: it then gets no attempt and no new delivery.';
COMMENT ON COLUMN webhook_endpoint.id IS 'Endpoint id (UUID), made by the service: the sealed secret is bound to it.';
COMMENT ON COLUMN webhook_endpoint.organization_id IS 'Owning organization.';
COMMENT ON COLUMN webhook_endpoint.url IS 'Absolute http or https URL the events are POSTed to, at most 2000 characters, as given. Hosts that are or resolve to loopback, private, link-local, multicast or unspecified addresses are refused by the service unless CALLSVC_WEBHOOK_ALLOW_PRIVATE is set.';
COMMENT ON COLUMN webhook_endpoint.event_types IS 'Event types the endpoint receives; at least one.';
COMMENT ON COLUMN webhook_endpoint.description IS 'Free text, up to 500 characters; NULL when none was given.';
COMMENT ON COLUMN webhook_endpoint.secret_sealed IS 'The 32-byte signing secret, sealed with AES-256-GCM under CALLSVC_WEBHOOK_SECRET_KEY (version byte, nonce, ciphertext and tag; the endpoint id is the additional data). Shown to the client once, at creation.';
COMMENT ON COLUMN webhook_endpoint.created_at IS 'When the endpoint was created; with id, the list order.';
COMMENT ON COLUMN webhook_endpoint.deleted_at IS 'When the endpoint was deleted; NULL while it is subscribed. Attempts lock the row FOR SHARE, so the delete waits for an attempt in flight and none starts after it.';

CREATE TABLE webhook_event (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    type webhook_event_type NOT NULL,
    data json NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE webhook_event IS 'An event, written in the transaction of the change it reports: a committed change has its event, a rolled-back one has none.';
COMMENT ON COLUMN webhook_event.id IS 'Event id (UUID): the webhook-id header and the body''s id, the same on every attempt.';
COMMENT ON COLUMN webhook_event.organization_id IS 'The organization whose change this reports (no foreign key: see the migration).';
COMMENT ON COLUMN webhook_event.type IS 'outcome.created or call.cancelled.';
COMMENT ON COLUMN webhook_event.data IS 'The resource as the API shows it (the Outcome as GET .../outcome answers, the Call as GET /v1/calls/{id}), rendered by the service when the change was made. json, not jsonb: the bytes are kept as written.';
COMMENT ON COLUMN webhook_event.created_at IS 'When the change was made (its transaction''s start).';

CREATE TABLE webhook_delivery (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    event_id uuid NOT NULL REFERENCES webhook_event (id) ON DELETE CASCADE,
    event_type webhook_event_type NOT NULL,
    status webhook_delivery_status NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_attempt_at timestamptz,
    last_response_status smallint CHECK (last_response_status BETWEEN 100 AND 599),
    last_error text CHECK (char_length(last_error) <= 1000),
    next_attempt_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_delivery_event_id_endpoint_id_key UNIQUE (event_id, endpoint_id),
    CONSTRAINT webhook_delivery_attempted_iff_attempts CHECK ((attempts = 0) = (last_attempt_at IS NULL)),
    CONSTRAINT webhook_delivery_next_only_while_pending CHECK (status = 'pending' OR next_attempt_at IS NULL)
);
CREATE INDEX webhook_delivery_list_idx ON webhook_delivery (endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_delivery_status_list_idx ON webhook_delivery (endpoint_id, status, created_at DESC, id DESC);
CREATE INDEX webhook_delivery_pending_idx ON webhook_delivery (created_at) WHERE status = 'pending';
COMMENT ON TABLE webhook_delivery IS 'One event to one endpoint: written with the event, for every endpoint subscribed to its type; a River job (river_job.args deliveryId) makes the attempts. An attempt''s update can be HOT (no index holds the columns it changes) except the last, which changes status.';
COMMENT ON COLUMN webhook_delivery.id IS 'Delivery id (UUID).';
COMMENT ON COLUMN webhook_delivery.organization_id IS 'Owning organization; equals the event''s and the endpoint''s.';
COMMENT ON COLUMN webhook_delivery.endpoint_id IS 'The webhook_endpoint delivered to (no foreign key: see the migration).';
COMMENT ON COLUMN webhook_delivery.event_id IS 'The event delivered.';
COMMENT ON COLUMN webhook_delivery.event_type IS 'The event''s type, kept here for the deliveries list.';
COMMENT ON COLUMN webhook_delivery.status IS 'pending, succeeded (an attempt got a 2xx answer) or failed (24 h of retries, or the endpoint was deleted).';
COMMENT ON COLUMN webhook_delivery.attempts IS 'Attempts made so far.';
COMMENT ON COLUMN webhook_delivery.last_attempt_at IS 'When the last attempt ended; NULL before the first.';
COMMENT ON COLUMN webhook_delivery.last_response_status IS 'HTTP status of the last attempt''s answer; NULL when it got none (timeout, refused connection, URL not allowed).';
COMMENT ON COLUMN webhook_delivery.last_error IS 'Why the last attempt failed, for the client to read (never a secret); NULL after a success or before the first attempt.';
COMMENT ON COLUMN webhook_delivery.next_attempt_at IS 'When the next attempt is due, while pending; NULL before the first attempt and once finished.';
COMMENT ON COLUMN webhook_delivery.created_at IS 'When the event was written; with id, the list order.';

-- The answer of a webhook endpoint's creation shows its secret: an Idempotency-Key
-- stores it sealed, like the secret itself.
COMMENT ON COLUMN idempotency_key.response_body IS 'Body of the stored answer, replayed byte for byte; sealed (AES-256-GCM under CALLSVC_WEBHOOK_SECRET_KEY) when it shows a webhook secret.';

-- migrate:down
COMMENT ON COLUMN idempotency_key.response_body IS 'Body of the stored answer, replayed byte for byte.';
DROP TABLE webhook_delivery;
DROP TABLE webhook_event;
DROP TABLE webhook_endpoint;
DROP TYPE webhook_delivery_status;
DROP TYPE webhook_event_type;
