package httpapi

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// traceRequest completes the request's server span, which otelhttp starts
// around the server before any route is known (internal/telemetry): it is named
// "METHOD /route", the route as the metrics label it ("/v1/calls/:callId/outcome"),
// and carries http.route and the request id, so a problem's requestId finds
// its trace. Unmatched requests keep otelhttp's name, the method alone. With
// tracing off there is no span and nothing is done.
func traceRequest(ctx context.Context, op operation, matched bool, requestID string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String("callsvc.request_id", requestID))
	if matched {
		span.SetName(op.Method + " " + op.Path)
		span.SetAttributes(semconv.HTTPRoute(op.Path))
	}
}
