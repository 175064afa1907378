package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/webhook"
)

func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	created, err := b.createEndpoint(NewWebhookEndpoint{URL: "https://hooks.example/callsvc"})
	require.NoError(t, err)
	require.Equal(t, EventTypes, created.EventTypes, "every type that exists, by default")
	require.Nil(t, created.Description)
	require.True(t, strings.HasPrefix(created.Secret, "whsec_"))
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(created.Secret, "whsec_"))
	require.NoError(t, err)
	require.Len(t, key, 32)

	// Stored sealed: the key is nowhere in the row.
	var sealed []byte
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT secret_sealed FROM webhook_endpoint WHERE id = $1`, created.ID).Scan(&sealed))
	require.False(t, bytes.Contains(sealed, key))
	opened, err := b.svc.openSecret(sealed, created.ID)
	require.NoError(t, err)
	require.Equal(t, key, opened)
	_, err = b.svc.openSecret(sealed, uuid.New())
	require.Error(t, err, "bound to its endpoint")

	got, err := b.svc.GetWebhookEndpoint(b.ctx, b.org, created.ID)
	require.NoError(t, err)
	require.Equal(t, created.WebhookEndpoint, got)

	second, err := b.createEndpoint(NewWebhookEndpoint{URL: "http://hooks.example:8080/x?y=1", EventTypes: []EventType{EventCallCancelled}, Description: ptr("CRM")})
	require.NoError(t, err)
	require.Equal(t, []EventType{EventCallCancelled}, second.EventTypes)
	require.Equal(t, ptr("CRM"), second.Description)
	list, err := b.svc.ListWebhookEndpoints(b.ctx, b.org, Page{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, []WebhookEndpoint{second.WebhookEndpoint}, list.Items, "newest first")
	require.NotNil(t, list.NextCursor)
	list, err = b.svc.ListWebhookEndpoints(b.ctx, b.org, Page{Limit: 1, Cursor: *list.NextCursor})
	require.NoError(t, err)
	require.Equal(t, []WebhookEndpoint{created.WebhookEndpoint}, list.Items)
	require.Nil(t, list.NextCursor)

	// Another organization sees none of it.
	other, _, err := b.createOrganization("Other")
	require.NoError(t, err)
	_, err = b.svc.GetWebhookEndpoint(b.ctx, OrgID(other.ID), created.ID)
	require.ErrorIs(t, err, ErrWebhookEndpointNotFound)
	err = b.svc.InTx(b.ctx, func(tx *Tx) error { return b.svc.DeleteWebhookEndpoint(b.ctx, tx, OrgID(other.ID), created.ID) })
	require.ErrorIs(t, err, ErrWebhookEndpointNotFound)
	_, err = b.svc.ListWebhookDeliveries(b.ctx, OrgID(other.ID), created.ID, nil, Page{})
	require.ErrorIs(t, err, ErrWebhookEndpointNotFound)

	require.NoError(t, b.deleteEndpoint(created.ID))
	_, err = b.svc.GetWebhookEndpoint(b.ctx, b.org, created.ID)
	require.ErrorIs(t, err, ErrWebhookEndpointNotFound)
	require.ErrorIs(t, b.deleteEndpoint(created.ID), ErrWebhookEndpointNotFound)
	_, err = b.svc.ListWebhookDeliveries(b.ctx, b.org, created.ID, nil, Page{})
	require.ErrorIs(t, err, ErrWebhookEndpointNotFound)
	list, err = b.svc.ListWebhookEndpoints(b.ctx, b.org, Page{})
	require.NoError(t, err)
	require.Equal(t, []WebhookEndpoint{second.WebhookEndpoint}, list.Items)
}

func TestWebhookEndpointInput(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	for _, tc := range []struct {
		in    NewWebhookEndpoint
		field string
	}{
		{NewWebhookEndpoint{URL: ""}, "url"},
		{NewWebhookEndpoint{URL: "ftp://hooks.example/"}, "url"},
		{NewWebhookEndpoint{URL: "hooks.example/x"}, "url"},
		{NewWebhookEndpoint{URL: "https://"}, "url"},
		{NewWebhookEndpoint{URL: "https://hooks.example/a b"}, "url"},
		{NewWebhookEndpoint{URL: "https://hooks.example/" + strings.Repeat("x", 2000)}, "url"},
		{NewWebhookEndpoint{URL: "https://hooks.example/", EventTypes: []EventType{}}, "eventTypes"},
		{NewWebhookEndpoint{URL: "https://hooks.example/", EventTypes: []EventType{"call.started"}}, "eventTypes"},
		{NewWebhookEndpoint{URL: "https://hooks.example/", EventTypes: []EventType{EventCallCancelled, EventCallCancelled}}, "eventTypes"},
		{NewWebhookEndpoint{URL: "https://hooks.example/", Description: ptr(strings.Repeat("d", 501))}, "description"},
		{NewWebhookEndpoint{URL: "https://hooks.example/", Description: ptr("a\x00b")}, "description"},
	} {
		_, err := b.createEndpoint(tc.in)
		requireInvalid(t, err, tc.field)
	}
	_, err := b.createEndpoint(NewWebhookEndpoint{URL: "https://hooks.example/" + strings.Repeat("x", 2000-len("https://hooks.example/")), Description: ptr(strings.Repeat("é", 500))})
	require.NoError(t, err, "the bounds themselves are fine")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM webhook_endpoint`))
}

