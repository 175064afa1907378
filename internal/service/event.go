package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/callsvc/callsvc/internal/db"
)

// EventType is what an event reports.
type EventType string

// The event types.
const (
	EventOutcomeCreated EventType = "outcome.created"
	EventCallCancelled  EventType = "call.cancelled"
)

// EventTypes lists every event type, in the order the API lists them: what an
// endpoint created without eventTypes subscribes to.
var EventTypes = []EventType{EventOutcomeCreated, EventCallCancelled}

// Valid reports whether t is an event type that exists.
func (t EventType) Valid() bool { return db.WebhookEventType(t).Valid() }

// The River job that makes a delivery's attempts: InsertWebhookEvent inserts one
// per delivery, internal/delivery works them.
const (
	DeliveryJobKind  = "webhook_delivery"
	DeliveryJobQueue = "webhooks"
	// DeliveryJobMaxAttempts is River's bound on a job's attempts. A failed
	// delivery attempt snoozes its job rather than failing it (the retry schedule
	// and the 24 h horizon are the service's: RetryPolicy), so River only counts
	// attempts cut short by a crash or a lost database; this is far above those.
	DeliveryJobMaxAttempts = 1000
)

// queueEvent queues the event that reports a change to call, with its
// deliveries and their jobs, to be sent with tx's next statement: the change's
// own last statement, so the event costs no round trip and commits or rolls
// back with the change. data is the resource as the API renders it, or nil for
// an outcome.created event: an outcome never changes, so its delivery renders
// it (eventData) and the outcome's transaction writes a smaller row. When no
// endpoint is subscribed to typ nothing is written: only deliveries read an
// event.
func queueEvent(ctx context.Context, tx *Tx, org OrgID, typ EventType, call uuid.UUID, data any) error {
	var body json.RawMessage
	if data != nil {
		var err error
		if body, err = json.Marshal(data); err != nil {
			return fmt.Errorf("queue %s event: %w", typ, err)
		}
	}
	err := tx.Queue().InsertWebhookEvent(ctx, db.InsertWebhookEventParams{
		ID:             newID(),
		OrganizationID: uuid.UUID(org),
		Type:           db.WebhookEventType(typ),
		CallSessionID:  call,
		Data:           body,
		JobKind:        DeliveryJobKind,
		JobQueue:       DeliveryJobQueue,
		JobMaxAttempts: DeliveryJobMaxAttempts,
	})
	if err != nil {
		return fmt.Errorf("queue %s event: %w", typ, err)
	}
	return nil
}

// newID makes the id of a row written on the outcome's path (an outcome, an
// event): a version 7 UUID, time-ordered, so each new key lands on the
// rightmost leaf of its primary key index instead of a random one. A random
// key dirties, and after a checkpoint writes whole to the WAL, a leaf page of
// its own, and splits pages in the middle of the index (bench/README.md).
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
