package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// testThroughPgBouncer: the replicas' pools are PgBouncer's clients, on a
// transaction-mode pool for the test database.
func (b *bundle) testThroughPgBouncer(t *testing.T) {
	cfg, err := pgx.ParseConfig(strings.Replace(b.c.PgBouncerURL(), "/"+b.direct.Config().ConnConfig.Database+"?", "/pgbouncer?", 1))
	require.NoError(t, err)
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol // the admin console knows nothing else
	admin, err := pgx.ConnectConfig(b.ctx, cfg)
	require.NoError(t, err)
	defer admin.Close(b.ctx)
	rows, err := admin.Query(b.ctx, "SHOW POOLS")
	require.NoError(t, err)
	pools, err := pgx.CollectRows(rows, pgx.RowToMap)
	require.NoError(t, err)
	for _, p := range pools {
		if p["database"] == b.direct.Config().ConnConfig.Database {
			t.Logf("PgBouncer pool: %v", p)
			require.Equal(t, "transaction", p["pool_mode"])
			require.GreaterOrEqual(t, toInt(t, p["cl_active"])+toInt(t, p["cl_waiting"]), int64(len(b.c.Nodes)), "every replica is a client")
			return
		}
	}
	t.Fatalf("PgBouncer has no pool for the test database: %v", pools)
}

// toInt reads a number of PgBouncer's admin console (integer or numeric).
func toInt(t *testing.T, v any) int64 {
	t.Helper()
	if n, ok := v.(pgtype.Numeric); ok {
		i, err := n.Int64Value()
		require.NoError(t, err)
		return i.Int64
	}
	var n int64
	_, err := fmt.Sscan(fmt.Sprint(v), &n)
	require.NoError(t, err, "%T %v", v, v)
	return n
}

// load is clients deciding outcomes through HAProxy as a careful client would:
// each creates an in-progress call and posts its outcome, each POST with an
// Idempotency-Key, retried with the same key on 503 (and on 409
// idempotency_key_in_use) until it is answered. It remembers every call and
// outcome it was given, and every status it saw.
type load struct {
	b        *bundle
	c        *client
	prospect string
	run      string

	stop     atomic.Bool
	done     sync.WaitGroup
	finished atomic.Int64 // calls with their outcome

	mu       sync.Mutex
	outcomes map[string]string // call id → outcome id
	statuses map[int]int
	failures []string
}

func (b *bundle) startLoad(t *testing.T, workers int) (*load, string) {
	orgID, key := b.newOrg(t, "Load "+t.Name())
	c := newClient(key)
	l := &load{
		b: b, c: c, prospect: c.prospect(t, b.c.URL()), run: fmt.Sprint(time.Now().UnixNano()),
		outcomes: map[string]string{}, statuses: map[int]int{},
	}
	for w := range workers {
		l.done.Go(func() { l.worker(w) })
	}
	return l, orgID
}

func (l *load) worker(w int) {
	for i := 0; !l.stop.Load(); i++ {
		call, ok := l.post(fmt.Sprintf("%s-%d-%d-call", l.run, w, i), "/v1/calls", map[string]any{"prospectId": l.prospect, "status": "in_progress"})
		if !ok {
			return
		}
		outcome, ok := l.post(fmt.Sprintf("%s-%d-%d-outcome", l.run, w, i), "/v1/calls/"+call.id()+"/outcome", map[string]any{"outcomeType": "Meeting_Booked"})
		if !ok {
			return
		}
		l.mu.Lock()
		l.outcomes[call.id()] = outcome.id()
		l.mu.Unlock()
		l.finished.Add(1)
	}
}

// post sends a POST until it gets a final answer, which must be 201.
func (l *load) post(idem, path string, body any) (answer, bool) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, err := l.c.do(context.Background(), "POST", l.b.c.URL()+path, body, idem)
		l.mu.Lock()
		if err == nil {
			l.statuses[a.Status]++
		}
		l.mu.Unlock()
		switch {
		case err != nil:
			return l.fail("POST %s: %v", path, err)
		case a.Status == http.StatusCreated:
			return a, true
		case a.Status == http.StatusServiceUnavailable && a.code() == "service_unavailable" && a.Header.Get("Retry-After") != "",
			a.Status == http.StatusConflict && a.code() == "idempotency_key_in_use":
			if time.Now().After(deadline) {
				return l.fail("POST %s: still %s after 30 s", path, a)
			}
			time.Sleep(100 * time.Millisecond)
		default:
			return l.fail("POST %s: %s", path, a)
		}
	}
}

func (l *load) fail(format string, args ...any) (answer, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, fmt.Sprintf(format, args...))
	return answer{}, false
}

