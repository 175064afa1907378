package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/callsvc/callsvc/internal/db"
	"github.com/callsvc/callsvc/internal/webhook"
)

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Delivery is one event's delivery to one endpoint.
type Delivery struct {
	ID                 uuid.UUID
	EndpointID         uuid.UUID
	EventID            uuid.UUID
	EventType          EventType
	Status             DeliveryStatus
	Attempts           int
	LastAttemptAt      *time.Time
	LastResponseStatus *int
	LastError          *string
	NextAttemptAt      *time.Time
	CreatedAt          time.Time
}

func deliveryFromRow(r db.WebhookDelivery) Delivery {
	d := Delivery{
		ID:            r.ID,
		EndpointID:    r.EndpointID,
		EventID:       r.EventID,
		EventType:     EventType(r.EventType),
		Status:        DeliveryStatus(r.Status),
		Attempts:      int(r.Attempts),
		LastAttemptAt: r.LastAttemptAt,
		LastError:     r.LastError,
		NextAttemptAt: r.NextAttemptAt,
		CreatedAt:     r.CreatedAt,
	}
	if r.LastResponseStatus != nil {
		st := int(*r.LastResponseStatus)
		d.LastResponseStatus = &st
	}
	return d
}

// ListWebhookDeliveries returns the deliveries to one of org's endpoints, newest
// first, only those in status when it is not nil.
func (s *Service) ListWebhookDeliveries(ctx context.Context, org OrgID, endpointID uuid.UUID, status *DeliveryStatus, p Page) (List[Delivery], error) {
	pg, limit, after, err := s.pageArgs(ctx, org, listDeliveries, p)
	if err != nil {
		return List[Delivery]{}, err
	}
	if status != nil && !db.WebhookDeliveryStatus(*status).Valid() {
		return List[Delivery]{}, invalid("status", "unknown delivery status %q", *status)
	}
	if _, err := s.GetWebhookEndpoint(ctx, org, endpointID); err != nil {
		return List[Delivery]{}, fmt.Errorf("list deliveries: %w", err)
	}
	createdAt, id := cursorArgs(after)
	var rows []db.WebhookDelivery
	if status == nil {
		rows, err = s.q.ListWebhookDeliveries(ctx, db.ListWebhookDeliveriesParams{
			OrganizationID: uuid.UUID(org), EndpointID: endpointID,
			CursorCreatedAt: createdAt, CursorID: id, MaxRows: limit,
		})
	} else {
		rows, err = s.q.ListWebhookDeliveriesByStatus(ctx, db.ListWebhookDeliveriesByStatusParams{
			OrganizationID: uuid.UUID(org), EndpointID: endpointID, Status: db.WebhookDeliveryStatus(*status),
			CursorCreatedAt: createdAt, CursorID: id, MaxRows: limit,
		})
	}
	if err != nil {
		return List[Delivery]{}, fmt.Errorf("list deliveries: %w", dbErr(err, nil))
	}
	return paginate(pg, rows, limit, deliveryFromRow, func(r db.WebhookDelivery) cursor { return cursor{r.CreatedAt, r.ID} }), nil
}

// RetryPolicy is when a failed delivery is tried again: Min after the first
// failed attempt ends, each wait twice the last, at most Max, for as long as the
// next attempt would start within GiveUpAfter of the event; then the delivery
// fails.
type RetryPolicy struct {
	Min, Max, GiveUpAfter time.Duration
}

// DefaultRetryPolicy is the contract's: from 5 s, doubling, at most 1 h apart,
// for 24 h.
var DefaultRetryPolicy = RetryPolicy{Min: 5 * time.Second, Max: time.Hour, GiveUpAfter: 24 * time.Hour}

// Wait is how long to wait after the attempts-th failed attempt.
func (p RetryPolicy) Wait(attempts int) time.Duration {
	wait := p.Min
	for i := 1; i < attempts && wait < p.Max; i++ {
		wait *= 2
	}
	return min(wait, p.Max)
}

// next is when to try again after the attempts-th attempt failed at end, or false
// when the delivery gives up.
func (p RetryPolicy) next(created, end time.Time, attempts int) (time.Time, bool) {
	at := end.Add(p.Wait(attempts))
	if at.After(created.Add(p.GiveUpAfter)) {
		return time.Time{}, false
	}
	return at, true
}

// DeliveryAttempt is what one attempt sends, and to where.
type DeliveryAttempt struct {
	EndpointID uuid.UUID
	URL        string
	Key        []byte // the endpoint's signing key, unsealed
	Event      webhook.Event
}

// AttemptReport says what became of a delivery after AttemptDelivery.
type AttemptReport struct {
	Status DeliveryStatus
	// Attempted is false when no attempt was made: the delivery was finished
	// already, gone, or its endpoint deleted.
	Attempted bool
	Result    webhook.Result
	Attempts  int
	// Wait is how long until the next attempt, while Status is pending.
	Wait time.Duration
	// Finished is true when this call ended the delivery (Status succeeded or
	// failed); false when it was over already.
	Finished bool
}

