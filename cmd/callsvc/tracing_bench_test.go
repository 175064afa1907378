package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/callsvc/callsvc/internal/dbtest"
	"github.com/callsvc/callsvc/internal/service"
	"github.com/callsvc/callsvc/internal/telemetry"
)

// BenchmarkOutcomeTracing is what tracing costs per outcome POST, through the
// whole server (newAPI, as serve builds it) over loopback HTTP: Off, as callsvc
// runs by default, against On, every request sampled and its spans batched by
// OTLP/HTTP to an endpoint that discards them. Run it on a quiet machine:
//
//	go test -run '^$' -bench OutcomeTracing -benchtime 20000x -count 5 ./cmd/callsvc
//
// (make bench measures the same with the real binary: bench/README.md, Tracing.)
func BenchmarkOutcomeTracing(b *testing.B) {
	b.Run("Off", func(b *testing.B) { benchmarkOutcomes(b, nil) })
	b.Run("On", func(b *testing.B) {
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
		}))
		b.Cleanup(sink.Close)
		exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(sink.URL+"/v1/traces"))
		require.NoError(b, err)
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		benchmarkOutcomes(b, telemetry.New(tp))
	})
}

func benchmarkOutcomes(b *testing.B, tracing *telemetry.Tracing) {
	ctx := context.Background()
	dbURL := dbtest.NewDatabase(b)
	cfg, err := loadConfig(func(k string) string {
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	})
	require.NoError(b, err)
	pool, err := openPool(ctx, cfg, cfg.PoolMaxConns, tracing.PgxTracer())
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(io.Discard, nil)))
	handler, svc, err := newAPI(pool, log, tracing, nil, nil)
	require.NoError(b, err)
	srv := httptest.NewServer(handler)
	b.Cleanup(srv.Close)

	var key service.NewAPIKey
	require.NoError(b, svc.InTx(ctx, func(tx *service.Tx) (err error) {
		_, key, err = svc.CreateOrganization(ctx, tx, "Bench")
		return err
	}))
	// The calls are made in bulk, outside the timed loop.
	var ids []uuid.UUID
	require.NoError(b, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var prospect uuid.UUID
		if err := tx.QueryRow(ctx, `INSERT INTO prospect (organization_id, name, client_count)
			VALUES ($1, 'P', 900) RETURNING id`, key.OrganizationID).Scan(&prospect); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `INSERT INTO call_session (organization_id, prospect_id, status, started_at)
			SELECT $1, $2, 'in_progress', now() FROM generate_series(1, $3) RETURNING id`, key.OrganizationID, prospect, b.N)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return err
	}))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)-1]
			req, _ := http.NewRequest("POST", srv.URL+"/v1/calls/"+id.String()+"/outcome", strings.NewReader(`{"outcomeType": "Meeting_Booked"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+key.Secret)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}
