package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestSinkCountsExportedSpans: what the OTLP/HTTP exporter callsvc uses sends,
// gzipped or not, the sink takes and counts.
func TestSinkCountsExportedSpans(t *testing.T) {
	t.Parallel()
	s := &sink{count: true}
	srv := httptest.NewServer(s.handler())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	for _, compression := range []otlptracehttp.Compression{otlptracehttp.NoCompression, otlptracehttp.GzipCompression} {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"), otlptracehttp.WithCompression(compression))
		require.NoError(t, err)
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
		for range 3 {
			_, span := tp.Tracer("test").Start(ctx, "span")
			span.End()
		}
		require.NoError(t, tp.Shutdown(ctx))
	}

	res, err := http.Get(srv.URL + "/stats")
	require.NoError(t, err)
	defer res.Body.Close()
	var stats map[string]int64
	require.NoError(t, json.NewDecoder(res.Body).Decode(&stats))
	require.Equal(t, map[string]int64{"requests": 2, "spans": 6}, stats)
}
