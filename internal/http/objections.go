package httpapi

import (
	"context"
	"net/http"

	"github.com/callsvc/callsvc/internal/service"
)

func (h *Handlers) CreateObjection(ctx context.Context, req CreateObjectionRequestObject) (CreateObjectionResponseObject, error) {
	in := service.NewObjection{
		Objection: req.Body.Objection,
		Outcome:   service.ObjectionOutcome(req.Body.Outcome),
	}
	if r, err := req.Body.Response.Get(); err == nil {
		in.Response = &r
	}
	list := "/v1/calls/" + req.CallId.String() + "/objections"
	resp, err := write(ctx, h, req.Params.IdempotencyKey, list,
		func(tx *service.Tx) (service.Objection, error) {
			return h.svc.CreateObjection(ctx, tx, orgFrom(ctx), req.CallId, in)
		},
		func(o service.Objection) CreateObjectionResponseObject {
			return CreateObjection201JSONResponse{
				Body: toObjection(o),
				// Objections have no URL of their own: Location is the call's list.
				Headers: CreateObjection201ResponseHeaders{Location: list},
			}
		},
		CreateObjectionResponseObject.VisitCreateObjectionResponse)
	if prob, ok := problemFor(ctx, err); ok {
		switch prob.Status {
		case http.StatusNotFound:
			return CreateObjection404ApplicationProblemPlusJSONResponse{CallNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
		case http.StatusConflict:
			return CreateObjection409ApplicationProblemPlusJSONResponse{ObjectionConflictApplicationProblemPlusJSONResponse{Body: prob}}, nil
		}
	}
	return resp, err
}

func (h *Handlers) ListObjections(ctx context.Context, req ListObjectionsRequestObject) (ListObjectionsResponseObject, error) {
	list, err := h.svc.ListObjections(ctx, orgFrom(ctx), req.CallId, page(req.Params.Limit, req.Params.Cursor))
	if prob, ok := problemFor(ctx, err); ok && prob.Status == http.StatusNotFound {
		return ListObjections404ApplicationProblemPlusJSONResponse{CallNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
	}
	if err != nil {
		return nil, err
	}
	return ListObjections200JSONResponse{Body: ObjectionList{
		Items:      mapItems(list.Items, toObjection),
		NextCursor: nullableOf(list.NextCursor),
	}}, nil
}
