package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/pooler"
)

// race sends every request of reqs at once (a barrier) and returns the answers
// in the same order. Request i goes to replica i mod 3, directly: the racing
// requests are spread over every server.
func (b *bundle) race(t *testing.T, c *client, reqs []request) []answer {
	t.Helper()
	out := make([]answer, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range reqs {
		base := b.c.Nodes[i%len(b.c.Nodes)].URL()
		wg.Go(func() {
			<-start
			a, err := c.do(context.Background(), r.method, base+r.path, r.body, r.key)
			if err != nil {
				t.Errorf("%s %s: %v", r.method, r.path, err)
			}
			out[i] = a
		})
	}
	close(start)
	wg.Wait()
	return out
}

type request struct {
	method, path string
	body         any
	key          string // Idempotency-Key
}

func repeat(n int, r request) []request {
	out := make([]request, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// testOutcomeRace: for each of 100 calls, 32 outcome requests released
// together over the three replicas: exactly one 201, 31 times 409
// outcome_exists; one outcome row per call.
func (b *bundle) testOutcomeRace(t *testing.T) {
	orgID, key := b.newOrg(t, "Race")
	c := newClient(key)
	prospect := c.prospect(t, b.c.URL())
	const calls, perCall = 100, 32
	created, exists := 0, 0
	for range calls {
		call := c.inProgressCall(t, b.c.URL(), prospect)
		answers := b.race(t, c, repeat(perCall, request{method: "POST", path: "/v1/calls/" + call + "/outcome", body: map[string]any{"outcomeType": "Meeting_Booked"}}))
		won := 0
		for _, a := range answers {
			switch {
			case a.Status == http.StatusCreated:
				won++
			case a.Status == http.StatusConflict && a.code() == "outcome_exists":
				exists++
			default:
				t.Errorf("call %s: %s", call, a)
			}
		}
		require.Equal(t, 1, won, "call %s: 201s", call)
		created += won
	}
	require.Equal(t, calls, created)
	require.Equal(t, calls*(perCall-1), exists)
	var outcomes, completed int
	require.NoError(t, b.direct.QueryRow(b.ctx, `
		SELECT (SELECT count(*) FROM call_outcome WHERE organization_id = $1),
		       (SELECT count(*) FROM call_session WHERE organization_id = $1 AND status = 'completed')`, orgID).Scan(&outcomes, &completed))
	require.Equal(t, calls, outcomes)
	require.Equal(t, calls, completed)
}

// testOutcomeVersusCancel: per call, 8 outcome and 8 cancel requests at once
// over the replicas: exactly one of the 16 succeeds; the call ends completed
// with one outcome or cancelled with none.
func (b *bundle) testOutcomeVersusCancel(t *testing.T) {
	orgID, key := b.newOrg(t, "Cancel")
	c := newClient(key)
	prospect := c.prospect(t, b.c.URL())
	const calls = 50
	wins := map[string]int{}
	for range calls {
		call := c.inProgressCall(t, b.c.URL(), prospect)
		var reqs []request
		for range 8 {
			reqs = append(reqs,
				request{method: "POST", path: "/v1/calls/" + call + "/outcome", body: map[string]any{"outcomeType": "Meeting_Booked"}},
				request{method: "POST", path: "/v1/calls/" + call + "/cancel"})
		}
		answers := b.race(t, c, reqs)
		var winner string
		for i, a := range answers {
			isOutcome := i%2 == 0
			switch {
			case isOutcome && a.Status == http.StatusCreated, !isOutcome && a.Status == http.StatusOK:
				require.Empty(t, winner, "call %s: two winners", call)
				winner = map[bool]string{true: "outcome", false: "cancel"}[isOutcome]
			case a.Status != http.StatusConflict:
				t.Errorf("call %s: %s", call, a)
			}
		}
		require.NotEmpty(t, winner, "call %s: nobody won", call)
		for i, a := range answers {
			if a.Status != http.StatusConflict {
				continue
			}
			want := map[[2]bool]string{
				{true, true}:   "outcome_exists",          // outcome lost to outcome
				{true, false}:  "call_not_in_progress",    // outcome lost to cancel
				{false, true}:  "invalid_call_transition", // cancel lost to outcome
				{false, false}: "invalid_call_transition", // cancel lost to cancel
			}[[2]bool{i%2 == 0, winner == "outcome"}]
			require.Equal(t, want, a.code(), "call %s: request %d", call, i)
		}
		wins[winner]++
	}
	t.Logf("outcome won %d calls, cancel %d", wins["outcome"], wins["cancel"])
	var completedWithOne, cancelledWithNone, total int
	require.NoError(t, b.direct.QueryRow(b.ctx, `
		SELECT count(*) FILTER (WHERE c.status = 'completed' AND o.n = 1),
		       count(*) FILTER (WHERE c.status = 'cancelled' AND o.n = 0),
		       count(*)
		FROM call_session c
		CROSS JOIN LATERAL (SELECT count(*) AS n FROM call_outcome WHERE call_session_id = c.id) o
		WHERE c.organization_id = $1`, orgID).Scan(&completedWithOne, &cancelledWithNone, &total))
	require.Equal(t, calls, total)
	require.Equal(t, wins["outcome"], completedWithOne)
	require.Equal(t, wins["cancel"], cancelledWithNone)
}

// testObjectionsVersusOutcome: per call, 12 Deferred objections and 4 outcomes
// at once over the replicas. One outcome wins; an objection either lands
// before it (201, and listed in the outcome's deferredObjections) or is
// refused (409 call_not_in_progress): the rows in SQL are exactly the
// objections the winning outcome lists.
func (b *bundle) testObjectionsVersusOutcome(t *testing.T) {
	_, key := b.newOrg(t, "Objections")
	c := newClient(key)
	prospect := c.prospect(t, b.c.URL())
	const calls = 30
	landed, refused := 0, 0
	for range calls {
		call := c.inProgressCall(t, b.c.URL(), prospect)
		var reqs []request
		for i := range 16 {
			if i%4 == 3 {
				reqs = append(reqs, request{method: "POST", path: "/v1/calls/" + call + "/outcome", body: map[string]any{"outcomeType": "Follow_up_Scheduled"}})
			} else {
				reqs = append(reqs, request{method: "POST", path: "/v1/calls/" + call + "/objections", body: map[string]any{"objection": fmt.Sprintf("too expensive %d", i), "outcome": "Deferred"}})
			}
		}
		answers := b.race(t, c, reqs)
		var outcome struct {
			DeferredObjections []struct {
				ID string `json:"id"`
			} `json:"deferredObjections"`
		}
		var objections []string
		wonOutcomes := 0
		for i, a := range answers {
			switch {
			case i%4 == 3 && a.Status == http.StatusCreated:
				wonOutcomes++
				require.NoError(t, json.Unmarshal(a.Body, &outcome))
			case i%4 == 3 && a.Status == http.StatusConflict && a.code() == "outcome_exists":
			case i%4 != 3 && a.Status == http.StatusCreated:
				objections = append(objections, a.id())
			case i%4 != 3 && a.Status == http.StatusConflict && a.code() == "call_not_in_progress":
				refused++
			default:
				t.Errorf("call %s: request %d: %s", call, i, a)
			}
		}
		require.Equal(t, 1, wonOutcomes, "call %s", call)
		listed := []string{}
		for _, o := range outcome.DeferredObjections {
			listed = append(listed, o.ID)
		}
		rows, err := b.direct.Query(b.ctx, `SELECT id::text FROM objection_response WHERE call_session_id = $1`, call)
		require.NoError(t, err)
		stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.ElementsMatch(t, objections, stored, "call %s: the rows are the 201 objections", call)
		require.ElementsMatch(t, stored, listed, "call %s: the outcome lists every objection stored, none came after it", call)
		landed += len(objections)
	}
	t.Logf("objections: %d landed before the outcome, %d refused after it", landed, refused)
}

// testIdempotencyAcrossReplicas: for each of 50 keys, 12 requests with the
// same key and body at once, 4 to each replica: one creates, the others
// replay it or are told it is in flight; one prospect per key. Afterwards
// every replica replays the same answer.
func (b *bundle) testIdempotencyAcrossReplicas(t *testing.T) {
	orgID, key := b.newOrg(t, "Idempotency")
	c := newClient(key)
	const keys, perKey = 50, 12
	fresh, replays, inUse := 0, 0, 0
	for k := range keys {
		idem := fmt.Sprintf("cluster-key-%d", k)
		body := map[string]any{"name": fmt.Sprintf("Prospect %d", k), "clientCount": 900}
		answers := b.race(t, c, repeat(perKey, request{method: "POST", path: "/v1/prospects", body: body, key: idem}))
		var first answer
		for _, a := range answers {
			switch {
			case a.Status == http.StatusCreated && !a.replayed():
				require.Zero(t, first.Status, "key %s: two fresh 201s", idem)
				first = a
				fresh++
			case a.Status == http.StatusCreated:
				replays++
			case a.Status == http.StatusConflict && a.code() == "idempotency_key_in_use":
				inUse++
			default:
				t.Errorf("key %s: %s", idem, a)
			}
		}
		require.Equal(t, http.StatusCreated, first.Status, "key %s: no request created the prospect", idem)
		for _, a := range answers {
			if a.Status == http.StatusCreated {
				require.JSONEq(t, string(first.Body), string(a.Body), "key %s: a replay differs", idem)
				require.Equal(t, first.Header.Get("Location"), a.Header.Get("Location"))
			}
		}
		// Later retries, to every replica, replay the same answer.
		for _, r := range b.c.Nodes {
			a, err := c.do(b.ctx, "POST", r.URL()+"/v1/prospects", body, idem)
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, a.Status, "%s: %s", r.Name, a)
			require.True(t, a.replayed(), "%s replays", r.Name)
			require.JSONEq(t, string(first.Body), string(a.Body))
		}
	}
	t.Logf("%d keys: %d created, %d replayed, %d in use", keys, fresh, replays, inUse)
	var prospects int
	require.NoError(t, b.direct.QueryRow(b.ctx, `SELECT count(*) FROM prospect WHERE organization_id = $1`, orgID).Scan(&prospects))
	require.Equal(t, keys, prospects, "one prospect per key")
}

// testRevokedKey: a key every replica has just accepted (and cached) is
// revoked with `callsvc key revoke`; within one second every replica answers
// 401, and none accepts it again.
func (b *bundle) testRevokedKey(t *testing.T) {
	orgID, _ := b.newOrg(t, "Revoke")
	k := b.adminCLI(t, "key", "create", "--org", orgID)
	c := newClient(k["apiKey"].(string))
	// Keep every replica's cache warm until the moment of the revoke.
	stopWarm := make(chan struct{})
	var warm sync.WaitGroup
	for _, r := range b.c.Nodes {
		c.must(t, http.StatusOK, "GET", r.URL()+"/v1/prospects", nil)
		warm.Go(func() {
			for {
				select {
				case <-stopWarm:
					return
				default:
					_, _ = c.do(b.ctx, "GET", r.URL()+"/v1/prospects", nil, "")
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	b.adminCLI(t, "key", "revoke", "--id", k["keyId"].(string))
	revoked := time.Now()
	close(stopWarm)
	warm.Wait()

	refusedAfter := make([]time.Duration, len(b.c.Nodes))
	for i, r := range b.c.Nodes {
		for {
			a, err := c.do(b.ctx, "GET", r.URL()+"/v1/prospects", nil, "")
			require.NoError(t, err)
			if a.Status == http.StatusUnauthorized {
				require.Equal(t, "unauthorized", a.code())
				refusedAfter[i] = time.Since(revoked)
				break
			}
			require.Equal(t, http.StatusOK, a.Status, "%s: %s", r.Name, a)
			require.Less(t, time.Since(revoked), time.Second, "%s still accepts the revoked key", r.Name)
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, r := range b.c.Nodes {
		c.must(t, http.StatusUnauthorized, "GET", r.URL()+"/v1/prospects", nil)
	}
	t.Logf("every replica refused the revoked key within %v of the revoke (per replica: %v)", slices.Max(refusedAfter).Round(time.Millisecond), refusedAfter)
}

// testPoolerMisconfiguration: what goes wrong when PgBouncer is configured
// like PostgreSQL is one clear line and exit 1, never 42P05 from the driver:
// the statement cache through a transaction pooler, and migrations without
// a direct address. The probe behind it tells the two apart.
func (b *bundle) testPoolerMisconfiguration(t *testing.T) {
	shared := func(dsn string) bool {
		cfg, err := pgx.ParseConfig(dsn)
		require.NoError(t, err)
		s, err := pooler.SharesSessions(b.ctx, cfg)
		require.NoError(t, err)
		return s
	}
	require.True(t, shared(b.c.PgBouncerURL()), "PgBouncer in transaction mode shares sessions")
	require.False(t, shared(b.c.Config.DatabaseURL), "PostgreSQL itself does not")

	for name, tc := range map[string]struct {
		env  []string
		args []string
		want string
	}{
		"ServeWithTheStatementCache": {[]string{"DATABASE_URL=" + b.c.PgBouncerURL()}, []string{"serve", "--addr", "127.0.0.1:0"}, "set CALLSVC_QUERY_EXEC_MODE=exec"},
		"AdminWithTheStatementCache": {[]string{"DATABASE_URL=" + b.c.PgBouncerURL()}, []string{"org", "create", "--name", "x"}, "set CALLSVC_QUERY_EXEC_MODE=exec"},
		"MigrateThroughPgBouncer":    {[]string{"DATABASE_URL=" + b.c.PgBouncerURL(), "CALLSVC_QUERY_EXEC_MODE=exec"}, []string{"migrate"}, "set CALLSVC_DIRECT_DATABASE_URL"},
		"ServeMigrateThroughPgBouncer": {[]string{"DATABASE_URL=" + b.c.PgBouncerURL(), "CALLSVC_QUERY_EXEC_MODE=exec"}, []string{"serve", "--addr", "127.0.0.1:0", "--migrate"},
			"set CALLSVC_DIRECT_DATABASE_URL"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(callsvcBin, tc.args...)
			cmd.Env = append(os.Environ(), tc.env...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "exits non-zero: %s", out)
			require.Equal(t, 1, exit.ExitCode())
			line := string(out)
			require.Equal(t, 1, strings.Count(line, "\n"), "one line: %q", line)
			require.Contains(t, line, tc.want)
			require.NotContains(t, line, "SQLSTATE")
		})
	}
}
