package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
)

// process is the real program (this test binary run as callsvc, see TestMain)
// serving in a process of its own, so a test can kill it with SIGKILL.
type process struct {
	cmd    *exec.Cmd
	URL    string
	logs   *syncBuffer
	exited chan struct{} // closed once the process has exited
}

// startProcess runs `callsvc serve --addr 127.0.0.1:0 args...` with env.
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	logs := &syncBuffer{}
	listening := make(chan string, 1)
	logs.onLine = func(line string) {
		if m := listeningLine.FindStringSubmatch(line); m != nil {
			select {
			case listening <- m[1]:
			default:
			}
		}
	}
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), append(env, "CALLSVC_TEST_RUN_MAIN=1")...)
	cmd.Stderr = logs
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p := &process{cmd: cmd, logs: logs, exited: exited}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("log of %s:\n%s", p.URL, logs.String())
		}
	})
	select {
	case addr := <-listening:
		p.URL = "http://" + addr
	case <-exited:
		t.Fatalf("serve exited at start:\n%s", logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs.String())
	}
	return p
}

// kill9 kills the process as `kill -9` does: no shutdown of any kind.
func (p *process) kill9(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the process outlived SIGKILL")
	}
}

// server is p as the e2e helpers talk to it, with pool on its database.
func (p *process) server(t *testing.T, dbURL string, pool *pgxpool.Pool) *testServer {
	return &testServer{t: t, URL: p.URL, DBURL: dbURL, DB: pool, logs: p.logs, router: specRouter(t)}
}

// holdingReceiver answers 200, except that it holds the first request of every
// event but the first until the test ends: an attempt in flight when a server
// or the database dies. inFlight is closed when it holds one.
func holdingReceiver(t *testing.T) (rcv *receiver, inFlight chan struct{}) {
	inFlight, hold := make(chan struct{}), make(chan struct{})
	var (
		mu         sync.Mutex
		first      string
		held, done sync.Once
	)
	rcv = newReceiver(t, func(r received, before int) int {
		mu.Lock()
		if first == "" {
			first = r.ID
		}
		isFirst := r.ID == first
		mu.Unlock()
		if !isFirst && before == 0 {
			held.Do(func() { close(inFlight) })
			<-hold
		}
		return http.StatusOK
	})
	t.Cleanup(func() { done.Do(func() { close(hold) }) })
	return rcv, inFlight
}

// TestWebhookSurvivesKill9: the real binary, killed with SIGKILL, loses no
// event. First a server that delivers nothing (--role api) commits an outcome
// and is killed: the next server delivers it. Then a server is killed while the
// receiver holds its attempt: River's rescuer gives the job to the next server
// (after rescueAfter, about a minute), which delivers it with the same webhook-id.
func TestWebhookSurvivesKill9(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	env := []string{
		"DATABASE_URL=" + dbURL, "CALLSVC_POOL_MAX_CONNS=4", "CALLSVC_WEBHOOK_WORKERS=2",
		"CALLSVC_WEBHOOK_ALLOW_PRIVATE=true", "CALLSVC_WEBHOOK_RETRY_MIN=50ms",
	}
	rcv, inFlight := holdingReceiver(t)

	first := startProcess(t, env, "--role", "api")
	srv := first.server(t, dbURL, pool)
	a := srv.newOrg("Acme")
	ep := srv.subscribe(t, a, rcv)
	calls := srv.inProgressCalls(a, 2)
	require.Equal(t, http.StatusCreated, srv.decide(t, a.Key, calls[0], http.StatusCreated))
	first.kill9(t)
	require.Zero(t, rcv.started(), "the API-only server attempted nothing")
	require.Equal(t, 1, srv.count("webhook_delivery"))

	second := startProcess(t, env)
	srv = second.server(t, dbURL, pool)
	a.C = srv.client(a.Key)
	got := rcv.waitFor(t, 30*time.Second, "the event committed before the kill", func(got []received) bool { return len(delivered(got)) == 1 })
	e := verify(t, ep.Secret, got[0])
	require.Equal(t, string(srv.get(t, "/v1/calls/"+calls[0]+"/outcome", a.Key)), string(e.Data))

	require.Equal(t, http.StatusCreated, srv.decide(t, a.Key, calls[1], http.StatusCreated))
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("the second event's attempt did not reach the receiver")
	}
	second.kill9(t)
	heldID := ""
	rcv.mu.Lock()
	for id := range rcv.seen {
		if id != got[0].ID {
			heldID = id
		}
	}
	rcv.mu.Unlock()

	third := startProcess(t, env)
	srv = third.server(t, dbURL, pool)
	a.C = srv.client(a.Key)
	got = rcv.waitFor(t, 150*time.Second, "the event whose attempt died with its server", func(got []received) bool { return delivered(got)[heldID] >= 1 })
	for _, r := range got {
		if r.ID == heldID {
			verify(t, ep.Secret, r)
		}
	}
	require.Eventually(t, func() bool { return len(srv.deliveries(t, a, ep, "succeeded")) == 2 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, 2, srv.count("webhook_event"))
}

