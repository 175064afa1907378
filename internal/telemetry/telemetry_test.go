package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/callsvc/callsvc/internal/db"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg     Config
		want    string // "" is off
		wantErr string
	}{
		"NothingSet":          {Config{}, "", ""},
		"Endpoint":            {Config{Endpoint: "http://127.0.0.1:4318"}, "http://127.0.0.1:4318/v1/traces", ""},
		"EndpointWithSlash":   {Config{Endpoint: "https://collector:4318/"}, "https://collector:4318/v1/traces", ""},
		"TracesEndpointWins":  {Config{Endpoint: "http://a:4318", TracesEndpoint: "http://b:4318/traces"}, "http://b:4318/traces", ""},
		"ExporterOTLP":        {Config{Endpoint: "http://a:4318", Exporter: "otlp", Protocol: "http/protobuf"}, "http://a:4318/v1/traces", ""},
		"ExporterNone":        {Config{Endpoint: "http://a:4318", Exporter: "none"}, "", ""},
		"ExporterUnknown":     {Config{Endpoint: "http://a:4318", Exporter: "zipkin"}, "", "OTEL_TRACES_EXPORTER must be otlp or none"},
		"GRPC":                {Config{Endpoint: "http://a:4317", Protocol: "grpc"}, "", "only http/protobuf"},
		"GRPCWithoutEndpoint": {Config{Protocol: "grpc"}, "", ""},
		"NoScheme":            {Config{Endpoint: "collector:4318"}, "", "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL"},
		"BadTracesEndpoint":   {Config{TracesEndpoint: "ftp://x"}, "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.cfg.tracesURL()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestOff: a nil *Tracing is off and adds nothing anywhere.
func TestOff(t *testing.T) {
	t.Parallel()
	tr, err := Start(context.Background(), Config{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Nil(t, tr)
	require.Nil(t, tr.Tracer("x"))
	require.Nil(t, tr.PgxTracer())
	h := http.NotFoundHandler()
	require.Equal(t, reflect.ValueOf(h).Pointer(), reflect.ValueOf(tr.Handler(h)).Pointer())
	require.NoError(t, tr.Shutdown(context.Background()))
}

func TestStatementNames(t *testing.T) {
	t.Parallel()
	require.Equal(t, "GetCallForOutcomeForUpdate", StatementName(db.GetCallForOutcomeForUpdate))
	require.Equal(t, "GetOutcome", StatementName(db.GetOutcome))
	require.Equal(t, `BEGIN`, StatementName("BEGIN ISOLATION LEVEL READ COMMITTED"))
	require.Equal(t, `COMMIT`, StatementName(`COMMIT`))

	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue(db.GetCallForOutcomeForUpdate)
	b.Queue(db.GetOutcome)
	require.Equal(t, "batch BEGIN, GetCallForOutcomeForUpdate, GetOutcome", batchName(b))
	for range 10 {
		b.Queue(`COMMIT`)
	}
	require.Equal(t, "batch BEGIN, GetCallForOutcomeForUpdate, GetOutcome, COMMIT, COMMIT, COMMIT, …", batchName(b))
}

// TestExemplarAndLog: an observation in a sampled span carries its trace id as
// the exemplar, and a log record made in it carries trace_id; outside a span,
// neither.
func TestExemplarAndLog(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	defer span.End()
	traceID := span.SpanContext().TraceID().String()

	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Buckets: []float64{1}})
	Observe(context.Background(), h, 0.5)
	Observe(ctx, h, 0.25)
	var m dto.Metric
	require.NoError(t, h.Write(&m))
	require.EqualValues(t, 2, m.GetHistogram().GetSampleCount())
	ex := m.GetHistogram().GetBucket()[0].GetExemplar()
	require.NotNil(t, ex)
	require.Equal(t, 0.25, ex.GetValue())
	require.Equal(t, "trace_id", ex.GetLabel()[0].GetName())
	require.Equal(t, traceID, ex.GetLabel()[0].GetValue())

	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("k", "v")
	log.InfoContext(ctx, "in a span")
	log.Info("outside")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	var in, out map[string]any
	require.NoError(t, json.Unmarshal(lines[0], &in))
	require.NoError(t, json.Unmarshal(lines[1], &out))
	require.Equal(t, traceID, in["trace_id"])
	require.Equal(t, "v", in["k"])
	require.NotContains(t, out, "trace_id")
	require.Equal(t, traceID, TraceID(ctx))
	require.Empty(t, TraceID(context.Background()))
}
