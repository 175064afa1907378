package telemetry

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// Observe adds v to o, with the trace id of ctx's span as the exemplar when
// that span is sampled, so a dashboard can jump from a slow bucket to a trace
// that landed in it. Exemplars are served in the OpenMetrics format only
// (GET /metrics negotiates it, as Prometheus asks for).
func Observe(ctx context.Context, o prometheus.Observer, v float64) {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		if eo, ok := o.(prometheus.ExemplarObserver); ok {
			eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": sc.TraceID().String()})
			return
		}
	}
	o.Observe(v)
}

// TraceID returns the trace id of ctx's span, or "" when there is none (tracing
// off, and no traceparent came in).
func TraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}
