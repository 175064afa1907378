package httpapi

import (
	"context"
	"net/http"

	"github.com/callsvc/callsvc/internal/service"
)

// Handlers implements the generated strict server by calling the service. Each
// method returns the operation's typed response for the failures the spec lists
// for it (404, 409, 422) and a plain error for everything else, which the one
// error handler renders.
type Handlers struct {
	svc      *service.Service
	metrics  *metrics
	specJSON []byte
	// shuttingDown is true from SIGTERM on: /readyz answers 503.
	shuttingDown func() bool
}

var _ StrictServerInterface = (*Handlers)(nil)

// problemFor renders an expected service error as the problem the error handler
// would render, so a typed response and the error handler never disagree.
func problemFor(ctx context.Context, err error) (Problem, bool) {
	if err == nil {
		return Problem{}, false
	}
	f, expected := classify(err)
	if !expected {
		return Problem{}, false
	}
	return newProblem(ctx, f.Status, f.Code, f.Detail), true
}

// withStatus gives p another status, for the one code the contract answers with
// two statuses: prospect_not_found is 404 on /v1/prospects/{id} but 422 when the
// prospect is named in a request body.
func withStatus(p Problem, status int) Problem {
	p.Status = status
	p.Title = http.StatusText(status)
	return p
}
