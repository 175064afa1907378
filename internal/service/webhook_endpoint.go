package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/callsvc/callsvc/internal/db"
	"github.com/callsvc/callsvc/internal/webhook"
)

// Bounds of an endpoint's fields (the spec and the schema say the same).
const (
	maxWebhookURLLen         = 2000
	maxWebhookDescriptionLen = 500
)

// WebhookEndpoint is an HTTP endpoint an organization subscribed to events.
type WebhookEndpoint struct {
	ID          uuid.UUID
	URL         string
	EventTypes  []EventType
	Description *string
	CreatedAt   time.Time
}

// NewWebhookEndpoint is the input of PrepareWebhookEndpoint. Nil EventTypes
// means every type that exists.
type NewWebhookEndpoint struct {
	URL         string
	EventTypes  []EventType
	Description *string
}

// CreatedWebhookEndpoint is a new endpoint with its signing secret, which is
// shown this once ("whsec_..." as the Standard Webhooks libraries take it).
type CreatedWebhookEndpoint struct {
	WebhookEndpoint
	Secret string
}

// PreparedWebhookEndpoint is an endpoint checked and ready to be created:
// PrepareWebhookEndpoint does what may be slow (the URL's host lookup) before any
// transaction holds a connection, CreateWebhookEndpoint the rest.
type PreparedWebhookEndpoint struct {
	in NewWebhookEndpoint
	// refused is the guard's verdict on the URL, reported by
	// CreateWebhookEndpoint: an Idempotency-Key replay, which does not create,
	// answers as the first request did whatever the host resolves to now.
	refused error
}

// PrepareWebhookEndpoint validates in (an invalid field is an
// *InvalidInputError) and checks its URL's address with the guard.
func (s *Service) PrepareWebhookEndpoint(ctx context.Context, in NewWebhookEndpoint) (PreparedWebhookEndpoint, error) {
	if n := utf8.RuneCountInString(in.URL); n < 1 || n > maxWebhookURLLen {
		return PreparedWebhookEndpoint{}, invalid("url", "must be 1-%d characters", maxWebhookURLLen)
	}
	u, err := webhook.ParseURL(in.URL)
	if err != nil || strings.ContainsAny(in.URL, " \t\r\n\x00") {
		return PreparedWebhookEndpoint{}, invalid("url", "must be an absolute http or https URL")
	}
	if in.EventTypes == nil {
		in.EventTypes = EventTypes
	}
	if len(in.EventTypes) == 0 {
		return PreparedWebhookEndpoint{}, invalid("eventTypes", "must list at least one event type")
	}
	seen := map[EventType]bool{}
	for _, t := range in.EventTypes {
		if !t.Valid() {
			return PreparedWebhookEndpoint{}, invalid("eventTypes", "unknown event type %q", t)
		}
		if seen[t] {
			return PreparedWebhookEndpoint{}, invalid("eventTypes", "lists %q twice", t)
		}
		seen[t] = true
	}
	if d := in.Description; d != nil && (utf8.RuneCountInString(*d) > maxWebhookDescriptionLen || strings.ContainsRune(*d, 0)) {
		return PreparedWebhookEndpoint{}, invalid("description", "must be at most %d characters", maxWebhookDescriptionLen)
	}
	p := PreparedWebhookEndpoint{in: in}
	if err := s.guard.CheckURL(ctx, u); err != nil {
		p.refused = fmt.Errorf("url %w: %w", ErrWebhookURLNotAllowed, err)
	}
	return p, nil
}

