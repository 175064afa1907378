package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/callsvc/callsvc/internal/service"
)

func (h *Handlers) CreateCall(ctx context.Context, req CreateCallRequestObject) (CreateCallResponseObject, error) {
	in := service.NewCall{ProspectID: req.Body.ProspectId}
	if req.Body.Status != nil {
		in.Status = service.CallStatus(*req.Body.Status)
	}
	resp, err := write(ctx, h, req.Params.IdempotencyKey, "/v1/calls",
		func(tx *service.Tx) (service.Call, error) { return h.svc.CreateCall(ctx, tx, orgFrom(ctx), in) },
		func(c service.Call) CreateCallResponseObject {
			return CreateCall201JSONResponse{
				Body:    toCall(c),
				Headers: CreateCall201ResponseHeaders{Location: "/v1/calls/" + c.ID.String()},
			}
		},
		CreateCallResponseObject.VisitCreateCallResponse)
	if errors.Is(err, service.ErrProspectNotFound) {
		// The prospect is named in the body, not the URL: 422, not 404.
		prob, _ := problemFor(ctx, err)
		prob = withStatus(prob, http.StatusUnprocessableEntity)
		prob.Detail = "prospectId: prospect not found."
		return CreateCall422ApplicationProblemPlusJSONResponse{CallCreateRejectedApplicationProblemPlusJSONResponse{Body: prob}}, nil
	}
	return resp, err
}

func (h *Handlers) ListCalls(ctx context.Context, req ListCallsRequestObject) (ListCallsResponseObject, error) {
	var f service.CallFilter
	if req.Params.Status != nil {
		st := service.CallStatus(*req.Params.Status)
		f.Status = &st
	}
	f.ProspectID = req.Params.ProspectId
	list, err := h.svc.ListCalls(ctx, orgFrom(ctx), f, page(req.Params.Limit, req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	return ListCalls200JSONResponse{Body: CallList{
		Items:      mapItems(list.Items, toCall),
		NextCursor: nullableOf(list.NextCursor),
	}}, nil
}

func (h *Handlers) GetCall(ctx context.Context, req GetCallRequestObject) (GetCallResponseObject, error) {
	c, err := h.svc.GetCall(ctx, orgFrom(ctx), req.CallId)
	if errors.Is(err, service.ErrCallNotFound) {
		prob, _ := problemFor(ctx, err)
		return GetCall404ApplicationProblemPlusJSONResponse{CallNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
	}
	if err != nil {
		return nil, err
	}
	return GetCall200JSONResponse{Body: toCall(c)}, nil
}

func (h *Handlers) StartCall(ctx context.Context, req StartCallRequestObject) (StartCallResponseObject, error) {
	resp, err := write(ctx, h, req.Params.IdempotencyKey, "/v1/calls/"+req.CallId.String()+"/start",
		func(tx *service.Tx) (service.Call, error) { return h.svc.StartCall(ctx, tx, orgFrom(ctx), req.CallId) },
		func(c service.Call) StartCallResponseObject { return StartCall200JSONResponse{Body: toCall(c)} },
		StartCallResponseObject.VisitStartCallResponse)
	if prob, ok := problemFor(ctx, err); ok {
		switch prob.Status {
		case http.StatusNotFound:
			return StartCall404ApplicationProblemPlusJSONResponse{CallNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
		case http.StatusConflict:
			return StartCall409ApplicationProblemPlusJSONResponse{CallTransitionConflictApplicationProblemPlusJSONResponse{Body: prob}}, nil
		}
	}
	return resp, err
}

func (h *Handlers) CancelCall(ctx context.Context, req CancelCallRequestObject) (CancelCallResponseObject, error) {
	resp, err := write(ctx, h, req.Params.IdempotencyKey, "/v1/calls/"+req.CallId.String()+"/cancel",
		func(tx *service.Tx) (service.Call, error) { return h.svc.CancelCall(ctx, tx, orgFrom(ctx), req.CallId) },
		func(c service.Call) CancelCallResponseObject { return CancelCall200JSONResponse{Body: toCall(c)} },
		CancelCallResponseObject.VisitCancelCallResponse)
	if prob, ok := problemFor(ctx, err); ok {
		switch prob.Status {
		case http.StatusNotFound:
			return CancelCall404ApplicationProblemPlusJSONResponse{CallNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
		case http.StatusConflict:
			return CancelCall409ApplicationProblemPlusJSONResponse{CallTransitionConflictApplicationProblemPlusJSONResponse{Body: prob}}, nil
		}
	}
	return resp, err
}
