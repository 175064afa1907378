package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/service"
)

const (
	headerIdempotencyKey     = "Idempotency-Key"
	headerIdempotentReplayed = "Idempotent-Replayed"
)

// idempotency makes a POST sent with an Idempotency-Key safe to retry. It runs
// after validation, so only well-formed requests claim a key. The handler runs
// inside service.Idempotent, whose transaction also carries the handler's writes:
// its answer is recorded, stored with them when it is a 2xx, and only then sent.
// A replay sends the stored status, Location and body, marked Idempotent-Replayed.
func idempotency(svc *service.Service) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			key := r.Header.Get(headerIdempotencyKey)
			if key == "" || r.Method != http.MethodPost {
				return next(c)
			}
			body, err := io.ReadAll(r.Body) // already buffered and bounded by readBody
			if err != nil {
				return err
			}
			r.Body = io.NopCloser(bytes.NewReader(body))

			req := service.IdempotentRequest{Key: key, Method: r.Method, Path: r.URL.Path, Body: body}
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