// TestWebhookURLNotAllowed: a URL whose host is, or resolves (testResolver, a
// stub) to, an address webhooks may not reach is refused, and nothing is stored.
// A host that does not resolve is accepted: every dial is checked again.
func TestWebhookURLNotAllowed(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	for _, u := range []string{
		"http://127.0.0.1/", "http://[::1]/", "http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1/", "https://rebinding.example/hook", "https://inside.example/",
		"http://localhost:9000/", "http://0.0.0.0/", "http://[fd00::1]/",
	} {
		_, err := b.createEndpoint(NewWebhookEndpoint{URL: u})
		require.ErrorIs(t, err, ErrWebhookURLNotAllowed, u)
		var na *webhook.NotAllowedError
		require.True(t, errors.As(err, &na), u)
	}
	require.Zero(t, b.count(t, `SELECT count(*) FROM webhook_endpoint`))
	_, err := b.createEndpoint(NewWebhookEndpoint{URL: "https://does-not-resolve.example/"})
	require.NoError(t, err)
}

// eventsOf returns the events of b's organization: type and data as stored
// (nil for an outcome's event, whose delivery renders it).
func (b *testBundle) eventsOf(t *testing.T) map[EventType][]json.RawMessage {
	t.Helper()
	rows, err := b.pool.Query(b.ctx, `SELECT type::text, data::text FROM webhook_event WHERE organization_id = $1 ORDER BY created_at`, uuid.UUID(b.org))
	require.NoError(t, err)
	defer rows.Close()
	out := map[EventType][]json.RawMessage{}
	for rows.Next() {
		var typ string
		var data *string
		require.NoError(t, rows.Scan(&typ, &data))
		var raw json.RawMessage
		if data != nil {
			raw = json.RawMessage(*data)
		}
		out[EventType(typ)] = append(out[EventType(typ)], raw)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestEventsWrittenWithTheChange: a decided outcome and a cancelled call write
// their event in their own transaction, with a delivery and a River job per
// subscribed endpoint; the event's data is the resource as the API renders it
// afterwards, byte for byte. A refused change writes nothing.
func TestEventsWrittenWithTheChange(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)

	// Without endpoints nothing is written: only deliveries read an event, and
	// an endpoint subscribed later gets none of the events before it.
	c := b.call(t, ptr[int32](900), CallInProgress)
	_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
	require.NoError(t, err)
	require.Empty(t, b.eventsOf(t))
	require.Zero(t, b.count(t, `SELECT count(*) FROM webhook_delivery`))

	all, err := b.createEndpoint(NewWebhookEndpoint{URL: "https://hooks.example/all"})
	require.NoError(t, err)
	outcomes, err := b.createEndpoint(NewWebhookEndpoint{URL: "https://hooks.example/outcomes", EventTypes: []EventType{EventOutcomeCreated}})
	require.NoError(t, err)
	deleted, err := b.createEndpoint(NewWebhookEndpoint{URL: "https://hooks.example/gone"})
	require.NoError(t, err)
	require.NoError(t, b.deleteEndpoint(deleted.ID))

	p := b.prospect(t, ptr[int32](900))
	c = b.callFor(t, p, CallInProgress)
	_, err = b.createObjection(c.ID, NewObjection{Objection: "Later", Outcome: ObjectionDeferred, Response: ptr("<ok> & \"fine\"")})
	require.NoError(t, err)
	_, err = b.createOutcome(c.ID, NewOutcome{
		OutcomeType:        OutcomeMeetingBooked,
		QualificationFlags: json.RawMessage(`{"zeta": 1, "a": [1.50, 2e3], "n": 12345678901234567890}`),
	})
	require.NoError(t, err)
	got, err := b.svc.GetOutcome(b.ctx, b.org, c.ID)
	require.NoError(t, err)
	want, err := json.Marshal(got.Resource())
	require.NoError(t, err)
	events := b.eventsOf(t)[EventOutcomeCreated]
	require.Len(t, events, 1)
	require.Nil(t, events[0], "an outcome's event stores no data")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM webhook_event WHERE call_session_id = $1`, c.ID))
	list, err := b.svc.ListWebhookDeliveries(b.ctx, b.org, outcomes.ID, nil, Page{})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	var sent []DeliveryAttempt
	policy := RetryPolicy{Min: time.Second, Max: time.Second, GiveUpAfter: time.Hour}
	_, err = b.svc.AttemptDelivery(b.ctx, list.Items[0].ID, policy, answer(webhook.Result{Status: 500, Error: "later"}, &sent))
	require.NoError(t, err)
	_, err = b.svc.AttemptDelivery(b.ctx, list.Items[0].ID, policy, answer(webhook.Result{Status: 204}, &sent))
	require.NoError(t, err)
	require.Len(t, sent, 2)
	require.Equal(t, string(want), string(sent[0].Event.Data), "the delivered data is what GET .../outcome renders")
	require.Equal(t, sent[0].Event, sent[1].Event, "the same bytes on every attempt")

	var deliveries, jobs int
	require.NoError(t, b.pool.QueryRow(b.ctx, `
		SELECT count(*), count(j.id)
		FROM webhook_delivery d
		JOIN webhook_event e ON e.id = d.event_id
		LEFT JOIN river_job j ON j.kind = 'webhook_delivery' AND j.queue = 'webhooks' AND j.state = 'available'
			AND (j.args->>'deliveryId')::uuid = d.id
		WHERE e.call_session_id = $1`, c.ID).Scan(&deliveries, &jobs))
	require.Equal(t, 2, deliveries, "one per subscribed endpoint, none for the deleted one")
	require.Equal(t, 2, jobs, "one River job per delivery")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM webhook_delivery WHERE endpoint_id = $1`, outcomes.ID))

	// Refused: no event.
	_, err = b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
	require.ErrorIs(t, err, ErrOutcomeExists)
	advisory := b.call(t, nil, CallInProgress)
	_, err = b.createOutcome(advisory.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
	require.ErrorIs(t, err, ErrOutcomeNotAllowedInAdvisoryMode)
	_, err = b.cancelCall(c.ID)
	require.ErrorIs(t, err, ErrInvalidCallTransition)
	require.Len(t, b.eventsOf(t)[EventOutcomeCreated], 1)
	require.Empty(t, b.eventsOf(t)[EventCallCancelled])

	// A cancelled call: its event carries the call as GET renders it.
	cancelled, err := b.cancelCall(advisory.ID)
	require.NoError(t, err)
	require.Equal(t, CallCancelled, cancelled.Status)
	call, err := b.svc.GetCall(b.ctx, b.org, advisory.ID)
	require.NoError(t, err)
	require.Equal(t, cancelled, call)
	want, err = json.Marshal(call.Resource())
	require.NoError(t, err)
	events = b.eventsOf(t)[EventCallCancelled]
	require.Len(t, events, 1)
	require.Equal(t, string(want), string(events[0]))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM webhook_delivery WHERE endpoint_id = $1 AND event_type = 'call.cancelled'`, all.ID))
	require.Zero(t, b.count(t, `SELECT count(*) FROM webhook_delivery WHERE endpoint_id = $1 AND event_type = 'call.cancelled'`, outcomes.ID))
	_, err = b.cancelCall(uuid.New())
	require.ErrorIs(t, err, ErrCallNotFound)
}

// pendingDelivery makes an endpoint and an outcome, and returns the delivery.
func (b *testBundle) pendingDelivery(t *testing.T) (CreatedWebhookEndpoint, Delivery) {
	t.Helper()
	ep, err := b.createEndpoint(NewWebhookEndpoint{URL: "https://hooks.example/" + uuid.NewString()})
	require.NoError(t, err)
	c := b.call(t, ptr[int32](900), CallInProgress)
	_, err = b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
	require.NoError(t, err)
	list, err := b.svc.ListWebhookDeliveries(b.ctx, b.org, ep.ID, nil, Page{})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	d := list.Items[0]
	require.Equal(t, DeliveryPending, d.Status)
	require.Zero(t, d.Attempts)
	require.Nil(t, d.LastAttemptAt)
	return ep, d
}

// answer is a send func that answers with result and records the attempts.
func answer(result webhook.Result, got *[]DeliveryAttempt) func(context.Context, DeliveryAttempt) webhook.Result {
	return func(_ context.Context, a DeliveryAttempt) webhook.Result {
		*got = append(*got, a)
		return result
	}
}

func TestAttemptDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	policy := RetryPolicy{Min: time.Second, Max: 3 * time.Second, GiveUpAfter: time.Hour}

	t.Run("RetriedThenDelivered", func(t *testing.T) {
		ep, d := b.pendingDelivery(t)
		var sent []DeliveryAttempt
		for i, wantWait := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
			before := time.Now()
			r, err := b.svc.AttemptDelivery(b.ctx, d.ID, policy, answer(webhook.Result{Status: 500, Error: "the endpoint answered 500"}, &sent))
			require.NoError(t, err)
			require.Equal(t, AttemptReport{Status: DeliveryPending, Attempted: true, Result: webhook.Result{Status: 500, Error: "the endpoint answered 500"}, Attempts: i + 1, Wait: wantWait}, r)
			list, err := b.svc.ListWebhookDeliveries(b.ctx, b.org, ep.ID, ptr(DeliveryPending), Page{})
			require.NoError(t, err)
			got := list.Items[0]
			require.Equal(t, i+1, got.Attempts)
			require.Equal(t, ptr(500), got.LastResponseStatus)
			require.Equal(t, ptr("the endpoint answered 500"), got.LastError)
			require.WithinDuration(t, got.LastAttemptAt.Add(wantWait), *got.NextAttemptAt, time.Millisecond)
			require.False(t, got.NextAttemptAt.Before(before.Add(wantWait)), "at least the wait after the attempt ended")
		}
		r, err := b.svc.AttemptDelivery(b.ctx, d.ID, policy, answer(webhook.Result{Status: 204}, &sent))
		require.NoError(t, err)
		require.Equal(t, AttemptReport{Status: DeliverySucceeded, Attempted: true, Result: webhook.Result{Status: 204}, Attempts: 5, Finished: true}, r)
		require.Len(t, sent, 5)
		for _, a := range sent {
			require.Equal(t, sent[0].Event, a.Event, "the same event, id included, on every attempt")
		}
		require.Equal(t, "https://hooks.example/", sent[0].URL[:len("https://hooks.example/")])
		require.Equal(t, string(EventOutcomeCreated), sent[0].Event.Type)
		require.Equal(t, d.EventID, sent[0].Event.ID)

		list, err := b.svc.ListWebhookDeliveries(b.ctx, b.org, ep.ID, ptr(DeliverySucceeded), Page{})
		require.NoError(t, err)
		require.Len(t, list.Items, 1)
		done := list.Items[0]
		require.Equal(t, 5, done.Attempts)
		require.Equal(t, ptr(204), done.LastResponseStatus)
		require.Nil(t, done.LastError)
		require.Nil(t, done.NextAttemptAt)
		list, err = b.svc.ListWebhookDeliveries(b.ctx, b.org, ep.ID, ptr(DeliveryPending), Page{})
		require.NoError(t, err)
		require.Empty(t, list.Items)

		// A finished delivery's job (a River retry, a rescue) attempts nothing.
		r, err = b.svc.AttemptDelivery(b.ctx, d.ID, policy, answer(webhook.Result{}, &sent))
		require.NoError(t, err)
		require.Equal(t, AttemptReport{Status: DeliverySucceeded, Attempts: 5}, r)
		require.Len(t, sent, 5)
	})

	t.Run("GivesUp", func(t *testing.T) {
		ep, d := b.pendingDelivery(t)
		short := RetryPolicy{Min: time.Second, Max: time.Hour, GiveUpAfter: 2 * time.Second}
		var sent []DeliveryAttempt
		r, err := b.svc.AttemptDelivery(b.ctx, d.ID, short, answer(webhook.Result{Error: "connection refused"}, &sent))
		require.NoError(t, err)
		require.Equal(t, DeliveryPending, r.Status)
		r, err = b.svc.AttemptDelivery(b.ctx, d.ID, short, answer(webhook.Result{Error: "connection refused"}, &sent))
		require.NoError(t, err)
		require.Equal(t, AttemptReport{Status: DeliveryFailed, Attempted: true, Result: webhook.Result{Error: "connection refused"}, Attempts: 2, Finished: true}, r,
			"the next attempt (2 s after) would start after the horizon")
		list, err := b.svc.ListWebhookDeliveries(b.ctx, b.org, ep.ID, ptr(DeliveryFailed), Page{})
		require.NoError(t, err)
		require.Len(t, list.Items, 1)
		require.Nil(t, list.Items[0].LastResponseStatus)
		require.Equal(t, ptr("connection refused"), list.Items[0].LastError)
		require.Nil(t, list.Items[0].NextAttemptAt)
	})

	t.Run("EndpointDeleted", func(t *testing.T) {
		ep, d := b.pendingDelivery(t)
		require.NoError(t, b.deleteEndpoint(ep.ID))
		var sent []DeliveryAttempt
		r, err := b.svc.AttemptDelivery(b.ctx, d.ID, policy, answer(webhook.Result{}, &sent))
		require.NoError(t, err)
		require.Equal(t, DeliveryFailed, r.Status)
		require.False(t, r.Attempted)
		require.Empty(t, sent)
		require.Equal(t, endpointDeleted, b.lastError(t, d.ID))
	})

	t.Run("Gone", func(t *testing.T) {
		var sent []DeliveryAttempt
		r, err := b.svc.AttemptDelivery(b.ctx, uuid.New(), policy, answer(webhook.Result{}, &sent))
		require.NoError(t, err)
		require.Equal(t, AttemptReport{Status: DeliveryFailed}, r)
		require.Empty(t, sent)
	})
}

func (b *testBundle) lastError(t *testing.T, delivery uuid.UUID) string {
	t.Helper()
	var s string
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT last_error FROM webhook_delivery WHERE id = $1`, delivery).Scan(&s))
	return s
}

