-- migrate:up

-- Every row belongs to exactly one organization (tenant). Child tables carry
-- organization_id and reference their parent through (organization_id, id), so the
-- database itself refuses a row that points at another organization's parent.

CREATE TYPE call_status AS ENUM ('scheduled', 'in_progress', 'completed', 'cancelled');
COMMENT ON TYPE call_status IS 'Lifecycle of a call: scheduled -> in_progress -> completed (with an outcome), or cancelled from scheduled/in_progress.';

CREATE TYPE objection_outcome AS ENUM ('Resolved', 'Deferred', 'Unresolved');
COMMENT ON TYPE objection_outcome IS 'How the seller handled an objection; Deferred ones are carried into the call outcome.';

CREATE TYPE outcome_type AS ENUM ('Meeting_Booked', 'Follow_up_Scheduled', 'Not_Interested', 'Disqualified');
COMMENT ON TYPE outcome_type IS 'The decided result of a call.';

CREATE TABLE organization (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200 AND name ~ '[^[:space:]]'),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE organization IS 'A tenant. Every other row belongs to exactly one organization; tenants never see each other''s rows.';
COMMENT ON COLUMN organization.id IS 'Organization id (UUID).';
COMMENT ON COLUMN organization.name IS 'Display name, 1-200 characters, not only whitespace.';
COMMENT ON COLUMN organization.created_at IS 'When the organization was created.';

CREATE TABLE api_key (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization (id),
    key_hash bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    key_prefix text NOT NULL CHECK (char_length(key_prefix) BETWEEN 1 AND 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);
CREATE INDEX api_key_organization_id_idx ON api_key (organization_id);
COMMENT ON TABLE api_key IS 'Bearer API keys. Only a SHA-256 hash of the secret is stored; the secret is shown once, at creation.';
COMMENT ON COLUMN api_key.id IS 'Key id, used to revoke it; not secret.';
COMMENT ON COLUMN api_key.organization_id IS 'The organization the key authenticates as.';
COMMENT ON COLUMN api_key.key_hash IS 'SHA-256 of the full secret key; looked up by hash, never by the secret.';
COMMENT ON COLUMN api_key.key_prefix IS 'First characters of the key, for display and support; not enough to authenticate.';
COMMENT ON COLUMN api_key.created_at IS 'When the key was issued.';
COMMENT ON COLUMN api_key.revoked_at IS 'When the key was revoked; NULL while it is valid.';

CREATE TABLE prospect (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization (id),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200 AND name ~ '[^[:space:]]'),
    client_count integer CHECK (client_count >= 0),
    advisory_mode boolean NOT NULL GENERATED ALWAYS AS (client_count IS NULL OR client_count < 500) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id)
);
CREATE INDEX prospect_list_idx ON prospect (organization_id, created_at DESC, id DESC);
COMMENT ON TABLE prospect IS 'A company being sold to.';
COMMENT ON COLUMN prospect.id IS 'Prospect id (UUID).';
COMMENT ON COLUMN prospect.organization_id IS 'Owning organization.';
COMMENT ON COLUMN prospect.name IS 'Display name, 1-200 characters, not only whitespace.';
COMMENT ON COLUMN prospect.client_count IS 'How many clients the prospect has; NULL when unknown.';
COMMENT ON COLUMN prospect.advisory_mode IS 'Derived: true when client_count is unknown or below 500. Advisory prospects may only get Follow_up_Scheduled or Disqualified outcomes.';
COMMENT ON COLUMN prospect.created_at IS 'When the prospect was created; with id, the list order.';
COMMENT ON COLUMN prospect.updated_at IS 'When the prospect was last changed.';

