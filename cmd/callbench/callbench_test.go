package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/db"
	"github.com/callsvc/callsvc/internal/dbtest"
	"github.com/callsvc/callsvc/internal/service"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// newTestScratch gives t a migrated database, seeded and loaded with calls, as
// a run's scratch database.
func newTestScratch(t *testing.T, calls int) *scratch {
	t.Helper()
	ctx := context.Background()
	url := dbtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	sc := &scratch{url: url, pool: pool}
	require.NoError(t, sc.seed(ctx, 2))
	l, err := sc.loadTo(ctx, calls)
	require.NoError(t, err)
	require.Equal(t, calls, l.Added)
	return sc
}

// schemaOf lists every index and constraint of the public schema, with its
// definition and whether it is valid.
func schemaOf(t *testing.T, sc *scratch) []string {
	t.Helper()
	rows, err := sc.pool.Query(context.Background(), `
		SELECT format('%s %s valid=%s', i.indrelid::regclass, pg_get_indexdef(i.indexrelid), i.indisvalid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public'
		UNION ALL
		SELECT format('%s %s %s validated=%s', conrelid::regclass, conname, pg_get_constraintdef(oid), convalidated)
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid <> 0
		ORDER BY 1`)
	require.NoError(t, err)
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return defs
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	l := summarize(samples)
	require.Equal(t, latency{P50: 50, P95: 95, P99: 99, Max: 100}, l)
	require.Equal(t, latency{P50: 7, P95: 7, P99: 7, Max: 7}, summarize([]time.Duration{7 * time.Millisecond}))
	require.Equal(t, latency{}, summarize(nil))
}

func TestMergeSteps(t *testing.T) {
	t.Parallel()
	a := stepResult{Ops: 3, OK: 2, Seconds: 1, Statuses: map[string]int{"201": 2, "409": 1}, walBytes: 2000,
		samples: []time.Duration{time.Millisecond, 3 * time.Millisecond, 5 * time.Millisecond}}
	b := stepResult{Ops: 2, OK: 2, Seconds: 1, Statuses: map[string]int{"201": 2}, walBytes: 6000, Checkpoints: 1,
		samples: []time.Duration{2 * time.Millisecond, 4 * time.Millisecond}}
	m := mergeSteps(a, b)
	require.Equal(t, 5, m.Ops)
	require.Equal(t, 4, m.OK)
	require.EqualValues(t, 2, m.Seconds)
	require.EqualValues(t, 2, m.PerSecond)
	require.EqualValues(t, 2000, m.WALPerOp)
	require.EqualValues(t, 1, m.Checkpoints)
	require.Equal(t, map[string]int{"201": 4, "409": 1}, m.Statuses)
	require.Equal(t, latency{P50: 3, P95: 5, P99: 5, Max: 5}, m.Latency)
}

func TestOutcomeURL(t *testing.T) {
	t.Parallel()
	a := newAPI("http://127.0.0.1:1", "csk_x", 1)
	id := uuid.New()
	require.Equal(t, "http://127.0.0.1:1/v1/calls/"+id.String()+"/outcome", a.outcomeURL(id))
}

func TestLoadAndReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sc := newTestScratch(t, 500)
	before := schemaOf(t, sc)
	l, err := sc.loadTo(ctx, 1200)
	require.NoError(t, err)
	require.Equal(t, 700, l.Added)
	require.Len(t, sc.calls, 1200)
	require.Equal(t, before, schemaOf(t, sc), "every index and constraint built again as it was")
	require.Greater(t, len(before), 20)
	n, err := sc.count(ctx, "SELECT count(*) FROM call_session WHERE status = 'in_progress' AND organization_id = $1", sc.org)
	require.NoError(t, err)
	require.Equal(t, 1200, n)
	n, err = sc.count(ctx, "SELECT count(DISTINCT prospect_id) FROM call_session c JOIN prospect p ON p.id = c.prospect_id WHERE NOT p.advisory_mode")
	require.NoError(t, err)
	require.Equal(t, 2, n, "every call's prospect allows Meeting_Booked")

	// The foreign keys hold although the copy skipped their triggers.
	n, err = sc.count(ctx, `SELECT count(*) FROM call_session c
		LEFT JOIN prospect p ON p.organization_id = c.organization_id AND p.id = c.prospect_id WHERE p.id IS NULL`)
	require.NoError(t, err)
	require.Zero(t, n)

	c, err := newSQLClient(ctx, sc.url, sqlEach, sc.org)
	require.NoError(t, err)
	defer c.close()
	for _, id := range sc.calls[:10] {
		st, err := c.do(ctx, id)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, st)
	}
	require.NoError(t, sc.reset(ctx))
	n, err = sc.count(ctx, "SELECT count(*) FROM call_session WHERE status = 'in_progress' AND ended_at IS NULL")
	require.NoError(t, err)
	require.Equal(t, 1200, n)
	n, err = sc.count(ctx, "SELECT count(*) FROM call_outcome")
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestSQLForms holds every SQL form to the service's behaviour: the first
// decision of a call is stored (201), a second is refused (409), and the call
// ends completed with exactly one Meeting_Booked outcome.
func TestSQLForms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sc := newTestScratch(t, 30)
	for i, form := range []string{sqlEach, sqlPipelined, sqlOne} {
		t.Run(form, func(t *testing.T) {
			c, err := newSQLClient(ctx, sc.url, form, sc.org)
			require.NoError(t, err)
			defer c.close()
			for _, id := range sc.calls[i*10 : i*10+10] {
				st, err := c.do(ctx, id)
				require.NoError(t, err)
				require.Equal(t, http.StatusCreated, st)
				st, err = c.do(ctx, id)
				require.NoError(t, err)
				require.Equal(t, http.StatusConflict, st)
				require.Equal(t, byte('I'), c.conn.PgConn().TxStatus(), "no transaction left open")

				var status, outcome string
				var outcomes int
				require.NoError(t, sc.pool.QueryRow(ctx, `
					SELECT c.status::text, min(o.outcome_type::text), count(o.id)
					FROM call_session c JOIN call_outcome o ON o.call_session_id = c.id
					WHERE c.id = $1 AND c.ended_at IS NOT NULL GROUP BY c.status`, id).Scan(&status, &outcome, &outcomes))
				require.Equal(t, "completed", status)
				require.Equal(t, "Meeting_Booked", outcome)
				require.Equal(t, 1, outcomes)
			}
			// An unknown call finds no row: the service's 404.
			st, err := c.do(ctx, uuid.New())
			require.ErrorIs(t, err, pgx.ErrNoRows)
			require.Zero(t, st)
			require.Equal(t, byte('I'), c.conn.PgConn().TxStatus(), "no transaction left open")
		})
	}
}

// TestRoundTrips holds the report's round-trip column to what is sent: each SQL
// form's count, and the service's (serviceRoundTrips), with warm statement caches.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sc := newTestScratch(t, 20)
	next := 0
	call := func() [16]byte { next++; return sc.calls[next-1] }

	for _, form := range []string{sqlEach, sqlPipelined, sqlOne} {
		cfg, err := pgx.ParseConfig(sc.url)
		require.NoError(t, err)
		tracer := &dbtest.RoundTrips{}
		cfg.Tracer = tracer
		conn, err := pgx.ConnectConfig(ctx, cfg)
		require.NoError(t, err)
		c := &sqlClient{form: form, conn: conn, q: db.New(conn), org: sc.org}
		_, err = c.do(ctx, call()) // warm the statement cache
		require.NoError(t, err)
		before := tracer.Count()
		st, err := c.do(ctx, call())
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, st)
		require.EqualValues(t, roundTrips[form], tracer.Count()-before, form)
		c.close()
	}

	cfg, err := pgxpool.ParseConfig(sc.url)
	require.NoError(t, err)
	cfg.MaxConns = 1
	tracer := &dbtest.RoundTrips{}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	svc := service.New(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range 2 {
		before := tracer.Count()
		id := call()
		err := svc.InTx(ctx, func(tx *service.Tx) error {
			_, err := svc.CreateOutcome(ctx, tx, service.OrgID(sc.org), id, service.NewOutcome{OutcomeType: service.OutcomeMeetingBooked})
			return err
		})
		require.NoError(t, err)
		if i == 1 { // the first warmed the statement cache
			require.EqualValues(t, serviceRoundTrips, tracer.Count()-before, "service")
		}
	}
}

