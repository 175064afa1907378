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
	o, err := h.svc.AddObjection(ctx, orgFrom(ctx), req.CallId, in)
	if prob, ok := problemFor(ctx, err); ok {
		switch prob.Status {
		case http.StatusNotFound:
			return CreateObjection404ApplicationProblemPlusJSONResponse{CallNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
		case http.StatusConflict:
			return CreateObjection409ApplicationProblemPlusJSONResponse{ObjectionConflictApplicationProblemPlusJSONResponse{Body: prob}}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return CreateObjection201JSONResponse{
		Body: toObjection(o),
		// Objections have no URL of their own: Location is the call's list.
		Headers: CreateObjection201ResponseHeaders{Location: "/v1/calls/" + req.CallId.String() + "/objections"},
	}, nil
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
