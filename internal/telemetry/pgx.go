package telemetry

import (
	"context"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// maxBatchNameStatements bounds how many statement names a batch span's name
// lists.
const maxBatchNameStatements = 6

// PgxTracer returns the pool's tracer: a span per statement and per batch
// (one round trip), named by sqlc's query names, under the span in the
// statement's context, or nil when t is off. Statements with no recording span
// above them (the idempotency-key cleanup, pool pings) make none, so no trace
// starts at the database (exaring/otelpgx#12). Pool acquires make none either
// (otelpgx#48): the pool's wait is in callsvc_db_pool_acquire_wait_seconds_total.
// Parameters are never recorded.
//
// pgx takes one tracer: to add another (dbtest.RoundTrips in tests), combine
// them with github.com/jackc/pgx/v5/multitracer.
func (t *Tracing) PgxTracer() pgx.QueryTracer {
	if t == nil {
		return nil
	}
	return batchNamer{otelpgx.NewTracer(
		otelpgx.WithTracerProvider(t.provider),
		otelpgx.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelpgx.WithDisableAcquireTracer(),
		otelpgx.WithSpanNameFunc(StatementName),
	)}
}

// StatementName names a statement's span: its sqlc query name (sqlc starts
// each query with "-- name: GetOutcome :one"), else its first SQL word
// (BEGIN, COMMIT, ROLLBACK).
func StatementName(sql string) string {
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		if name, _, ok := strings.Cut(rest, " "); ok && name != "" {
			return name
		}
	}
	return otelpgx.SQLOperationName(context.Background(), sql)
}

// batchNamer is otelpgx's tracer with batch spans named by what they send,
// "batch BEGIN, GetCallForOutcomeForUpdate, GetOutcome", rather than otelpgx's
// "batch start": a batch is one round trip, and its statements say which.
type batchNamer struct{ *otelpgx.Tracer }

func (b batchNamer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	ctx = b.Tracer.TraceBatchStart(ctx, conn, data)
	if span := trace.SpanFromContext(ctx); span.IsRecording() && data.Batch != nil {
		span.SetName(batchName(data.Batch))
	}
	return ctx
}

func batchName(batch *pgx.Batch) string {
	var name strings.Builder
	name.WriteString("batch ")
	for i, q := range batch.QueuedQueries {
		if i == maxBatchNameStatements {
			name.WriteString(", …")
			break
		}
		if i > 0 {
			name.WriteString(", ")
		}
		name.WriteString(StatementName(q.SQL))
	}
	return name.String()
}