// AttemptDelivery makes one attempt of a delivery with send, and records it. It
// runs in one transaction that holds the delivery's row and its endpoint's FOR
// SHARE while send runs (at most webhook.AttemptTimeout), so that deleting the
// endpoint waits for the attempt and no attempt starts after a delete: two round
// trips, the lock and read, then the record and COMMIT; for an outcome's event
// a third between them reads the outcome (eventData). The transaction is not
// retried: send has acted outside it, and a failure to record is returned for
// the caller (River) to try again later.
func (s *Service) AttemptDelivery(ctx context.Context, id uuid.UUID, policy RetryPolicy, send func(context.Context, DeliveryAttempt) webhook.Result) (AttemptReport, error) {
	var report AttemptReport
	err := s.inTxOnce(ctx, func(tx *Tx) error {
		report = AttemptReport{}
		d, err := tx.Queries().LockDeliveryForAttempt(ctx, id)
		if err = dbErr(err, errNoRow); errors.Is(err, errNoRow) {
			report.Status = DeliveryFailed
			return nil
		} else if err != nil {
			return fmt.Errorf("lock delivery: %w", err)
		}
		report.Status, report.Attempts = DeliveryStatus(d.Status), int(d.Attempts)
		if report.Status != DeliveryPending {
			return nil
		}
		if d.EndpointDeletedAt != nil {
			report.Status, report.Finished = DeliveryFailed, true
			return tx.Last().FailDelivery(ctx, db.FailDeliveryParams{ID: id, Reason: endpointDeleted})
		}
		data, err := eventData(ctx, tx, d)
		if err != nil {
			return err
		}
		report.Attempted, report.Attempts = true, report.Attempts+1
		if key, err := s.openSecret(d.EndpointSecretSealed, d.EndpointID); err != nil {
			// Nothing can be signed: a failed attempt, which the client sees and
			// which retries until the key is set right or the delivery gives up.
			s.log.ErrorContext(ctx, "webhook secret cannot be opened", "endpoint", d.EndpointID, "delivery", d.ID, "err", err)
			report.Result = webhook.Result{Error: "the server cannot open the endpoint's signing secret"}
		} else {
			report.Result = send(ctx, DeliveryAttempt{
				EndpointID: d.EndpointID,
				URL:        d.EndpointUrl,
				Key:        key,
				Event:      webhook.Event{ID: d.EventID, Type: string(d.EventType), CreatedAt: d.EventCreatedAt, Data: data},
			})
		}
		end := time.Now()
		rec := db.RecordDeliveryAttemptParams{ID: id, AttemptedAt: end, Status: db.WebhookDeliveryStatusSucceeded}
		if st := report.Result.Status; st != 0 {
			st16 := int16(st)
			rec.ResponseStatus = &st16
		}
		report.Status = DeliverySucceeded
		if !report.Result.OK() {
			rec.Error = &report.Result.Error
			report.Status, rec.Status = DeliveryFailed, db.WebhookDeliveryStatusFailed
			if at, ok := policy.next(d.CreatedAt, end, report.Attempts); ok {
				report.Status, rec.Status = DeliveryPending, db.WebhookDeliveryStatusPending
				report.Wait, rec.NextAttemptAt = at.Sub(end), &at
			}
		}
		report.Finished = report.Status != DeliveryPending
		return tx.Last().RecordDeliveryAttempt(ctx, rec)
	})
	if err != nil {
		return report, fmt.Errorf("attempt delivery %s: %w", id, err)
	}
	return report, nil
}

// eventData is the data of the delivery's event: as stored, or for an
// outcome.created event, which stores none, the call's outcome as GET
// .../outcome renders it (one more round trip; an outcome never changes, so
// every attempt sends the same bytes).
func eventData(ctx context.Context, tx *Tx, d db.LockDeliveryForAttemptRow) (json.RawMessage, error) {
	if d.EventData != nil {
		return d.EventData, nil
	}
	if d.EventType != db.WebhookEventTypeOutcomecreated || d.EventCallID == nil {
		return nil, fmt.Errorf("event %s (%s) has no data and no outcome to render", d.EventID, d.EventType)
	}
	row, err := tx.Queries().GetOutcome(ctx, db.GetOutcomeParams{OrganizationID: d.OrganizationID, CallID: *d.EventCallID})
	if err != nil {
		return nil, fmt.Errorf("event %s: read the outcome: %w", d.EventID, dbErr(err, nil))
	}
	outcome, err := outcomeOfCall(row)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", d.EventID, err)
	}
	data, err := json.Marshal(outcome.Resource())
	if err != nil {
		return nil, fmt.Errorf("event %s: render the outcome: %w", d.EventID, err)
	}
	return data, nil
}

// openSecret unseals an endpoint's signing key.
func (s *Service) openSecret(sealed []byte, endpointID uuid.UUID) ([]byte, error) {
	if s.secrets == nil {
		return nil, errors.New("the service has no secret box (WithWebhooks)")
	}
	key, err := s.secrets.Open(sealed, endpointID[:])
	if err != nil {
		return nil, fmt.Errorf("endpoint %s's secret: %w (is CALLSVC_WEBHOOK_SECRET_KEY the key it was sealed with?)", endpointID, err)
	}
	return key, nil
}

// PendingDeliveries returns how many deliveries wait and how long the oldest
// has, by the database's clock: the delivery queue's depth and age.
func (s *Service) PendingDeliveries(ctx context.Context) (int64, time.Duration, error) {
	row, err := s.q.PendingDeliveries(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("pending deliveries: %w", dbErr(err, nil))
	}
	return row.Pending, time.Duration(row.OldestAgeSeconds * float64(time.Second)), nil
}
