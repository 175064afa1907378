package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/client"
)

// webhookEnv lets the test servers deliver to receivers on 127.0.0.1, and retry
// quickly.
var webhookEnv = map[string]string{
	"CALLSVC_WEBHOOK_ALLOW_PRIVATE": "true",
	"CALLSVC_WEBHOOK_RETRY_MIN":     "50ms",
}

// receiver is a webhook endpoint on 127.0.0.1 that records every request
// callsvc sends it. answer decides each answer's status from the request and
// how many requests with its webhook-id came before (0 for the first); it may
// block, to hold an attempt in flight.
type receiver struct {
	URL    string
	t      *testing.T
	mu     sync.Mutex
	got    []received
	seen   map[string]int // requests per webhook-id
	busy   map[string]int // requests per webhook-id being answered now
	most   int            // the most requests of one webhook-id answered at once
	answer func(r received, before int) int
}

// received is one request, as the receiver got it.
type received struct {
	ID     string // webhook-id
	Header http.Header
	Body   []byte
	At     time.Time
	Status int // what the receiver answered
}

// event is a delivery's body.
type event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

func newReceiver(t *testing.T, answer func(r received, before int) int) *receiver {
	t.Helper()
	if answer == nil {
		answer = func(received, int) int { return http.StatusOK }
	}
	rcv := &receiver{t: t, seen: map[string]int{}, busy: map[string]int{}, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(rcv.serve))
	t.Cleanup(srv.Close)
	rcv.URL = srv.URL
	return rcv
}

func (rcv *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := received{ID: r.Header.Get("webhook-id"), Header: r.Header.Clone(), Body: body, At: time.Now()}
	if r.Method != http.MethodPost || r.URL.Path != "/hooks" {
		rcv.t.Errorf("receiver got %s %s", r.Method, r.URL.Path)
	}
	rcv.mu.Lock()
	before := rcv.seen[req.ID]
	rcv.seen[req.ID]++
	rcv.busy[req.ID]++
	rcv.most = max(rcv.most, rcv.busy[req.ID])
	rcv.mu.Unlock()

	req.Status = rcv.answer(req, before)

	rcv.mu.Lock()
	rcv.busy[req.ID]--
	rcv.got = append(rcv.got, req)
	rcv.mu.Unlock()
	w.WriteHeader(req.Status)
}

// requests returns the requests answered so far, in the order they were answered.
func (rcv *receiver) requests() []received {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]received(nil), rcv.got...)
}

// started returns how many requests have arrived, answered or not.
func (rcv *receiver) started() int {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	n := 0
	for _, c := range rcv.seen {
		n += c
	}
	return n
}

// waitFor waits until cond holds of the answered requests.
func (rcv *receiver) waitFor(t *testing.T, timeout time.Duration, what string, cond func([]received) bool) []received {
	t.Helper()
	var got []received
	require.Eventually(t, func() bool {
		got = rcv.requests()
		return cond(got)
	}, timeout, 10*time.Millisecond, "receiver: %s", what)
	return got
}

// delivered counts the requests answered 2xx, per webhook-id.
func delivered(got []received) map[string]int {
	out := map[string]int{}
	for _, r := range got {
		if r.Status >= 200 && r.Status <= 299 {
			out[r.ID]++
		}
	}
	return out
}

// verify checks a request's signature with the Standard Webhooks library (an
// implementation independent of callsvc's) and returns its body.
func verify(t *testing.T, secret string, r received) event {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	require.NoError(t, wh.Verify(r.Body, r.Header), "signature")
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	var e event
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&e))
	require.Equal(t, r.ID, e.ID, "webhook-id is the event's id")
	return e
}

// subscribe creates an endpoint of o for the receiver.
func (srv *testServer) subscribe(t *testing.T, o org, rcv *receiver, types ...client.WebhookEventType) client.WebhookEndpointCreated {
	t.Helper()
	body := client.WebhookEndpointCreate{Url: rcv.URL + "/hooks"}
	if types != nil {
		body.EventTypes = &types
	}
	r, err := o.C.CreateWebhookEndpointWithResponse(context.Background(), nil, body)
	require.NoError(t, err)
	require.NotNil(t, r.JSON201, "create endpoint: %d %s", r.StatusCode(), r.Body)
	require.True(t, strings.HasPrefix(r.JSON201.Secret, "whsec_"))
	return *r.JSON201
}

// get returns the body of a GET of path, which must answer 200.
func (srv *testServer) get(t *testing.T, path, key string) []byte {
	t.Helper()
	res, body := srv.raw(http.MethodGet, path, "", "", key)
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s: %s", path, body)
	return bytes.TrimSpace(body)
}

// deliveries lists an endpoint's deliveries (the first 100), optionally of one
// status.
func (srv *testServer) deliveries(t *testing.T, o org, endpoint client.WebhookEndpointCreated, status string) []client.Delivery {
	t.Helper()
	limit := 100
	params := &client.ListWebhookDeliveriesParams{Limit: &limit}
	if status != "" {
		st := client.DeliveryStatus(status)
		params.Status = &st
	}
	r, err := o.C.ListWebhookDeliveriesWithResponse(context.Background(), endpoint.Id, params)
	require.NoError(t, err)
	require.NotNil(t, r.JSON200, "list deliveries: %d %s", r.StatusCode(), r.Body)
	return r.JSON200.Items
}
