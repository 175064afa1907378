package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/service"
)

const (
	headerIdempotencyKey     = "Idempotency-Key"
	headerIdempotentReplayed = "Idempotent-Replayed"
)

// idempotency makes a POST sent with an Idempotency-Key safe to retry. It runs
// after validation, so only well-formed requests claim a key. The key must be
// 1-255 printable ASCII characters; a header sent empty, twice or with anything
// else is 400. The key's scope is the organization, the method and the route with
// its ids compared as UUIDs (idempotencyScope); the body is compared as a JSON
// value (service.IdempotentRequest). The handler runs inside service.Idempotent,
// whose transaction also carries the handler's writes: its answer is recorded,
// stored with them when it is a 2xx, and only then sent. A replay sends the
// stored status, Location and body, marked Idempotent-Replayed.
func idempotency(svc *service.Service) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			keys, sent := r.Header[headerIdempotencyKey]
			if !sent || r.Method != http.MethodPost {
				return next(c)
			}
			if len(keys) != 1 {
				return &service.InvalidInputError{Field: headerIdempotencyKey, Reason: "send one key, in one header"}
			}
			key := keys[0]
			if err := service.CheckIdempotencyKey(key); err != nil {
				return err
			}
			op, _ := operationFrom(c)
			scope, err := idempotencyScope(c, op)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(r.Body) // already buffered and bounded by readBody
			if err != nil {
				return err
			}
			r.Body = io.NopCloser(bytes.NewReader(body))

			req := service.IdempotentRequest{Key: key, Method: r.Method, Path: scope, Body: body}
			resp, replayed, err := svc.Idempotent(r.Context(), orgFrom(r.Context()), req, func(ctx context.Context) (service.StoredResponse, error) {
				return record(c, ctx, next)
			})
			if err != nil {
				return err
			}
			h := c.Response().Header()
			if resp.Location != "" {
				h.Set(echo.HeaderLocation, resp.Location)
			}
			if replayed {
				h.Set(headerIdempotentReplayed, "true")
			}
			if len(resp.Body) == 0 {
				return c.NoContent(resp.Status)
			}
			if h.Get(echo.HeaderContentType) == "" {
				h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			}
			return c.Blob(resp.Status, h.Get(echo.HeaderContentType), resp.Body)
		}
	}
}

// idempotencyScope is the request's route template with each path parameter
// replaced by the id it holds, in canonical form (a lower-case UUID): every
// spelling of one route and ids is one scope, /v1/calls/ABC…/objections and
// /v1/calls/abc…/objections alike.
func idempotencyScope(c echo.Context, op operation) (string, error) {
	parts := strings.Split(op.Path, "/")
	for i, part := range parts {
		name, ok := strings.CutPrefix(part, ":")
		if !ok {
			continue
		}
		id, err := uuid.Parse(c.Param(name))
		if err != nil { // the validator has refused it already
			return "", &service.InvalidInputError{Field: name, Reason: "must be a valid uuid"}
		}
		parts[i] = id.String()
	}
	return strings.Join(parts, "/"), nil
}

// record runs next with ctx, capturing what it writes instead of sending it.
// Headers it sets land on the real response (they are sent with the answer).
func record(c echo.Context, ctx context.Context, next echo.HandlerFunc) (service.StoredResponse, error) {
	res := c.Response()
	orig, origReq := res.Writer, c.Request()
	rec := &recorder{header: orig.Header()}
	res.Writer = rec
	c.SetRequest(origReq.WithContext(ctx))
	defer func() {
		res.Writer, res.Committed, res.Size = orig, false, 0
		c.SetRequest(origReq)
	}()
	if err := next(c); err != nil {
		return service.StoredResponse{}, err
	}
	return service.StoredResponse{
		Status:   rec.status,
		Location: rec.header.Get(echo.HeaderLocation),
		Body:     rec.body.Bytes(),
	}, nil
}

// recorder is an http.ResponseWriter that keeps the status and body.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
