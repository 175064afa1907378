// Package httpapi is callsvc's HTTP layer: the strict Echo server that oapi-codegen
// generates from api/openapi.yaml (api.gen.go), the handlers that implement it by
// calling internal/service, and the middleware around them.
//
// A HEAD request is served as the GET it mirrors, without the body (head.go).
// A request passes, in this order: request id, access log and metrics (and the
// name of its trace span, when tracing: otelhttp wraps the server), panic
// recovery, route check (404 not_found / 405 method_not_allowed), a deadline for
// /v1 work (503 when it runs out), authentication for
// /v1 (401 before anything about the request is judged, so a caller without a key
// learns nothing from validation), body size, media type and charset (413, 415),
// the body as exactly one I-JSON value (400, internal/ijson), validation against
// the spec (400 invalid_request), the Idempotency-Key claim for POSTs that carry
// one (idempotency.go: key, scope, fingerprint), then the handler.
//
// Every error answer is an RFC 9457 problem document built by one function (problem)
// and rendered either as the operation's typed response, for the failures the spec
// lists per operation, or by the one Echo HTTPErrorHandler for everything else.
package httpapi
