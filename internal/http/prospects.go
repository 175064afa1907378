package httpapi

import (
	"context"
	"errors"
	"math"

	"github.com/callsvc/callsvc/internal/service"
)

func (h *Handlers) CreateProspect(ctx context.Context, req CreateProspectRequestObject) (CreateProspectResponseObject, error) {
	in := service.NewProspect{Name: req.Body.Name}
	if n, err := req.Body.ClientCount.Get(); err == nil {
		if in.ClientCount, err = clientCount(n); err != nil {
			return nil, err
		}
	}
	return write(ctx, h, req.Params.IdempotencyKey, "/v1/prospects",
		func(tx *service.Tx) (service.Prospect, error) { return h.svc.CreateProspect(ctx, tx, orgFrom(ctx), in) },
		func(p service.Prospect) CreateProspectResponseObject {
			return CreateProspect201JSONResponse{
				Body:    toProspect(p),
				Headers: CreateProspect201ResponseHeaders{Location: "/v1/prospects/" + p.ID.String()},
			}
		},
		CreateProspectResponseObject.VisitCreateProspectResponse)
}

func (h *Handlers) ListProspects(ctx context.Context, req ListProspectsRequestObject) (ListProspectsResponseObject, error) {
	list, err := h.svc.ListProspects(ctx, orgFrom(ctx), page(req.Params.Limit, req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	return ListProspects200JSONResponse{Body: ProspectList{
		Items:      mapItems(list.Items, toProspect),
		NextCursor: nullableOf(list.NextCursor),
	}}, nil
}

func (h *Handlers) GetProspect(ctx context.Context, req GetProspectRequestObject) (GetProspectResponseObject, error) {
	p, err := h.svc.GetProspect(ctx, orgFrom(ctx), req.ProspectId)
	if errors.Is(err, service.ErrProspectNotFound) {
		prob, _ := problemFor(ctx, err)
		return GetProspect404ApplicationProblemPlusJSONResponse{ProspectNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
	}
	if err != nil {
		return nil, err
	}
	return GetProspect200JSONResponse{Body: toProspect(p)}, nil
}

// UpdateProspect applies a JSON merge patch: an absent field is kept, a null
// clientCount clears it (the nullable type tells absent from null).
func (h *Handlers) UpdateProspect(ctx context.Context, req UpdateProspectRequestObject) (UpdateProspectResponseObject, error) {
	body := req.JSONBody // application/json, or RFC 7396's own media type:
	if body == nil {
		body = req.ApplicationMergePatchPlusJSONBody
	}
	if body == nil {
		return nil, &service.InvalidInputError{Field: "body", Reason: "a JSON object is required"}
	}
	patch := service.ProspectPatch{Name: body.Name}
	if body.ClientCount.IsSpecified() {
		patch.SetClientCount = true
		if n, err := body.ClientCount.Get(); err == nil {
			if patch.ClientCount, err = clientCount(n); err != nil {
				return nil, err
			}
		}
	}
	var p service.Prospect
	err := h.svc.InTx(ctx, func(tx *service.Tx) (err error) {
		p, err = h.svc.UpdateProspect(ctx, tx, orgFrom(ctx), req.ProspectId, patch)
		return err
	})
	if errors.Is(err, service.ErrProspectNotFound) {
		prob, _ := problemFor(ctx, err)
		return UpdateProspect404ApplicationProblemPlusJSONResponse{ProspectNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
	}
	if err != nil {
		return nil, err
	}
	return UpdateProspect200JSONResponse{Body: toProspect(p)}, nil
}

// clientCount narrows a count to the database's integer. The validator already
// bounds it to 0..2^31-1; this keeps a bad value from wrapping if it ever did not.
func clientCount(n int) (*int32, error) {
	if n < 0 || n > math.MaxInt32 {
		return nil, &service.InvalidInputError{Field: "clientCount", Reason: "must be between 0 and 2147483647"}
	}
	v := int32(n)
	return &v, nil
}
