package service

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/callsvc/callsvc/internal/dbtest"
	"github.com/callsvc/callsvc/internal/telemetry"
)

// TestCreateOutcomeRoundTrips holds CreateOutcome to the round trips the package
// doc states: 2, whether it waited for the call's lock or not, with warm
// statement caches, its outcome.created event, delivery and River job included.
// A change that adds one fails here. Tracing adds none: with it on (otelpgx
// beside the counting tracer, through multitracer) each outcome makes exactly
// two batch spans, one per round trip. The lock's wait, as PostgreSQL measured
// it, is at least the time another transaction held the lock after the outcome
// was seen waiting.
func TestCreateOutcomeRoundTrips(t *testing.T) {
	t.Parallel()
	for name, traced := range map[string]bool{"TracingOff": false, "TracingOn": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testCreateOutcomeRoundTrips(t, traced)
		})
	}
}

func testCreateOutcomeRoundTrips(t *testing.T, traced bool) {
	b := setup(t, 2) // b's pool plays the other clients
	cfg, err := pgxpool.ParseConfig(b.url)
	require.NoError(t, err)
	cfg.MaxConns = 1
	tracer := &dbtest.RoundTrips{}
	cfg.ConnConfig.Tracer = tracer
	var waits []time.Duration
	opts := []Option{WithLockWaitObserver(func(_ context.Context, d time.Duration) { waits = append(waits, d) })}
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	if traced {
		tracing := telemetry.New(tp)
		cfg.ConnConfig.Tracer = multitracer.New(tracer, tracing.PgxTracer())
		opts = append(opts, WithTracer(tracing.Tracer("test")))
	}
	pool, err := pgxpool.NewWithConfig(b.ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	svc := New(pool, slog.New(slog.NewTextHandler(io.Discard, nil)), append(opts, testWebhooks(t))...)
	tb := &testBundle{svc: svc, pool: pool, org: b.org, ctx: b.ctx}
	ep, err := tb.createEndpoint(NewWebhookEndpoint{URL: "https://hooks.example/roundtrips"})
	require.NoError(t, err)

	// createOutcome decides an outcome in a request span of its own, and
	// returns the round trips it took and the batch spans it made.
	createOutcome := func(id uuid.UUID) (roundTrips int64, batches []string, err error) {
		ctx, request := tp.Tracer("test").Start(b.ctx, "request")
		spans.Reset()
		before := tracer.Count()
		req := &testBundle{svc: svc, pool: pool, org: b.org, ctx: ctx}
		_, err = req.createOutcome(id, NewOutcome{OutcomeType: OutcomeMeetingBooked})
		request.End()
		for _, s := range spans.GetSpans() {
			if strings.HasPrefix(s.Name, "batch ") {
				batches = append(batches, s.Name)
			}
		}
		return tracer.Count() - before, batches, err
	}
	wantBatches := []string{
		"batch BEGIN, TryLockCallForOutcome, WaitForCallWriters, TryLockCallForOutcome, GetOutcome",
		"batch CompleteCall, InsertWebhookEvent, CreateOutcome, COMMIT",
	}
	if !traced {
		wantBatches = nil
	}

	_, _, err = createOutcome(tb.call(t, ptr[int32](900), CallInProgress).ID) // warm the statement cache
	require.NoError(t, err)
	decided := tb.call(t, ptr[int32](900), CallInProgress).ID
	n, batches, err := createOutcome(decided)
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "round trips per outcome")
	require.Equal(t, wantBatches, batches)
	var events, deliveries, jobs int
	require.NoError(t, b.pool.QueryRow(b.ctx, `
		SELECT count(DISTINCT e.id), count(DISTINCT d.id), count(DISTINCT j.id)
		FROM webhook_event e
		LEFT JOIN webhook_delivery d ON d.event_id = e.id AND d.endpoint_id = $2
		LEFT JOIN river_job j ON (j.args->>'deliveryId')::uuid = d.id
		WHERE e.type = 'outcome.created' AND e.call_session_id = $1`, decided, ep.ID).Scan(&events, &deliveries, &jobs))
	require.Equal(t, []int{1, 1, 1}, []int{events, deliveries, jobs}, "the outcome's event, its delivery and its job, in those 2 round trips")

	// holdCall has another connection hold the call's lock while an outcome
	// asks for it, for a while after the outcome is seen waiting, then run
	// before (what the holder does with the call) and commit. It returns what
	// the waiting outcome's createOutcome returned and how long the lock was held.
	type result struct {
		n       int64
		batches []string
		err     error
	}
	holdCall := func(id uuid.UUID, before string) (result, time.Duration) {
		holder, err := b.pool.Begin(b.ctx)
		require.NoError(t, err)
		defer holder.Rollback(context.WithoutCancel(b.ctx))
		_, err = holder.Exec(b.ctx, `SELECT id FROM call_session WHERE id = $1 FOR UPDATE`, id)
		require.NoError(t, err)
		done := make(chan result, 1)
		go func() {
			n, batches, err := createOutcome(id)
			done <- result{n, batches, err}
		}()
		b.waitUntilBlocked(t)
		seenWaiting := time.Now()
		time.Sleep(20 * time.Millisecond) // a wait worth seeing in the numbers
		held := time.Since(seenWaiting)
		if before != "" {
			_, err = holder.Exec(b.ctx, before, id)
			require.NoError(t, err)
		}
		require.NoError(t, holder.Commit(b.ctx))
		return <-done, held
	}

	// Waiting for the winner of a race costs nothing more: the wait and the
	// read after it are in the lock's batch, and the answer is "outcome exists".
	c := tb.call(t, ptr[int32](900), CallInProgress)
	r, held := holdCall(c.ID, `
		WITH o AS (
			INSERT INTO call_outcome (organization_id, call_session_id, outcome_type, qualification_flags, advisory_mode)
			SELECT organization_id, id, 'Not_Interested', '{}', false FROM call_session WHERE id = $1
		)
		UPDATE call_session SET status = 'completed', ended_at = now() WHERE id = $1`)
	require.ErrorIs(t, r.err, ErrOutcomeExists)
	require.EqualValues(t, 2, r.n, "round trips for an outcome that waited for the winner: the read, then the rollback")
	if traced {
		require.Equal(t, wantBatches[:1], r.batches)
	}
	require.Len(t, waits, 3, "a lock wait per outcome")
	require.GreaterOrEqual(t, waits[2], held, "the lock wait covers the time the lock was held")
	t.Logf("lock wait: %v uncontended, %v when the lock was held %v after the outcome was seen waiting", waits[1], waits[2], held)

	// Nor does waiting for a holder that leaves the call in progress (an
	// objection, a refused outcome): the lock, tried again in the same batch,
	// is taken then, and the outcome is decided.
	c = tb.call(t, ptr[int32](900), CallInProgress)
	r, held = holdCall(c.ID, "")
	require.NoError(t, r.err)
	require.EqualValues(t, 2, r.n, "round trips for an outcome that waited for the lock")
	require.Equal(t, wantBatches, r.batches)
	require.Len(t, waits, 4, "a lock wait per outcome")
	require.GreaterOrEqual(t, waits[3], held, "the lock wait covers the time the lock was held")

	// A refused outcome costs 2 as well: the read, then the rollback.
	c = tb.call(t, nil, CallScheduled)
	n, _, err = createOutcome(c.ID)
	require.ErrorIs(t, err, ErrCallNotInProgress)
	require.EqualValues(t, 2, n)
}

