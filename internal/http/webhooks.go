package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/callsvc/callsvc/internal/service"
)

func toWebhookEndpoint(e service.WebhookEndpoint) WebhookEndpoint {
	return WebhookEndpoint{
		Id:          e.ID,
		Url:         e.URL,
		EventTypes:  mapItems(e.EventTypes, func(t service.EventType) WebhookEventType { return WebhookEventType(t) }),
		Description: nullableOf(e.Description),
		CreatedAt:   e.CreatedAt.UTC(),
	}
}

func toDelivery(d service.Delivery) Delivery {
	return Delivery{
		Id:                 d.ID,
		EndpointId:         d.EndpointID,
		EventId:            d.EventID,
		EventType:          WebhookEventType(d.EventType),
		Status:             DeliveryStatus(d.Status),
		Attempts:           d.Attempts,
		LastAttemptAt:      nullableTime(d.LastAttemptAt),
		LastResponseStatus: nullableOf(d.LastResponseStatus),
		LastError:          nullableOf(d.LastError),
		NextAttemptAt:      nullableTime(d.NextAttemptAt),
		CreatedAt:          d.CreatedAt.UTC(),
	}
}

func (h *Handlers) CreateWebhookEndpoint(ctx context.Context, req CreateWebhookEndpointRequestObject) (CreateWebhookEndpointResponseObject, error) {
	in := service.NewWebhookEndpoint{URL: req.Body.Url}
	if req.Body.EventTypes != nil {
		in.EventTypes = mapItems(*req.Body.EventTypes, func(t WebhookEventType) service.EventType { return service.EventType(t) })
	}
	if d, err := req.Body.Description.Get(); err == nil {
		in.Description = &d
	}
	// The URL's host is looked up here, before a transaction holds a connection.
	prepared, err := h.svc.PrepareWebhookEndpoint(ctx, in)
	if err != nil {
		return nil, err
	}
	resp, err := write(ctx, h, req.Params.IdempotencyKey, "/v1/webhook-endpoints",
		func(tx *service.Tx) (service.CreatedWebhookEndpoint, error) {
			return h.svc.CreateWebhookEndpoint(ctx, tx, orgFrom(ctx), prepared)
		},
		func(e service.CreatedWebhookEndpoint) CreateWebhookEndpointResponseObject {
			ep := toWebhookEndpoint(e.WebhookEndpoint)
			return CreateWebhookEndpoint201JSONResponse{
				Body: WebhookEndpointCreated{
					Id:          ep.Id,
					Url:         ep.Url,
					EventTypes:  ep.EventTypes,
					Description: ep.Description,
					CreatedAt:   ep.CreatedAt,
					Secret:      e.Secret,
				},
				Headers: CreateWebhookEndpoint201ResponseHeaders{Location: "/v1/webhook-endpoints/" + e.ID.String()},
			}
		},
		CreateWebhookEndpointResponseObject.VisitCreateWebhookEndpointResponse,
		sensitive)
	if prob, ok := problemFor(ctx, err); ok && prob.Status == http.StatusUnprocessableEntity {
		if errors.Is(err, service.ErrWebhookURLNotAllowed) {
			prob.Detail = urlNotAllowedDetail(err)
		}
		return CreateWebhookEndpoint422ApplicationProblemPlusJSONResponse{WebhookEndpointRejectedApplicationProblemPlusJSONResponse{Body: prob}}, nil
	}
	return resp, err
}

func (h *Handlers) ListWebhookEndpoints(ctx context.Context, req ListWebhookEndpointsRequestObject) (ListWebhookEndpointsResponseObject, error) {
	list, err := h.svc.ListWebhookEndpoints(ctx, orgFrom(ctx), page(req.Params.Limit, req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	return ListWebhookEndpoints200JSONResponse{Body: WebhookEndpointList{
		Items:      mapItems(list.Items, toWebhookEndpoint),
		NextCursor: nullableOf(list.NextCursor),
	}}, nil
}

func (h *Handlers) GetWebhookEndpoint(ctx context.Context, req GetWebhookEndpointRequestObject) (GetWebhookEndpointResponseObject, error) {
	e, err := h.svc.GetWebhookEndpoint(ctx, orgFrom(ctx), req.EndpointId)
	if prob, ok := problemFor(ctx, err); ok && prob.Status == http.StatusNotFound {
		return GetWebhookEndpoint404ApplicationProblemPlusJSONResponse{WebhookEndpointNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
	}
	if err != nil {
		return nil, err
	}
	return GetWebhookEndpoint200JSONResponse{Body: toWebhookEndpoint(e)}, nil
}

func (h *Handlers) DeleteWebhookEndpoint(ctx context.Context, req DeleteWebhookEndpointRequestObject) (DeleteWebhookEndpointResponseObject, error) {
	err := h.svc.InTx(ctx, func(tx *service.Tx) error {
		return h.svc.DeleteWebhookEndpoint(ctx, tx, orgFrom(ctx), req.EndpointId)
	})
	if prob, ok := problemFor(ctx, err); ok && prob.Status == http.StatusNotFound {
		return DeleteWebhookEndpoint404ApplicationProblemPlusJSONResponse{WebhookEndpointNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
	}
	if err != nil {
		return nil, err
	}
	return DeleteWebhookEndpoint204Response{}, nil
}

func (h *Handlers) ListWebhookDeliveries(ctx context.Context, req ListWebhookDeliveriesRequestObject) (ListWebhookDeliveriesResponseObject, error) {
	var status *service.DeliveryStatus
	if req.Params.Status != nil {
		st := service.DeliveryStatus(*req.Params.Status)
		status = &st
	}
	list, err := h.svc.ListWebhookDeliveries(ctx, orgFrom(ctx), req.EndpointId, status, page(req.Params.Limit, req.Params.Cursor))
	if prob, ok := problemFor(ctx, err); ok && prob.Status == http.StatusNotFound {
		return ListWebhookDeliveries404ApplicationProblemPlusJSONResponse{WebhookEndpointNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
	}
	if err != nil {
		return nil, err
	}
	return ListWebhookDeliveries200JSONResponse{Body: DeliveryList{
		Items:      mapItems(list.Items, toDelivery),
		NextCursor: nullableOf(list.NextCursor),
	}}, nil
}
