package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/client"
	"github.com/callsvc/callsvc/internal/dbtest"
)

// TestWebhookOutcomeDelivered: a decided outcome reaches the receiver in one
// POST whose signature the Standard Webhooks library verifies and whose data is
// byte for byte what GET .../outcome answers; a cancelled call likewise with GET
// /v1/calls/{id}. Refused outcomes (409, 422) and a refused cancel send nothing.
func TestWebhookOutcomeDelivered(t *testing.T) {
	t.Parallel()
	srv := startServerWith(t, serverOptions{env: webhookEnv})
	a := srv.newOrg("Acme")
	rcv := newReceiver(t, nil)
	ep := srv.subscribe(t, a, rcv)
	require.ElementsMatch(t, []client.WebhookEventType{client.WebhookEventTypeOutcomeCreated, client.WebhookEventTypeCallCancelled}, ep.EventTypes)
	ctx := context.Background()

	_, call := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	_, err := a.C.CreateObjectionWithResponse(ctx, call.Id, nil, client.ObjectionCreate{Objection: "Timing <now> & \"later\"", Outcome: client.ObjectionOutcomeDeferred})
	require.NoError(t, err)
	r, err := a.C.CreateOutcomeWithResponse(ctx, call.Id, nil, client.OutcomeCreate{
		OutcomeType:        client.OutcomeTypeMeetingBooked,
		QualificationFlags: []byte(`{"zeta": true, "budget": 1.50, "n": 12345678901234567890}`),
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.StatusCode(), "%s", r.Body)

	got := rcv.waitFor(t, 30*time.Second, "the outcome.created event", func(got []received) bool { return len(got) >= 1 })
	e := verify(t, ep.Secret, got[0])
	require.Equal(t, "outcome.created", e.Type)
	require.Equal(t, string(srv.get(t, "/v1/calls/"+call.Id.String()+"/outcome", a.Key)), string(e.Data), "data is what GET .../outcome answers")
	require.Equal(t, string(srv.get(t, "/v1/calls/"+call.Id.String()+"/outcome", a.Key)), strings.TrimSpace(string(r.Body)), "and what the POST answered")

	// Refused: 409 outcome_exists, 409 call_not_in_progress, 422 advisory mode, 409 invalid_call_transition.
	again, err := a.C.CreateOutcomeWithResponse(ctx, call.Id, nil, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, again.StatusCode())
	_, scheduled := fixture(t, a, intp(900), client.CallCreateStatusScheduled)
	notStarted, err := a.C.CreateOutcomeWithResponse(ctx, scheduled.Id, nil, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, notStarted.StatusCode())
	_, advisory := fixture(t, a, nil, client.CallCreateStatusInProgress)
	refused, err := a.C.CreateOutcomeWithResponse(ctx, advisory.Id, nil, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, refused.StatusCode())
	cancelDone, err := a.C.CancelCallWithResponse(ctx, call.Id, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, cancelDone.StatusCode())

	// A cancelled call, after the refusals: once it arrives, nothing else has.
	cancelled, err := a.C.CancelCallWithResponse(ctx, advisory.Id, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cancelled.StatusCode())
	got = rcv.waitFor(t, 30*time.Second, "the call.cancelled event", func(got []received) bool { return len(got) >= 2 })
	e = verify(t, ep.Secret, got[1])
	require.Equal(t, "call.cancelled", e.Type)
	require.Equal(t, string(srv.get(t, "/v1/calls/"+advisory.Id.String(), a.Key)), string(e.Data), "data is what GET /v1/calls/{id} answers")
	require.Equal(t, 2, srv.count("webhook_event"), "no event for the refused requests")
	require.Len(t, rcv.requests(), 2)
	require.NotEqual(t, got[0].ID, got[1].ID)

	for _, d := range srv.deliveries(t, a, ep, "succeeded") {
		require.Equal(t, 1, d.Attempts)
		st, _ := d.LastResponseStatus.Get()
		require.Equal(t, http.StatusOK, st)
		require.True(t, d.LastError.IsNull())
		require.True(t, d.NextAttemptAt.IsNull())
	}
	require.Len(t, srv.deliveries(t, a, ep, ""), 2)
	require.Empty(t, srv.deliveries(t, a, ep, "pending"))
}

// TestWebhookRetried: the receiver answers 500, 500, then 200. The event is
// delivered on the third attempt, with the same webhook-id each time, after
// waits of at least CALLSVC_WEBHOOK_RETRY_MIN (50 ms) and then twice that; the
// deliveries list shows it.
func TestWebhookRetried(t *testing.T) {
	t.Parallel()
	srv := startServerWith(t, serverOptions{env: webhookEnv})
	a := srv.newOrg("Acme")
	rcv := newReceiver(t, func(_ received, before int) int {
		if before < 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	ep := srv.subscribe(t, a, rcv, client.WebhookEventTypeOutcomeCreated)
	_, call := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	require.Equal(t, http.StatusCreated, srv.decide(t, a.Key, call.Id.String(), http.StatusCreated))

	got := rcv.waitFor(t, 30*time.Second, "three attempts", func(got []received) bool { return len(got) >= 3 })
	require.Equal(t, []int{500, 500, 200}, []int{got[0].Status, got[1].Status, got[2].Status})
	for _, r := range got {
		require.Equal(t, got[0].ID, r.ID, "the same webhook-id on every attempt")
		e := verify(t, ep.Secret, r)
		require.Equal(t, string(got[0].Body), string(r.Body), "the same body on every attempt")
		require.Equal(t, "outcome.created", e.Type)
	}
	require.GreaterOrEqual(t, got[1].At.Sub(got[0].At), 50*time.Millisecond, "first retry at least RETRY_MIN after")
	require.GreaterOrEqual(t, got[2].At.Sub(got[1].At), 100*time.Millisecond, "then twice that")

	var list []client.Delivery
	require.Eventually(t, func() bool {
		list = srv.deliveries(t, a, ep, "succeeded")
		return len(list) == 1
	}, 10*time.Second, 10*time.Millisecond)
	d := list[0]
	require.Equal(t, 3, d.Attempts)
	require.Equal(t, got[0].ID, d.EventId.String())
	require.Equal(t, client.WebhookEventTypeOutcomeCreated, d.EventType)
	st, _ := d.LastResponseStatus.Get()
	require.Equal(t, http.StatusOK, st)
	require.True(t, d.LastError.IsNull())
	require.True(t, d.NextAttemptAt.IsNull())
	require.False(t, d.LastAttemptAt.IsNull())
	require.Empty(t, srv.deliveries(t, a, ep, "pending"))
	require.Empty(t, srv.deliveries(t, a, ep, "failed"))
	time.Sleep(300 * time.Millisecond)
	require.Len(t, rcv.requests(), 3, "a delivered event is not sent again")
}

// TestWebhookOneEventForConcurrentOutcomes: 32 concurrent outcome POSTs on one
// call make one event, delivered once.
func TestWebhookOneEventForConcurrentOutcomes(t *testing.T) {
	t.Parallel()
	srv := startServerWith(t, serverOptions{env: webhookEnv, poolMaxConns: "32"})
	a := srv.newOrg("Acme")
	rcv := newReceiver(t, nil)
	ep := srv.subscribe(t, a, rcv)
	_, call := fixture(t, a, intp(900), client.CallCreateStatusInProgress)

	const n = 32
	statuses := make([]int, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			statuses[i] = srv.decide(t, a.Key, call.Id.String(), http.StatusCreated, http.StatusConflict)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	counts := map[int]int{}
	for _, st := range statuses {
		counts[st]++
	}
	require.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: n - 1}, counts)

	require.Eventually(t, func() bool { return len(srv.deliveries(t, a, ep, "succeeded")) == 1 }, 30*time.Second, 10*time.Millisecond)
	got := rcv.requests()
	require.Len(t, got, 1, "one event for the call, delivered once")
	e := verify(t, ep.Secret, got[0])
	require.Equal(t, string(srv.get(t, "/v1/calls/"+call.Id.String()+"/outcome", a.Key)), string(e.Data))
	require.Equal(t, 1, srv.count("webhook_event"))
	require.Equal(t, 1, srv.count("webhook_delivery"))
}

// TestWebhookNoAttemptAfterDelete: the receiver holds the first attempt; a
// DELETE of the endpoint waits for it, and once the DELETE has answered no
// request reaches the receiver again, retries included.
func TestWebhookNoAttemptAfterDelete(t *testing.T) {
	t.Parallel()
	srv := startServerWith(t, serverOptions{env: webhookEnv})
	a := srv.newOrg("Acme")
	inFlight, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	rcv := newReceiver(t, func(_ received, before int) int {
		if before == 0 {
			close(inFlight)
			<-release
		}
		return http.StatusServiceUnavailable
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	ep := srv.subscribe(t, a, rcv)
	_, call := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	require.Equal(t, http.StatusCreated, srv.decide(t, a.Key, call.Id.String(), http.StatusCreated))

	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("no attempt reached the receiver")
	}
	deleted := make(chan *http.Response, 1)
	go func() {
		res, _ := srv.raw(http.MethodDelete, "/v1/webhook-endpoints/"+ep.Id.String(), "", "", a.Key)
		deleted <- res
	}()
	waitUntil(t, func() bool {
		var n int
		err := srv.DB.QueryRow(context.Background(), `
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n > 0
	})
	select {
	case res := <-deleted:
		t.Fatalf("the DELETE answered %d while an attempt was in flight", res.StatusCode)
	default:
	}
	once.Do(func() { close(release) })
	res := <-deleted
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	after := rcv.started()
	require.Equal(t, 1, after, "the attempt in flight, and no other")

	// Retries would come every 50-100 ms: wait for several of them.
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, after, rcv.started(), "nothing reached the receiver after the DELETE")
	var status, lastErr string
	require.NoError(t, srv.DB.QueryRow(context.Background(), `SELECT status::text, last_error FROM webhook_delivery`).Scan(&status, &lastErr))
	require.Equal(t, "failed", status)
	require.Equal(t, "the endpoint was deleted", lastErr)
	res, body := srv.raw(http.MethodGet, "/v1/webhook-endpoints/"+ep.Id.String()+"/deliveries", "", "", a.Key)
	problemOf(t, res, body, http.StatusNotFound, "webhook_endpoint_not_found")
}

// TestWebhookURLNotAllowed: without CALLSVC_WEBHOOK_ALLOW_PRIVATE, URLs that
// lead to loopback, private or link-local addresses are refused (422
// webhook_url_not_allowed, and nothing is stored); a name resolving to one is
// tested in internal/service with a resolver stub. Malformed URLs are 400.
func TestWebhookURLNotAllowed(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	for _, u := range []string{
		"http://127.0.0.1/", "http://[::1]/", "http://169.254.169.254/", "http://10.0.0.1/",
		"http://localhost:8080/hooks", "http://[::ffff:192.168.1.1]/",
	} {
		res, body := srv.raw(http.MethodPost, "/v1/webhook-endpoints", "application/json", sprintf(`{"url": %q}`, u), a.Key)
		p := problemOf(t, res, body, http.StatusUnprocessableEntity, "webhook_url_not_allowed")
		require.Contains(t, p.Detail, "which webhooks may not reach", u)
	}
	for _, body := range []string{
		`{"url": "ftp://example.com/"}`, `{"url": "example.com/hooks"}`, `{"url": "https://"}`,
		`{"url": "https://example.com/", "eventTypes": []}`,
		`{"url": "https://example.com/", "eventTypes": ["call.cancelled", "call.cancelled"]}`,
		`{"url": "https://example.com/", "eventTypes": ["call.started"]}`,
		`{"url": "https://example.com/", "secret": "whsec_mine"}`,
		sprintf(`{"url": "https://example.com/%s"}`, strings.Repeat("x", 2000)),
	} {
		res, b := srv.raw(http.MethodPost, "/v1/webhook-endpoints", "application/json", body, a.Key)
		problemOf(t, res, b, http.StatusBadRequest, "invalid_request")
	}
	require.Zero(t, srv.count("webhook_endpoint"))
}

// TestWebhookEndpointsAPI: create (the secret shown once; an Idempotency-Key
// replay shows it again, from an answer stored sealed), get, list, delete, and
// another organization's endpoints do not exist for the caller.
func TestWebhookEndpointsAPI(t *testing.T) {
	t.Parallel()
	// The flag spares the check a DNS query for crm.example.com: tests send no
	// traffic beyond 127.0.0.1. No event is made, so nothing is delivered.
	srv := startServerWith(t, serverOptions{env: webhookEnv})
	a, b := srv.newOrg("Acme"), srv.newOrg("Globex")
	ctx := context.Background()
	key := "create-endpoint-" + uuid.NewString()
	body := `{"url": "https://crm.example.com/hooks", "eventTypes": ["call.cancelled"], "description": "CRM"}`
	res, first := srv.rawWithKey(http.MethodPost, "/v1/webhook-endpoints", body, a.Key, key)
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", first)
	res2, replay := srv.rawWithKey(http.MethodPost, "/v1/webhook-endpoints", body, a.Key, key)
	require.Equal(t, http.StatusCreated, res2.StatusCode)
	require.Equal(t, "true", res2.Header.Get("Idempotent-Replayed"))
	require.Equal(t, string(first), string(replay))
	require.Equal(t, res.Header.Get("Location"), res2.Header.Get("Location"))
	var stored []byte
	require.NoError(t, srv.DB.QueryRow(ctx, `SELECT response_body FROM idempotency_key WHERE key = $1`, key).Scan(&stored))
	require.NotContains(t, string(stored), "whsec_", "the stored answer is sealed")
	require.Equal(t, 1, srv.count("webhook_endpoint"))

	list, err := a.C.ListWebhookEndpointsWithResponse(ctx, nil)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	ep := list.JSON200.Items[0]
	require.Equal(t, "/v1/webhook-endpoints/"+ep.Id.String(), res.Header.Get("Location"))
	require.Equal(t, "https://crm.example.com/hooks", ep.Url)
	require.Equal(t, []client.WebhookEventType{client.WebhookEventTypeCallCancelled}, ep.EventTypes)
	desc, _ := ep.Description.Get()
	require.Equal(t, "CRM", desc)
	require.NotContains(t, string(list.Body), "whsec_")
	got, err := a.C.GetWebhookEndpointWithResponse(ctx, ep.Id)
	require.NoError(t, err)
	require.Equal(t, ep, *got.JSON200)
	require.NotContains(t, string(got.Body), "secret")

	for _, path := range []string{"/v1/webhook-endpoints/" + ep.Id.String(), "/v1/webhook-endpoints/" + uuid.NewString()} {
		res, body := srv.raw(http.MethodGet, path, "", "", b.Key)
		problemOf(t, res, body, http.StatusNotFound, "webhook_endpoint_not_found")
		res, body = srv.raw(http.MethodDelete, path, "", "", b.Key)
		problemOf(t, res, body, http.StatusNotFound, "webhook_endpoint_not_found")
		res, body = srv.raw(http.MethodGet, path+"/deliveries", "", "", b.Key)
		problemOf(t, res, body, http.StatusNotFound, "webhook_endpoint_not_found")
	}
	others, err := b.C.ListWebhookEndpointsWithResponse(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, others.JSON200.Items)
	res, body2 := srv.raw(http.MethodGet, "/v1/webhook-endpoints/"+ep.Id.String()+"/deliveries?status=lost", "", "", a.Key)
	problemOf(t, res, body2, http.StatusBadRequest, "invalid_request")
	res, body2 = srv.raw(http.MethodGet, "/v1/webhook-endpoints/"+ep.Id.String()+"/deliveries?status=pending&limit=5", "", "", a.Key)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.JSONEq(t, `{"items": [], "nextCursor": null}`, string(body2))

	del, err := a.C.DeleteWebhookEndpointWithResponse(ctx, ep.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	res, body2 = srv.raw(http.MethodGet, "/v1/webhook-endpoints/"+ep.Id.String(), "", "", a.Key)
	problemOf(t, res, body2, http.StatusNotFound, "webhook_endpoint_not_found")
	res, body2 = srv.raw(http.MethodDelete, "/v1/webhook-endpoints/"+ep.Id.String(), "", "", a.Key)
	problemOf(t, res, body2, http.StatusNotFound, "webhook_endpoint_not_found")
	list, err = a.C.ListWebhookEndpointsWithResponse(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, list.JSON200.Items)
}

// rawWithKey POSTs a JSON body with an Idempotency-Key.
func (srv *testServer) rawWithKey(method, path, body, key, idempotencyKey string) (*http.Response, []byte) {
	srv.t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(srv.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Idempotency-Key", idempotencyKey)
	res, err := srv.httpClient().Do(req)
	require.NoError(srv.t, err)
	return res, readAll(srv.t, res)
}

// TestServeRoles: an API-only server and a workers-only server on one database
// split the work: the first takes the outcome and delivers nothing, the second
// delivers it and serves only /healthz, /readyz and /metrics, where the
// deliveries' metrics are.
func TestServeRoles(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewDatabase(t)
	api := startServerWith(t, serverOptions{databaseURL: dbURL, env: webhookEnv, role: "api"})
	workers := startServerWith(t, serverOptions{databaseURL: dbURL, env: webhookEnv, role: "workers"})
	a := api.newOrg("Acme")
	rcv := newReceiver(t, func(_ received, before int) int {
		if before == 0 {
			return http.StatusBadGateway
		}
		return http.StatusNoContent
	})
	ep := api.subscribe(t, a, rcv)
	_, call := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	require.Equal(t, http.StatusCreated, api.decide(t, a.Key, call.Id.String(), http.StatusCreated))
	got := rcv.waitFor(t, 30*time.Second, "the event, delivered by the workers", func(got []received) bool { return len(delivered(got)) == 1 })
	verify(t, ep.Secret, got[len(got)-1])
	require.Eventually(t, func() bool { return len(api.deliveries(t, a, ep, "succeeded")) == 1 }, 10*time.Second, 10*time.Millisecond)

	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		res, body := workers.raw(http.MethodGet, path, "", "", "")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", path, body)
	}
	for _, path := range []string{"/v1/prospects", "/openapi.json"} {
		// Not through the spec-checking client: the spec describes the API's server.
		res, err := http.Get(workers.URL + path)
		require.NoError(t, err)
		problemOf(t, res, readAll(t, res), http.StatusNotFound, "not_found")
	}
	_, metrics := workers.raw(http.MethodGet, "/metrics", "", "", "")
	for _, line := range []string{
		`callsvc_webhook_attempts_total{result="failed"} 1`,
		`callsvc_webhook_attempts_total{result="succeeded"} 1`,
		`callsvc_webhook_deliveries_total{result="succeeded"} 1`,
		"callsvc_webhook_deliveries_pending 0",
		"callsvc_webhook_oldest_pending_seconds 0",
		"callsvc_webhook_attempt_duration_seconds_count 2",
	} {
		require.Contains(t, string(metrics), line+"\n")
	}
	// The API server reports the queue too (it is in the database), and made no attempt.
	_, metrics = api.raw(http.MethodGet, "/metrics", "", "", "")
	require.Contains(t, string(metrics), "callsvc_webhook_deliveries_pending 0\n")
	require.NotContains(t, string(metrics), "callsvc_webhook_attempts_total{")
	require.Contains(t, workers.logs.String(), `"msg":"webhook attempt failed"`)
	require.NotContains(t, workers.logs.String(), ep.Secret[len("whsec_"):], "the log never shows a secret")
}
