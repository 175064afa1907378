package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// LogHandler adds trace_id to every record logged with a context that carries
// a trace (a request's, when tracing is on), so each access-log line, and each
// error logged for a request, names the trace to open.
func LogHandler(h slog.Handler) slog.Handler { return traceLog{h} }

type traceLog struct{ slog.Handler }

func (t traceLog) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
	}
	return t.Handler.Handle(ctx, r)
}

func (t traceLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceLog{t.Handler.WithAttrs(attrs)}
}

func (t traceLog) WithGroup(name string) slog.Handler {
	return traceLog{t.Handler.WithGroup(name)}
}
