package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/telemetry"
)

// contentTypeProblem is RFC 9457's media type for problem documents.
const contentTypeProblem = "application/problem+json"

// retryAfterSeconds is what a 503 asks clients to wait.
const retryAfterSeconds = 1

// newProblem builds the problem document for status and code; requestId comes
// from ctx, so it always equals the X-Request-Id header of the same answer, and
// so does traceId, the request's trace when the server traces.
func newProblem(ctx context.Context, status int, code ProblemCode, detail string) Problem {
	p := Problem{
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		Code:      code,
		RequestId: requestIDFrom(ctx),
	}
	if id := telemetry.TraceID(ctx); id != "" {
		p.TraceId = &id
	}
	return p
}

// writeProblem renders p on c, with the headers its status requires.
func writeProblem(c echo.Context, p Problem) error {
	h := c.Response().Header()
	switch p.Status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="callsvc"`)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return c.Blob(p.Status, contentTypeProblem, body)
}