// CreateWebhookEndpoint creates a prepared endpoint for org, in tx, with a fresh
// signing secret: returned once, stored sealed (bound to the endpoint's id).
func (s *Service) CreateWebhookEndpoint(ctx context.Context, tx *Tx, org OrgID, p PreparedWebhookEndpoint) (CreatedWebhookEndpoint, error) {
	if p.refused != nil {
		return CreatedWebhookEndpoint{}, p.refused
	}
	if p.in.URL == "" {
		return CreatedWebhookEndpoint{}, errors.New("create webhook endpoint: not prepared")
	}
	if s.secrets == nil {
		return CreatedWebhookEndpoint{}, errors.New("create webhook endpoint: the service has no secret box (WithWebhooks)")
	}
	id := uuid.New()
	key := webhook.NewSecret()
	types := make([]string, len(p.in.EventTypes))
	for i, t := range p.in.EventTypes {
		types[i] = string(t)
	}
	row, err := tx.Last().CreateWebhookEndpoint(ctx, db.CreateWebhookEndpointParams{
		ID:             id,
		OrganizationID: uuid.UUID(org),
		Url:            p.in.URL,
		EventTypes:     types,
		Description:    p.in.Description,
		SecretSealed:   s.secrets.Seal(key, id[:]),
	})
	if err != nil {
		return CreatedWebhookEndpoint{}, fmt.Errorf("create webhook endpoint: %w", dbErr(err, nil))
	}
	return CreatedWebhookEndpoint{
		WebhookEndpoint: endpointFromRow(db.GetWebhookEndpointRow(row)),
		Secret:          webhook.FormatSecret(key),
	}, nil
}

func endpointFromRow(r db.GetWebhookEndpointRow) WebhookEndpoint {
	types := make([]EventType, len(r.EventTypes))
	for i, t := range r.EventTypes {
		types[i] = EventType(t)
	}
	return WebhookEndpoint{ID: r.ID, URL: r.Url, EventTypes: types, Description: r.Description, CreatedAt: r.CreatedAt}
}

// GetWebhookEndpoint returns an endpoint of org that is not deleted.
func (s *Service) GetWebhookEndpoint(ctx context.Context, org OrgID, id uuid.UUID) (WebhookEndpoint, error) {
	row, err := s.q.GetWebhookEndpoint(ctx, db.GetWebhookEndpointParams{OrganizationID: uuid.UUID(org), ID: id})
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("get webhook endpoint %s: %w", id, dbErr(err, ErrWebhookEndpointNotFound))
	}
	return endpointFromRow(row), nil
}

// ListWebhookEndpoints returns org's endpoints, newest first.
func (s *Service) ListWebhookEndpoints(ctx context.Context, org OrgID, p Page) (List[WebhookEndpoint], error) {
	pg, limit, after, err := s.pageArgs(ctx, org, listEndpoints, p)
	if err != nil {
		return List[WebhookEndpoint]{}, err
	}
	createdAt, id := cursorArgs(after)
	rows, err := s.q.ListWebhookEndpoints(ctx, db.ListWebhookEndpointsParams{
		OrganizationID:  uuid.UUID(org),
		CursorCreatedAt: createdAt,
		CursorID:        id,
		MaxRows:         limit,
	})
	if err != nil {
		return List[WebhookEndpoint]{}, fmt.Errorf("list webhook endpoints: %w", dbErr(err, nil))
	}
	return paginate(pg, rows,
		limit,
		func(r db.ListWebhookEndpointsRow) WebhookEndpoint {
			return endpointFromRow(db.GetWebhookEndpointRow(r))
		},
		func(r db.ListWebhookEndpointsRow) cursor { return cursor{r.CreatedAt, r.ID} }), nil
}

// endpointDeleted is the lastError of a delivery whose endpoint was deleted
// before it succeeded.
const endpointDeleted = "the endpoint was deleted"

// DeleteWebhookEndpoint deletes an endpoint of org, in tx: its pending
// deliveries fail without another attempt, and an attempt in flight to it is
// waited for (it holds the endpoint's row FOR SHARE), so no attempt starts once
// the delete has committed.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, tx *Tx, org OrgID, id uuid.UUID) error {
	// Deliveries first, then the endpoint: the order an attempt locks them in.
	err := tx.Queue().FailPendingDeliveriesOfEndpoint(ctx, db.FailPendingDeliveriesOfEndpointParams{
		OrganizationID: uuid.UUID(org),
		EndpointID:     id,
		Reason:         endpointDeleted,
	})
	if err != nil {
		return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
	}
	if _, err := tx.Last().DeleteWebhookEndpoint(ctx, db.DeleteWebhookEndpointParams{OrganizationID: uuid.UUID(org), ID: id}); err != nil {
		return fmt.Errorf("delete webhook endpoint %s: %w", id, dbErr(err, ErrWebhookEndpointNotFound))
	}
	return nil
}