// TestStepRefills runs a step that needs more calls than there are: the supply
// is refilled and every request is counted once.
func TestStepRefills(t *testing.T) {
	t.Parallel()
	ids := make([][16]byte, 50)
	for i := range ids {
		ids[i][0] = byte(i)
	}
	var refills atomic.Int64
	fake := &fakeClient{seen: map[[16]byte]int{}}
	st := step{
		clients:   4,
		warmup:    10 * time.Millisecond,
		duration:  200 * time.Millisecond,
		newClient: func(context.Context, int) (client, error) { return fake, nil },
		supply:    newSupply(ids),
		refill: func(context.Context) error {
			refills.Add(1)
			fake.reset()
			return nil
		},
		expect: http.StatusCreated,
	}
	res, err := st.run(context.Background())
	require.NoError(t, err)
	require.Positive(t, res.Refills)
	require.Equal(t, res.Ops, res.OK, "no call decided twice between refills: %v", res.Statuses)
	require.InDelta(t, 0.2, res.Seconds, 0.1)
	require.Positive(t, res.PerSecond)
}

// fakeClient answers 201 the first time it sees a call after a reset, else 409.
type fakeClient struct {
	mu   sync.Mutex
	seen map[[16]byte]int
}

func (f *fakeClient) do(_ context.Context, id [16]byte) (int, error) {
	time.Sleep(time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[id]++
	if f.seen[id] > 1 {
		return http.StatusConflict, nil
	}
	return http.StatusCreated, nil
}
func (f *fakeClient) close() {}
func (f *fakeClient) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.seen)
}

// TestContentionCounts runs contention rounds against a fake server that lets
// the first request per call win.
func TestContentionCounts(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	won := map[string]bool{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer csk_test" || !strings.HasSuffix(r.URL.Path, "/outcome") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		first := !won[r.URL.Path]
		won[r.URL.Path] = true
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusCreated)
		} else {
			w.WriteHeader(http.StatusConflict)
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer ts.Close()
	a := newAPI(ts.URL, "csk_test", 8)
	defer a.close()
	ids := make([][16]byte, 5)
	for i := range ids {
		ids[i] = uuid.New()
	}
	res, raced, err := runContention(context.Background(), a, newSupply(ids), 8, 5)
	require.NoError(t, err)
	require.Len(t, raced, 5)
	require.Equal(t, 5, res.ExactRounds)
	require.Equal(t, 5, res.Created)
	require.Equal(t, 35, res.Conflicts)
	require.Zero(t, res.ServerErrors)
}

// TestReferenceStep runs the yardstick for a moment: pgbench decides distinct
// calls of the reference schema, every transaction is logged with its latency,
// and the WAL it wrote is counted.
func TestReferenceStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sc := newTestScratch(t, 10)
	adminURL, err := withDatabase(sc.url, "postgres")
	require.NoError(t, err)
	ref, err := newReference(ctx, adminURL, "../../bench/reference", 20000)
	if ref != nil {
		t.Cleanup(func() { require.NoError(t, ref.drop()) })
	}
	require.NoError(t, err)
	res, err := ref.step(ctx, 2, 0, time.Second, sc.counters)
	require.NoError(t, err)
	require.Positive(t, res.OK)
	require.Equal(t, res.OK, len(res.samples), "every transaction's latency was read from pgbench's log")
	require.Positive(t, res.WALPerOp)
	require.Positive(t, res.Latency.P99)
}
