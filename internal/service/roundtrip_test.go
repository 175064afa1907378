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
// doc states: 2 uncontended, with warm statement caches. A change that adds one
// fails here.
func TestCreateOutcomeRoundTrips(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	cfg, err := pgxpool.ParseConfig(dbtest.NewDatabase(t))
	require.NoError(t, err)
	cfg.MaxConns = 1
	tracer := &dbtest.RoundTrips{}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(b.ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	svc := New(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	tb := &testBundle{svc: svc, pool: pool, ctx: b.ctx}
	org, _, err := svc.CreateOrganization(b.ctx, "Acme")
	require.NoError(t, err)
	tb.org = OrgID(org.ID)

	outcome := func() int64 {
		c := tb.call(t, ptr[int32](900), CallInProgress)
		before := tracer.Count()
		_, err := svc.CreateOutcome(b.ctx, tb.org, c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
		require.NoError(t, err)
		return tracer.Count() - before
	}
	outcome() // warm the statement cache
	require.EqualValues(t, 2, outcome(), "round trips per outcome")

	// A refused outcome costs one more: the rollback of the open transaction.
	c := tb.call(t, nil, CallScheduled)
	before := tracer.Count()
	_, err = svc.CreateOutcome(b.ctx, tb.org, c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
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
	org, _, err := svc.CreateOrganization(ctx, "Bench")
	require.NoError(b, err)
	p, err := svc.CreateProspect(ctx, OrgID(org.ID), NewProspect{Name: "P", ClientCount: ptr[int32](900)})
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
			if _, err := svc.CreateOutcome(ctx, OrgID(org.ID), id, NewOutcome{OutcomeType: OutcomeMeetingBooked}); err != nil {
				b.Error(err)
			}
		}
	})
}