// TestDeleteWaitsForAttemptInFlight: an attempt holds its endpoint's row, so a
// DELETE of the endpoint waits until the attempt is recorded, and the delivery's
// next run attempts nothing: no attempt starts after the DELETE.
func TestDeleteWaitsForAttemptInFlight(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ep, d := b.pendingDelivery(t)
	inFlight, release := make(chan struct{}), make(chan struct{})
	attempted := make(chan error, 1)
	var sends atomic.Int64
	go func() {
		_, err := b.svc.AttemptDelivery(b.ctx, d.ID, DefaultRetryPolicy, func(context.Context, DeliveryAttempt) webhook.Result {
			sends.Add(1)
			close(inFlight)
			<-release
			return webhook.Result{Status: 503, Error: "the endpoint answered 503"}
		})
		attempted <- err
	}()
	<-inFlight
	deleted := make(chan error, 1)
	go func() { deleted <- b.deleteEndpoint(ep.ID) }()
	b.waitUntilBlocked(t)
	select {
	case err := <-deleted:
		t.Fatalf("the DELETE did not wait for the attempt in flight: %v", err)
	default:
	}
	close(release)
	require.NoError(t, <-attempted)
	require.NoError(t, <-deleted)
	require.EqualValues(t, 1, sends.Load())

	r, err := b.svc.AttemptDelivery(b.ctx, d.ID, DefaultRetryPolicy, func(context.Context, DeliveryAttempt) webhook.Result {
		sends.Add(1)
		return webhook.Result{Status: 200}
	})
	require.NoError(t, err)
	require.Equal(t, DeliveryFailed, r.Status)
	require.EqualValues(t, 1, sends.Load(), "no attempt after the DELETE")
	require.Equal(t, endpointDeleted, b.lastError(t, d.ID))
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy
	var waits []time.Duration
	for n := 1; n <= 12; n++ {
		waits = append(waits, p.Wait(n))
	}
	require.Equal(t, []time.Duration{
		5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 320 * time.Second, 640 * time.Second, 1280 * time.Second, 2560 * time.Second,
		time.Hour, time.Hour,
	}, waits)
	require.Equal(t, time.Hour, p.Wait(10000), "no overflow")

	// Every attempt fails at once: how many are made in 24 h, and when the last.
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at, attempts := created, 1
	for {
		next, ok := p.next(created, at, attempts)
		if !ok {
			break
		}
		at, attempts = next, attempts+1
	}
	require.Equal(t, 33, attempts)
	require.False(t, at.After(created.Add(24*time.Hour)))
	require.True(t, at.Add(time.Hour).After(created.Add(24*time.Hour)))
}