// TestWebhookSurvivesDatabaseRestart: PostgreSQL (a private cluster) crashes
// while the receiver holds an attempt, and comes back. The attempt's answer
// cannot be recorded; River runs the job again and the event is delivered, with
// the same webhook-id.
func TestWebhookSurvivesDatabaseRestart(t *testing.T) {
	t.Parallel()
	cluster := dbtest.NewCluster(t)
	srv := startServerWith(t, serverOptions{databaseURL: cluster.URL("callsvc"), migrate: true, env: webhookEnv})
	a := srv.newOrg("Acme")
	rcv, inFlight := holdingReceiver(t)
	ep := srv.subscribe(t, a, rcv)
	calls := srv.inProgressCalls(a, 2)
	for _, c := range calls {
		require.Equal(t, http.StatusCreated, srv.decide(t, a.Key, c, http.StatusCreated))
	}
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("no attempt was held")
	}
	cluster.Crash()
	cluster.Start()

	// The held attempt stays held (its request times out after 10 s): only a new
	// attempt, recorded in the restarted database, can deliver the event.
	require.Eventually(t, func() bool {
		var n int
		err := srv.DB.QueryRow(context.Background(), `SELECT count(*) FROM webhook_delivery WHERE status = 'succeeded'`).Scan(&n)
		return err == nil && n == 2
	}, 150*time.Second, 50*time.Millisecond, "both deliveries succeed after the restart")
	got := rcv.requests()
	ids := delivered(got)
	require.Len(t, ids, 2)
	for _, r := range got {
		verify(t, ep.Secret, r)
	}
	require.Equal(t, 1, rcv.started()-len(got), "the held attempt, never answered")
	require.Len(t, srv.deliveries(t, a, ep, "succeeded"), 2)
}

// TestWebhookTwoServers: two servers deliver from one database. Each event's
// first attempt is answered 500 (so its retry may go to either server); the
// receiver never sees two attempts of one event at once, every event is
// delivered, and both servers made attempts.
func TestWebhookTwoServers(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewDatabase(t)
	one := startServerWith(t, serverOptions{databaseURL: dbURL, env: webhookEnv})
	two := startServerWith(t, serverOptions{databaseURL: dbURL, env: webhookEnv})
	a := one.newOrg("Acme")
	rcv := newReceiver(t, func(_ received, before int) int {
		time.Sleep(20 * time.Millisecond) // long enough for a second attempt to overlap, were one made
		if before == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	ep := one.subscribe(t, a, rcv)
	calls := one.inProgressCalls(a, 40)
	for i, c := range calls {
		srv := one
		if i%2 == 1 {
			srv = two
		}
		require.Equal(t, http.StatusCreated, srv.decide(t, a.Key, c, http.StatusCreated))
	}
	got := rcv.waitFor(t, 90*time.Second, "every event delivered", func(got []received) bool { return len(delivered(got)) == len(calls) })
	rcv.mu.Lock()
	most := rcv.most
	rcv.mu.Unlock()
	require.Equal(t, 1, most, "never two attempts of one event at once")
	for _, r := range got {
		verify(t, ep.Secret, r)
	}
	var clients int
	require.NoError(t, one.DB.QueryRow(context.Background(), `
		SELECT count(DISTINCT c) FROM river_job, unnest(attempted_by) AS c WHERE kind = 'webhook_delivery'`).Scan(&clients))
	require.Equal(t, 2, clients, "both servers made attempts")
	require.Eventually(t, func() bool { return len(one.deliveries(t, a, ep, "succeeded")) == len(calls) }, 10*time.Second, 10*time.Millisecond)
}
