package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/service"
	"github.com/callsvc/callsvc/internal/webhook"
)

// failure is an error as the API shows it: status, stable code and a detail that
// is safe to show (never the wrapped error text, which may carry SQL or driver words).
type failure struct {
	Status int
	Code   ProblemCode
	Detail string
}

// domainFailures maps each service sentinel to what the contract answers. Other
// organizations' ids hit the same entries as missing ids, so nothing tells them apart.
var domainFailures = []struct {
	err error
	f   failure
}{
	{service.ErrProspectNotFound, failure{http.StatusNotFound, ProblemCodeProspectNotFound, "Prospect not found."}},
	{service.ErrCallNotFound, failure{http.StatusNotFound, ProblemCodeCallNotFound, "Call not found."}},
	{service.ErrOutcomeNotFound, failure{http.StatusNotFound, ProblemCodeOutcomeNotFound, "The call has no outcome."}},
	{service.ErrOutcomeExists, failure{http.StatusConflict, ProblemCodeOutcomeExists, "The call already has an outcome."}},
	{service.ErrCallNotInProgress, failure{http.StatusConflict, ProblemCodeCallNotInProgress, "The call is not in progress."}},
	{service.ErrInvalidCallTransition, failure{http.StatusConflict, ProblemCodeInvalidCallTransition, "The call's status does not allow this transition."}},
	{service.ErrDisqualificationReasonRequired, failure{http.StatusUnprocessableEntity, ProblemCodeDisqualificationReasonRequired, "disqualificationReason: required (non-blank) when outcomeType is Disqualified."}},
	{service.ErrDisqualificationReasonNotAllowed, failure{http.StatusUnprocessableEntity, ProblemCodeDisqualificationReasonNotAllowed, "disqualificationReason: only allowed when outcomeType is Disqualified."}},
	{service.ErrOutcomeNotAllowedInAdvisoryMode, failure{http.StatusUnprocessableEntity, ProblemCodeOutcomeNotAllowedInAdvisoryMode, "In advisory mode only Follow_up_Scheduled and Disqualified are allowed."}},
	{service.ErrIdempotencyKeyReused, failure{http.StatusUnprocessableEntity, ProblemCodeIdempotencyKeyReused, "This Idempotency-Key was used with a different request."}},
	{service.ErrIdempotencyKeyInUse, failure{http.StatusConflict, ProblemCodeIdempotencyKeyInUse, "A request with this Idempotency-Key is still in flight; retry later."}},
	{service.ErrUnauthorized, failure{http.StatusUnauthorized, ProblemCodeUnauthorized, "A valid API key is required."}},
	{service.ErrWebhookEndpointNotFound, failure{http.StatusNotFound, ProblemCodeWebhookEndpointNotFound, "Webhook endpoint not found."}},
	{service.ErrWebhookURLNotAllowed, failure{http.StatusUnprocessableEntity, ProblemCodeWebhookUrlNotAllowed, "url: webhooks may not reach the URL's address."}},
	// A value that got past every check before SQL and that PostgreSQL refused:
	// bad input all the same, and a check to add (errorHandler warns).
	{service.ErrInvalidData, failure{http.StatusBadRequest, ProblemCodeInvalidRequest, "body: a value is out of the range the service can store."}},
}

var (
	failUnavailable = failure{http.StatusServiceUnavailable, ProblemCodeServiceUnavailable, "The database is unavailable; retry later."}
	failInternal    = failure{http.StatusInternalServerError, ProblemCodeInternalError, "An unexpected error occurred."}
)

// urlNotAllowedDetail says which address refused a webhook URL, and why: the
// client sent the URL, so naming what it resolves to tells it nothing new.
func urlNotAllowedDetail(err error) string {
	var na *webhook.NotAllowedError
	if errors.As(err, &na) {
		return "url: " + na.Error() + "."
	}
	f, _ := classify(err)
	return f.Detail
}

// classify is the one place that turns an error into an answer. The second
// result is false for failures nobody expected (500, 503), which the caller logs.
func classify(err error) (failure, bool) {
	for _, d := range domainFailures {
		if errors.Is(err, d.err) {
			return d.f, true
		}
	}
	var inv *service.InvalidInputError
	if errors.As(err, &inv) {
		return failure{http.StatusBadRequest, ProblemCodeInvalidRequest, inv.Field + ": " + inv.Reason}, true
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return classifyHTTP(he)
	}
	if unavailable(err) {
		return failUnavailable, false
	}
	return failInternal, false
}

// classifyHTTP maps Echo's own errors (routing, binding, body limits).
func classifyHTTP(he *echo.HTTPError) (failure, bool) {
	msg := fmt.Sprint(he.Message)
	switch he.Code {
	case http.StatusBadRequest:
		return failure{he.Code, ProblemCodeInvalidRequest, "body: " + msg}, true
	case http.StatusUnauthorized:
		return failure{he.Code, ProblemCodeUnauthorized, "A valid API key is required."}, true
	case http.StatusNotFound:
		return failure{he.Code, ProblemCodeNotFound, "No such route."}, true
	case http.StatusMethodNotAllowed:
		return failure{he.Code, ProblemCodeMethodNotAllowed, "The route does not allow this method; see the Allow header."}, true
	case http.StatusRequestEntityTooLarge:
		return failure{he.Code, ProblemCodeRequestTooLarge, fmt.Sprintf("The request body must be at most %d bytes.", maxBodyBytes)}, true
	case http.StatusUnsupportedMediaType:
		return failure{he.Code, ProblemCodeUnsupportedMediaType, "The request body must be application/json (PATCH also takes application/merge-patch+json)."}, true
	case http.StatusServiceUnavailable:
		return failUnavailable, false
	}
	return failInternal, false
}

// unavailable reports whether err means the request could not be served now
// and changed nothing, so a retry may succeed: the database is out of reach or
// lost mid-request (the service says ErrUnavailable), or the request's deadline
// passed or its client left.
func unavailable(err error) bool {
	return errors.Is(err, service.ErrUnavailable) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled)
}