// waitProgress waits until n more calls are finished.
func (l *load) waitProgress(t *testing.T, n int64) {
	t.Helper()
	target := l.finished.Load() + n
	deadline := time.Now().Add(60 * time.Second)
	for l.finished.Load() < target {
		require.True(t, time.Now().Before(deadline), "load stalled at %d calls", l.finished.Load())
		l.mu.Lock()
		failures := len(l.failures)
		l.mu.Unlock()
		require.Zero(t, failures, "load failed")
		time.Sleep(20 * time.Millisecond)
	}
}

// finish stops the load and checks, in SQL, that every call a client was
// given exists once and has exactly the outcome the client was given: none
// lost, none doubled, no call created twice by a retry; and that no answer
// was a 5xx other than 503.
func (l *load) finish(t *testing.T, orgID string) {
	t.Helper()
	l.stop.Store(true)
	l.done.Wait()
	require.Empty(t, l.failures, "answers a careful client cannot take")
	for status, n := range l.statuses {
		require.False(t, status >= 500 && status != http.StatusServiceUnavailable, "%d answers were %d", n, status)
	}
	t.Logf("%d calls decided; answers: %v", len(l.outcomes), l.statuses)
	require.NotEmpty(t, l.outcomes)

	rows, err := l.b.direct.Query(l.b.ctx, `
		SELECT c.id::text, c.status::text, o.id::text
		FROM call_session c
		LEFT JOIN call_outcome o ON o.call_session_id = c.id
		WHERE c.organization_id = $1`, orgID)
	require.NoError(t, err)
	stored := map[string]string{}
	var id, status string
	var outcome *string
	_, err = pgx.ForEachRow(rows, []any{&id, &status, &outcome}, func() error {
		_, twice := stored[id]
		require.False(t, twice, "call %s has two outcomes", id)
		require.Equal(t, "completed", status, "call %s", id)
		require.NotNil(t, outcome, "call %s has no outcome", id)
		stored[id] = *outcome
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, l.outcomes, stored, "the calls and outcomes in the database are exactly those the clients were given")
}

// testRollingRestart: under load through HAProxy, each replica in turn is
// sent SIGTERM — it answers /readyz 503, HAProxy takes it out, it finishes
// what it has and exits 0 — and is started again and taken back in.
func (b *bundle) testRollingRestart(t *testing.T) {
	l, orgID := b.startLoad(t, 16)
	l.waitProgress(t, 50)
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	for i, r := range b.c.Nodes {
		require.NoError(t, b.c.Signal(i, syscall.SIGTERM))
		require.NoError(t, b.c.WaitBackend(ctx, i, "DOWN"), "HAProxy takes %s out while it drains", r.Name)
		require.NoError(t, b.c.WaitExit(i, 30*time.Second), "%s exits 0", r.Name)
		l.waitProgress(t, 20) // the others carry the load
		require.NoError(t, b.c.StartReplica(i))
		require.NoError(t, b.c.WaitReady(ctx, i))
		require.NoError(t, b.c.WaitBackend(ctx, i, "UP"))
		l.waitProgress(t, 50)
	}
	l.finish(t, orgID)
}

// testKillUnderLoad: under load through HAProxy, a replica is killed with
// SIGKILL in the middle of requests; HAProxy answers those 503, clients retry
// them with their Idempotency-Key, and nothing is lost or doubled.
func (b *bundle) testKillUnderLoad(t *testing.T) {
	l, orgID := b.startLoad(t, 16)
	l.waitProgress(t, 50)
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	const victim = 1
	// Kill it while it serves requests, so some are cut off in flight.
	name := b.c.Nodes[victim].Name
	for {
		stats, err := b.c.Stats()
		require.NoError(t, err)
		if stats[name].Current > 0 {
			break
		}
		require.NoError(t, ctx.Err(), "%s never had a request in flight", name)
	}
	require.NoError(t, b.c.Signal(victim, syscall.SIGKILL))
	require.ErrorContains(t, b.c.WaitExit(victim, 10*time.Second), "killed")
	require.NoError(t, b.c.WaitBackend(ctx, victim, "DOWN"))
	l.waitProgress(t, 50)
	require.NoError(t, b.c.StartReplica(victim))
	require.NoError(t, b.c.WaitReady(ctx, victim))
	require.NoError(t, b.c.WaitBackend(ctx, victim, "UP"))
	l.waitProgress(t, 50)
	l.finish(t, orgID)
	stats, err := b.c.Stats()
	require.NoError(t, err)
	t.Logf("HAProxy on %s: %d errors (refused or cut off), %d requests sent again elsewhere", name, stats[name].Errors, stats[name].Retried)
}
