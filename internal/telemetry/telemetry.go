// Package telemetry is callsvc's OpenTelemetry tracing: off unless the standard
// OTEL_* environment names an OTLP endpoint, and then spans for each HTTP
// request (otelhttp around the server), each service operation and each SQL
// statement (otelpgx on the pool), exported by OTLP over HTTP.
//
// Off means absent, not idle: no pgx tracer on the pool, no handler around the
// server, no tracer in the service, so tracing costs nothing until it is asked
// for. A nil *Tracing is off.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// serviceName is service.name unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES says otherwise.
const serviceName = "callsvc"

// Config is what the environment says about tracing; the program reads it
// (cmd/callsvc's settings). Everything else — sampler, service name, resource
// attributes, exporter headers, timeout, compression, batching — the
// OpenTelemetry SDK reads from the process environment itself.
type Config struct {
	// Endpoint is OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL,
	// traces go to its /v1/traces.
	Endpoint string
	// TracesEndpoint is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: the full URL for
	// traces; it wins over Endpoint.
	TracesEndpoint string
	// Exporter is OTEL_TRACES_EXPORTER: "" or "otlp" (on when an endpoint is
	// set), or "none" (off).
	Exporter string
	// Protocol is OTEL_EXPORTER_OTLP_PROTOCOL: "" or "http/protobuf", the only
	// one built in.
	Protocol string
}

// tracesURL returns where spans go, or "" when tracing is off.
func (c Config) tracesURL() (string, error) {
	switch c.Exporter {
	case "", "otlp":
	case "none":
		return "", nil
	default:
		return "", fmt.Errorf("OTEL_TRACES_EXPORTER must be otlp or none, got %q", c.Exporter)
	}
	name, endpoint := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", c.TracesEndpoint
	if endpoint == "" {
		if c.Endpoint == "" {
			return "", nil
		}
		name, endpoint = "OTEL_EXPORTER_OTLP_ENDPOINT", strings.TrimSuffix(c.Endpoint, "/")+"/v1/traces"
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s must be an http:// or https:// URL, got %q", name, endpoint)
	}
	if c.Protocol != "" && c.Protocol != "http/protobuf" {
		return "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is built in, got %q", c.Protocol)
	}
	return endpoint, nil
}

// Tracing is tracing switched on: the provider every span comes from.
type Tracing struct {
	provider trace.TracerProvider
	shutdown func(context.Context) error
}

// Start returns the tracing cfg asks for: nil when it asks for none, else an
// SDK provider that batches spans to the OTLP endpoint. The sampler is the
// SDK's, from OTEL_TRACES_SAMPLER (default: parentbased_always_on). Shutdown
// flushes what is still buffered.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Tracing, error) {
	endpoint, err := cfg.tracesURL()
	if err != nil || endpoint == "" {
		return nil, err
	}
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", endpoint, err)
	}
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(serviceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource from OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	// Export failures are the SDK's to report; they go to the JSON log, not to
	// the standard logger's plain lines.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry", "err", err)
	}))
	if u, err := url.Parse(endpoint); err == nil {
		log.Info("tracing", "endpoint", u.Redacted())
	}
	return &Tracing{provider: tp, shutdown: tp.Shutdown}, nil
}

// New returns tracing on tp: for tests, with an in-memory exporter.
func New(tp trace.TracerProvider) *Tracing {
	return &Tracing{provider: tp, shutdown: func(context.Context) error { return nil }}
}

// Shutdown flushes and stops the exporter; nothing when t is off.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// Tracer returns the named tracer, or nil when t is off.
func (t *Tracing) Tracer(name string) trace.Tracer {
	if t == nil {
		return nil
	}
	return t.provider.Tracer(name)
}

// Handler wraps the server's handler in otelhttp: it continues the trace of an
// incoming W3C traceparent (else starts one) and makes the request's server
// span, which the HTTP layer names by route. When t is off, h is returned.
func (t *Tracing) Handler(h http.Handler) http.Handler {
	if t == nil {
		return h
	}
	return otelhttp.NewHandler(h, serviceName,
		otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		// Metrics are Prometheus' (internal/http); otelhttp's would be a
		// second, unread copy.
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
	)
}
