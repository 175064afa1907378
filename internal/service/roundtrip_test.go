package service

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
)

// TestCreateOutcomeRoundTrips holds CreateOutcome to the round trips the package
// doc states: 2, whether it waited for the call's lock or not, with warm
// statement caches, its outcome.created event, delivery and River job included.
// A change that adds one fails here.
func TestCreateOutcomeRoundTrips(t *testing.T) {
	t.Parallel()
	b := setup(t, 2) // b's pool plays the other clients
	cfg, err := pgxpool.ParseConfig(b.url)
	require.NoError(t, err)
	cfg.MaxConns = 1
	tracer := &dbtest.RoundTrips{}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(b.ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	svc := New(pool, slog.New(slog.NewTextHandler(io.Discard, nil)), testWebhooks(t))
	tb := &testBundle{svc: svc, pool: pool, org: b.org, ctx: b.ctx}
	ep, err := tb.createEndpoint(NewWebhookEndpoint{URL: "https://hooks.example/roundtrips"})
	require.NoError(t, err)

	var last Outcome
	outcome := func() int64 {
		c := tb.call(t, ptr[int32](900), CallInProgress)
		before := tracer.Count()
		var err error
		last, err = tb.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
		require.NoError(t, err)
		return tracer.Count() - before
	}
	outcome() // warm the statement cache
	require.EqualValues(t, 2, outcome(), "round trips per outcome")
	var events, deliveries, jobs int
	require.NoError(t, b.pool.QueryRow(b.ctx, `
		SELECT count(DISTINCT e.id), count(DISTINCT d.id), count(DISTINCT j.id)
		FROM webhook_event e
		LEFT JOIN webhook_delivery d ON d.event_id = e.id AND d.endpoint_id = $2
		LEFT JOIN river_job j ON (j.args->>'deliveryId')::uuid = d.id
		WHERE e.type = 'outcome.created' AND (e.data->>'id')::uuid = $1`, last.ID, ep.ID).Scan(&events, &deliveries, &jobs))
	require.Equal(t, []int{1, 1, 1}, []int{events, deliveries, jobs}, "the outcome's event, its delivery and its job, in those 2 round trips")

	// Waiting for the lock costs nothing more: the read after the lock is in
	// the lock's batch.
	c := tb.call(t, ptr[int32](900), CallInProgress)
	holder, err := b.pool.Begin(b.ctx) // another connection holds the call's lock
	require.NoError(t, err)
	defer holder.Rollback(context.WithoutCancel(b.ctx))
	_, err = holder.Exec(b.ctx, `SELECT id FROM call_session WHERE id = $1 FOR UPDATE`, c.ID)
	require.NoError(t, err)
	before := tracer.Count()
	done := make(chan error, 1)
	go func() {
		_, err := tb.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
		done <- err
	}()
	b.waitUntilBlocked(t)
	require.NoError(t, holder.Commit(b.ctx))
	require.NoError(t, <-done)
	require.EqualValues(t, 2, tracer.Count()-before, "round trips for an outcome that waited for the lock")

	// A refused outcome costs 2 as well: the read, then the rollback.
	c = tb.call(t, nil, CallScheduled)
	before = tracer.Count()
	_, err = tb.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
	require.ErrorIs(t, err, ErrCallNotInProgress)
	require.EqualValues(t, 2, tracer.Count()-before)
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
