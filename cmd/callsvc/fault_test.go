package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
)

// TestDatabaseCrashUnderLoad: PostgreSQL crashes (pg_ctl stop -m immediate, on a
// private cluster) while 16 clients decide outcomes, and comes back. Every answer
// is 201 or 503 with Retry-After, never 500; a 503 retried after the restart
// ends as 201 or 409 outcome_exists (when the crash took the answer but not the
// commit); every 201 is stored, and no call has two outcomes.
func TestDatabaseCrashUnderLoad(t *testing.T) {
	t.Parallel()
	cluster := dbtest.NewCluster(t)
	srv := startServerWith(t, serverOptions{databaseURL: cluster.URL("callsvc"), migrate: true, poolMaxConns: "16"})
	a := srv.newOrg("Acme")
	ids := srv.inProgressCalls(a, 300)

	statuses := make([]int, len(ids))
	var next, answered atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				statuses[i] = srv.decide(t, a.Key, ids[i], http.StatusCreated, http.StatusServiceUnavailable)
				answered.Add(1)
			}
		}()
	}
	waitUntil(t, func() bool { return answered.Load() >= int64(len(ids)/3) })
	cluster.Crash()
	waitUntil(t, func() bool { return answered.Load() >= int64(2*len(ids)/3) })
	cluster.Start()
	wg.Wait()

	counts := map[int]int{}
	for i, st := range statuses {
		counts[st]++
		if st == http.StatusServiceUnavailable {
			statuses[i] = srv.retryUntilServed(t, a.Key, ids[i])
		}
	}
	t.Logf("answers during the crash: %v", counts)
	require.Positive(t, counts[http.StatusServiceUnavailable], "the crash was felt")

	stored := srv.outcomesByCall(t)
	for i, id := range ids {
		switch statuses[i] {
		case http.StatusCreated:
			require.Equal(t, 1, stored[id], "an answered 201 is stored")
		case http.StatusConflict:
			require.Equal(t, 1, stored[id], "409 outcome_exists: committed before the answer was lost")
		}
	}
	srv.requireOutcomeInvariants(t)
}

// TestPoolConnectionsCut: a proxy between the server and PostgreSQL cuts every
// connection of the pool, three times, between bursts of outcome requests. The
// requests that meet a dead connection answer 503 with Retry-After, not 500;
// the pool then opens new connections and the service answers 201 again.
func TestPoolConnectionsCut(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewDatabase(t)
	proxy := dbtest.NewProxy(t, dbURL)
	srv := startServerWith(t, serverOptions{databaseURL: proxy.URL(dbURL), directURL: dbURL, poolMaxConns: "8"})
	a := srv.newOrg("Acme")
	ids := srv.inProgressCalls(a, 120)

	var next atomic.Int64
	burst := func(clients, each int) map[int]int {
		var mu sync.Mutex
		counts := map[int]int{}
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					st := srv.decide(t, a.Key, ids[next.Add(1)-1], http.StatusCreated, http.StatusServiceUnavailable)
					mu.Lock()
					counts[st]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return counts
	}
	burst(8, 2) // the pool holds its connections
	cut := map[int]int{}
	for range 3 {
		proxy.Cut()
		for st, n := range burst(8, 3) {
			cut[st] += n
		}
	}
	t.Logf("answers after the cuts: %v", cut)
	require.Positive(t, cut[http.StatusServiceUnavailable], "a cut connection was used")
	require.Positive(t, cut[http.StatusCreated], "and the pool recovered")
	srv.requireOutcomeInvariants(t)
}

// inProgressCalls makes n calls in progress for o, straight in the database.
func (srv *testServer) inProgressCalls(o org, n int) []string {
	srv.t.Helper()
	ctx := context.Background()
	var prospect string
	require.NoError(srv.t, srv.DB.QueryRow(ctx, `INSERT INTO prospect (organization_id, name, client_count) VALUES ($1, 'Bulk', 900) RETURNING id`, o.ID).Scan(&prospect))
	rows, err := srv.DB.Query(ctx, `
		INSERT INTO call_session (organization_id, prospect_id, status, started_at)
		SELECT $1, $2, 'in_progress', now() FROM generate_series(1, $3)
		RETURNING id::text`, o.ID, prospect, n)
	require.NoError(srv.t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(srv.t, err)
	return ids
}

// decide POSTs a Meeting_Booked outcome for call and returns the status, which
// must be one of want; a 503 must carry Retry-After. Safe in any goroutine.
func (srv *testServer) decide(t *testing.T, key, call string, want ...int) int {
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/calls/"+call+"/outcome", strings.NewReader(`{"outcomeType":"Meeting_Booked"}`))
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := srv.httpClient().Do(req)
	if err != nil {
		t.Errorf("POST outcome: %v", err)
		return 0
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	switch {
	case !contains(want, res.StatusCode):
		t.Errorf("POST outcome: %d, want one of %v: %s", res.StatusCode, want, body)
	case res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") == "":
		t.Errorf("503 without Retry-After: %s", body)
	}
	return res.StatusCode
}

// retryUntilServed sends a 503'd outcome again until the database answers: 201,
// or 409 when the first attempt had committed.
func (srv *testServer) retryUntilServed(t *testing.T, key, call string) int {
	for range 200 {
		if st := srv.decide(t, key, call, http.StatusCreated, http.StatusConflict, http.StatusServiceUnavailable); st != http.StatusServiceUnavailable {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("outcome of %s still 503 after 10 s", call)
	return 0
}

// outcomesByCall counts the stored outcomes of each call.
func (srv *testServer) outcomesByCall(t *testing.T) map[string]int {
	rows, err := srv.DB.Query(context.Background(), `SELECT call_session_id::text, count(*)::int FROM call_outcome GROUP BY 1`)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		out[id] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// requireOutcomeInvariants: no call has two outcomes, a completed call has one,
// no other call has any.
func (srv *testServer) requireOutcomeInvariants(t *testing.T) {
	for name, sql := range map[string]string{
		"calls with two outcomes": `SELECT count(*) FROM (SELECT call_session_id FROM call_outcome GROUP BY 1 HAVING count(*) > 1) d`,
		"completed without one":   `SELECT count(*) FROM call_session c WHERE c.status = 'completed' AND NOT EXISTS (SELECT 1 FROM call_outcome o WHERE o.call_session_id = c.id)`,
		"outcome, not completed":  `SELECT count(*) FROM call_session c JOIN call_outcome o ON o.call_session_id = c.id WHERE c.status <> 'completed'`,
	} {
		var n int
		require.NoError(t, srv.DB.QueryRow(context.Background(), sql).Scan(&n))
		require.Zero(t, n, name)
	}
}

// waitUntil waits for cond, which other goroutines make true.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 60*time.Second, 5*time.Millisecond, "condition not reached")
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