// BenchmarkCreateOutcome decides outcomes on distinct in-progress calls, from
// GOMAXPROCS*4 goroutines.
func BenchmarkCreateOutcome(b *testing.B) {
	cfg, err := pgxpool.ParseConfig(dbtest.NewDatabase(b))
	require.NoError(b, err)
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	ctx := context.Background()
	svc := New(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	org, _, err := createOrganization(ctx, svc, "Bench")
	require.NoError(b, err)
	tb := &testBundle{svc: svc, pool: pool, org: OrgID(org.ID), ctx: ctx}
	p, err := tb.createProspect(NewProspect{Name: "P", ClientCount: ptr[int32](900)})
	require.NoError(b, err)
	// Calls are made in bulk up front, outside the timed loop.
	_, err = pool.Exec(ctx, `
		INSERT INTO call_session (organization_id, prospect_id, status, started_at)
		SELECT $1, $2, 'in_progress', now() FROM generate_series(1, $3)`, org.ID, p.ID, b.N)
	require.NoError(b, err)
	rows, err := pool.Query(ctx, `SELECT id FROM call_session`)
	require.NoError(b, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[[16]byte])
	require.NoError(b, err)
	var next atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)-1]
			if _, err := tb.createOutcome(id, NewOutcome{OutcomeType: OutcomeMeetingBooked}); err != nil {
				b.Error(err)
			}
		}
	})
}
