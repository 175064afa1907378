package cluster_test

import (
	"context"
	"log/slog"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
	"github.com/callsvc/callsvc/internal/service"
)

// testRoundTrips: in exec mode through PgBouncer an outcome still costs 2
// round trips. pgx's tracer counts 2 batches per outcome; PgBouncer, which
// counts a query each time PostgreSQL says it is ready for the next (once per
// round trip, however many statements a batch pipelines), counts 2 as well.
func (b *bundle) testRoundTrips(t *testing.T) {
	// A database of its own: PgBouncer's counters for it count this test alone.
	direct := dbtest.NewDatabase(t)
	u, err := url.Parse(direct)
	require.NoError(t, err)
	name := u.Path[1:]
	cfg, err := pgxpool.ParseConfig(dbtest.WithDatabase(b.c.PgBouncerURL(), name))
	require.NoError(t, err)
	cfg.MaxConns = 1
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	tracer := &dbtest.RoundTrips{}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(b.ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	svc := service.New(pool, slog.New(slog.DiscardHandler))
	ctx := context.Background()

	var org service.OrgID
	var calls []service.Call
	require.NoError(t, svc.InTx(ctx, func(tx *service.Tx) error {
		o, _, err := svc.CreateOrganization(ctx, tx, "Round trips")
		org = service.OrgID(o.ID)
		return err
	}))
	var prospect service.Prospect
	require.NoError(t, svc.InTx(ctx, func(tx *service.Tx) (err error) {
		prospect, err = svc.CreateProspect(ctx, tx, org, service.NewProspect{Name: "Acme", ClientCount: new(int32(900))})
		return err
	}))
	const n = 20
	for range n {
		require.NoError(t, svc.InTx(ctx, func(tx *service.Tx) error {
			c, err := svc.CreateCall(ctx, tx, org, service.NewCall{ProspectID: prospect.ID, Status: service.CallInProgress})
			calls = append(calls, c)
			return err
		}))
	}

	queriesBefore := b.pgbouncerQueries(t, name)
	tracedBefore := tracer.Count()
	for _, c := range calls {
		require.NoError(t, svc.InTx(ctx, func(tx *service.Tx) error {
			_, err := svc.CreateOutcome(ctx, tx, org, c.ID, service.NewOutcome{OutcomeType: service.OutcomeMeetingBooked})
			return err
		}))
	}
	traced := tracer.Count() - tracedBefore
	counted := b.pgbouncerQueries(t, name) - queriesBefore
	t.Logf("%d outcomes in exec mode through PgBouncer: %d batches traced by pgx, %d round trips counted by PgBouncer", n, traced, counted)
	require.EqualValues(t, 2*n, traced, "pgx batches")
	require.EqualValues(t, 2*n, counted, "round trips PgBouncer saw")
}

// pgbouncerQueries is PgBouncer's total_query_count for database.
func (b *bundle) pgbouncerQueries(t *testing.T, database string) int64 {
	t.Helper()
	cfg, err := pgx.ParseConfig(dbtest.WithDatabase(b.c.PgBouncerURL(), "pgbouncer"))
	require.NoError(t, err)
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol // all the admin console speaks
	admin, err := pgx.ConnectConfig(b.ctx, cfg)
	require.NoError(t, err)
	defer admin.Close(b.ctx)
	rows, err := admin.Query(b.ctx, "SHOW STATS")
	require.NoError(t, err)
	stats, err := pgx.CollectRows(rows, pgx.RowToMap)
	require.NoError(t, err)
	for _, s := range stats {
		if s["database"] == database {
			return toInt(t, s["total_query_count"])
		}
	}
	return 0
}
