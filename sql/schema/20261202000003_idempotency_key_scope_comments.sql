-- migrate:up

-- What the scope and the fingerprint of a key are since issue 12: the comments only.
COMMENT ON COLUMN idempotency_key.path IS 'The request''s route with each path id as a lower-case UUID (so every spelling of one route and ids is one scope); part of the key''s scope.';
COMMENT ON COLUMN idempotency_key.key IS 'The client''s Idempotency-Key header, 1-255 printable ASCII characters.';
COMMENT ON COLUMN idempotency_key.request_hash IS 'SHA-256 of the method, the path and the body''s canonical JSON form (RFC 8785): the same JSON value, however spelled, is the same request; a different one with the same key is refused.';

-- migrate:down
COMMENT ON COLUMN idempotency_key.path IS 'Request path (without query); part of the key''s scope.';
COMMENT ON COLUMN idempotency_key.key IS 'The client''s Idempotency-Key header, 1-255 characters.';
COMMENT ON COLUMN idempotency_key.request_hash IS 'SHA-256 fingerprint of the request body; a different body with the same key is refused.';