CREATE TABLE call_session (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organization (id),
    prospect_id uuid NOT NULL,
    status call_status NOT NULL DEFAULT 'scheduled',
    started_at timestamptz,
    ended_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, prospect_id) REFERENCES prospect (organization_id, id),
    CONSTRAINT call_session_started_iff_not_scheduled CHECK ((status = 'scheduled') = (started_at IS NULL) OR status = 'cancelled'),
    CONSTRAINT call_session_ended_iff_finished CHECK ((status IN ('completed', 'cancelled')) = (ended_at IS NOT NULL)),
    CONSTRAINT call_session_ended_after_started CHECK (ended_at >= started_at)
);
CREATE INDEX call_session_list_idx ON call_session (organization_id, created_at DESC, id DESC);
CREATE INDEX call_session_status_list_idx ON call_session (organization_id, status, created_at DESC, id DESC);
CREATE INDEX call_session_prospect_list_idx ON call_session (organization_id, prospect_id, created_at DESC, id DESC);
COMMENT ON TABLE call_session IS 'A sales call with a prospect. A completed call has exactly one call_outcome; a cancelled call has none.';
COMMENT ON COLUMN call_session.id IS 'Call id (UUID).';
COMMENT ON COLUMN call_session.organization_id IS 'Owning organization; equals the prospect''s (composite foreign key).';
COMMENT ON COLUMN call_session.prospect_id IS 'The prospect called.';
COMMENT ON COLUMN call_session.status IS 'scheduled, in_progress, completed or cancelled. Row lock order: call_session before prospect.';
COMMENT ON COLUMN call_session.started_at IS 'Set when the call enters in_progress; NULL while scheduled (and when cancelled before starting).';
COMMENT ON COLUMN call_session.ended_at IS 'Set exactly when the call is completed or cancelled.';
COMMENT ON COLUMN call_session.created_at IS 'When the call was recorded; with id, the list order.';
COMMENT ON COLUMN call_session.updated_at IS 'When the call or its objections last changed; every write to a call''s objections or outcome updates this row, which lets the outcome''s locking read detect concurrent writers.';

CREATE TABLE objection_response (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    call_session_id uuid NOT NULL,
    objection text NOT NULL CHECK (char_length(objection) BETWEEN 1 AND 2000),
    response text CHECK (char_length(response) <= 4000),
    outcome objection_outcome NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, call_session_id) REFERENCES call_session (organization_id, id)
);
CREATE INDEX objection_response_call_idx ON objection_response (call_session_id, created_at, id);
CREATE INDEX objection_response_organization_idx ON objection_response (organization_id, call_session_id);
COMMENT ON TABLE objection_response IS 'An objection raised during an in-progress call and how it was answered.';
COMMENT ON COLUMN objection_response.id IS 'Objection id (UUID).';
COMMENT ON COLUMN objection_response.organization_id IS 'Owning organization; equals the call''s (composite foreign key).';
COMMENT ON COLUMN objection_response.call_session_id IS 'The call the objection was raised in.';
COMMENT ON COLUMN objection_response.objection IS 'What the prospect objected, 1-2000 characters.';
COMMENT ON COLUMN objection_response.response IS 'The seller''s answer, up to 4000 characters; NULL when none was given.';
COMMENT ON COLUMN objection_response.outcome IS 'Resolved, Deferred or Unresolved.';
COMMENT ON COLUMN objection_response.created_at IS 'When it was recorded; with id, the order of the call''s objections.';

