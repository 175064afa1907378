package httpapi

import (
	"context"
	"net/http"

	"github.com/callsvc/callsvc/internal/service"
)

// outcomeCreated labels accepted outcomes in callsvc_outcomes_total; refusals
// are labelled with their problem code.
const outcomeCreated = "created"

func (h *Handlers) CreateOutcome(ctx context.Context, req CreateOutcomeRequestObject) (CreateOutcomeResponseObject, error) {
	in := service.NewOutcome{
		OutcomeType:        service.OutcomeType(req.Body.OutcomeType),
		QualificationFlags: req.Body.QualificationFlags,
	}
	if r, err := req.Body.DisqualificationReason.Get(); err == nil {
		in.DisqualificationReason = &r
	}
	location := "/v1/calls/" + req.CallId.String() + "/outcome"
	decided := false // the service decided (not a replay, not a refused key)
	resp, err := write(ctx, h, req.Params.IdempotencyKey, location,
		func(tx *service.Tx) (service.Outcome, error) {
			decided = true
			return h.svc.CreateOutcome(ctx, tx, orgFrom(ctx), req.CallId, in)
		},
		func(o service.Outcome) CreateOutcomeResponseObject {
			return CreateOutcome201JSONResponse{
				Body:    toOutcome(o),
				Headers: CreateOutcome201ResponseHeaders{Location: location},
			}
		},
		CreateOutcomeResponseObject.VisitCreateOutcomeResponse)
	if decided {
		h.countOutcome(req.Body.OutcomeType, err)
	}
	if prob, ok := problemFor(ctx, err); ok {
		switch prob.Status {
		case http.StatusNotFound:
			return CreateOutcome404ApplicationProblemPlusJSONResponse{CallNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
		case http.StatusConflict:
			return CreateOutcome409ApplicationProblemPlusJSONResponse{OutcomeConflictApplicationProblemPlusJSONResponse{Body: prob}}, nil
		case http.StatusUnprocessableEntity:
			return CreateOutcome422ApplicationProblemPlusJSONResponse{OutcomeRejectedApplicationProblemPlusJSONResponse{Body: prob}}, nil
		}
	}
	return resp, err
}

// countOutcome counts an outcome request the service decided, by the type asked
// for and its answer. The type passed the spec's enum before it got here; the
// check keeps the label's values to that enum whatever changes in front of it.
func (h *Handlers) countOutcome(typ OutcomeType, err error) {
	result := outcomeCreated
	if err != nil {
		f, _ := classify(err)
		result = string(f.Code)
	}
	if !typ.Valid() {
		typ = "other"
	}
	h.metrics.outcomes.WithLabelValues(string(typ), result).Inc()
}

func (h *Handlers) GetOutcome(ctx context.Context, req GetOutcomeRequestObject) (GetOutcomeResponseObject, error) {
	o, err := h.svc.GetOutcome(ctx, orgFrom(ctx), req.CallId)
	if prob, ok := problemFor(ctx, err); ok && prob.Status == http.StatusNotFound {
		return GetOutcome404ApplicationProblemPlusJSONResponse{CallOrOutcomeNotFoundApplicationProblemPlusJSONResponse{Body: prob}}, nil
	}
	if err != nil {
		return nil, err
	}
	return GetOutcome200JSONResponse{Body: toOutcome(o)}, nil
}