CREATE TABLE call_outcome (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    call_session_id uuid NOT NULL,
    outcome_type outcome_type NOT NULL,
    disqualification_reason text CHECK (char_length(disqualification_reason) <= 2000),
    qualification_flags jsonb NOT NULL DEFAULT '{}',
    advisory_mode boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT call_outcome_call_session_id_key UNIQUE (call_session_id),
    FOREIGN KEY (organization_id, call_session_id) REFERENCES call_session (organization_id, id),
    CONSTRAINT call_outcome_reason_iff_disqualified CHECK (
        CASE
            WHEN outcome_type = 'Disqualified'
                THEN coalesce(disqualification_reason ~ '[^[:space:]]', false)
            ELSE disqualification_reason IS NULL
        END
    ),
    CONSTRAINT call_outcome_flags_object_16k CHECK (
        jsonb_typeof(qualification_flags) = 'object'
        AND octet_length(qualification_flags::text) <= 32768
    )
);
CREATE INDEX call_outcome_organization_idx ON call_outcome (organization_id, call_session_id);
COMMENT ON TABLE call_outcome IS 'The decided result of a call, written exactly once per call (unique call_session_id is the backstop behind the row lock).';
COMMENT ON COLUMN call_outcome.id IS 'Outcome id (UUID).';
COMMENT ON COLUMN call_outcome.organization_id IS 'Owning organization; equals the call''s (composite foreign key).';
COMMENT ON COLUMN call_outcome.call_session_id IS 'The call this outcome decides; unique: one outcome per call.';
COMMENT ON COLUMN call_outcome.outcome_type IS 'Meeting_Booked, Follow_up_Scheduled, Not_Interested or Disqualified.';
COMMENT ON COLUMN call_outcome.disqualification_reason IS 'Non-blank exactly when outcome_type is Disqualified; NULL otherwise.';
COMMENT ON COLUMN call_outcome.qualification_flags IS 'Free-form JSON object of qualification facts. The API takes at most 16 KiB as sent; the CHECK bounds the stored text at 32 KiB because jsonb''s text form adds spaces (at most 1.5 times the compact size).';
COMMENT ON COLUMN call_outcome.advisory_mode IS 'Whether the prospect was in advisory mode when the outcome was decided (kept, not recomputed).';
COMMENT ON COLUMN call_outcome.created_at IS 'When the outcome was decided.';

CREATE TABLE idempotency_key (
    organization_id uuid NOT NULL REFERENCES organization (id),
    method text NOT NULL CHECK (method IN ('POST', 'PATCH', 'PUT', 'DELETE')),
    path text NOT NULL CHECK (char_length(path) BETWEEN 1 AND 2048),
    key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    response_status smallint NOT NULL CHECK (response_status BETWEEN 200 AND 299),
    response_location text,
    response_body bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (organization_id, method, path, key),
    CHECK (expires_at > created_at)
);
CREATE INDEX idempotency_key_expires_at_idx ON idempotency_key (expires_at);
COMMENT ON TABLE idempotency_key IS 'Stored answers of successful requests sent with an Idempotency-Key header, replayed on retry. Written in the same transaction as the request''s own writes, so a stored answer exists exactly when the write committed.';
COMMENT ON COLUMN idempotency_key.organization_id IS 'The organization that sent the key; keys are scoped per organization.';
COMMENT ON COLUMN idempotency_key.method IS 'HTTP method of the request; part of the key''s scope.';
COMMENT ON COLUMN idempotency_key.path IS 'Request path (without query); part of the key''s scope.';
COMMENT ON COLUMN idempotency_key.key IS 'The client''s Idempotency-Key header, 1-255 characters.';
COMMENT ON COLUMN idempotency_key.request_hash IS 'SHA-256 fingerprint of the request body; a different body with the same key is refused.';
COMMENT ON COLUMN idempotency_key.response_status IS 'HTTP status of the stored answer (2xx only).';
COMMENT ON COLUMN idempotency_key.response_location IS 'Location header of the stored answer, if any.';
COMMENT ON COLUMN idempotency_key.response_body IS 'Body of the stored answer, replayed byte for byte.';
COMMENT ON COLUMN idempotency_key.created_at IS 'When the answer was stored.';
COMMENT ON COLUMN idempotency_key.expires_at IS 'After this the key is forgotten (24 h); a cleanup deletes expired rows in small batches.';

-- migrate:down
DROP TABLE idempotency_key;
DROP TABLE call_outcome;
DROP TABLE objection_response;
DROP TABLE call_session;
DROP TABLE prospect;
DROP TABLE api_key;
DROP TABLE organization;
DROP TYPE outcome_type;
DROP TYPE objection_outcome;
DROP TYPE call_status;
