package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/service"
)

const (
	headerIdempotencyKey     = "Idempotency-Key"
	headerIdempotentReplayed = "Idempotent-Replayed"
)

// oneIdempotencyKey refuses a POST that sends the Idempotency-Key header more
// than once (400): which of them would count is anybody's guess. The key's
// own form is service.CheckIdempotencyKey's to judge.
func oneIdempotencyKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); r.Method == http.MethodPost && len(r.Header.Values(headerIdempotencyKey)) > 1 {
			return &service.InvalidInputError{Field: headerIdempotencyKey, Reason: "send one key, in one header"}
		}
		return next(c)
	}
}

// write runs do, an operation's writes, in one transaction and renders its
// result with render. Without an Idempotency-Key the transaction is the
// operation's own (service.InTx). With one it is the key's (service.Idempotent):
// the rendered answer, as visit writes it, is stored with the writes in the same
// transaction, and a retry with the same key and body gets it back byte for
// byte, marked Idempotent-Replayed. A failure stores nothing; the handler turns
// it into its typed answer as usual.
//
// The key's scope is the organization, the method and path, which the handler
// builds from its parsed ids (so an id's spelling does not matter); requests
// are compared by body, as JSON values (service.IdempotentRequest).
func write[T, R any](ctx context.Context, h *Handlers, key *string, path string,
	do func(tx *service.Tx) (T, error), render func(T) R, visit func(R, http.ResponseWriter) error,
	opts ...writeOption,
) (R, error) {
	var resp R
	if key == nil {
		var out T
		err := h.svc.InTx(ctx, func(tx *service.Tx) (err error) {
			out, err = do(tx)
			return err
		})
		if err != nil {
			return resp, err
		}
		return render(out), nil
	}
	req := service.IdempotentRequest{Key: *key, Method: http.MethodPost, Path: path, Body: rawBodyFrom(ctx)}
	for _, opt := range opts {
		opt(&req)
	}
	stored, replayed, err := h.svc.Idempotent(ctx, orgFrom(ctx), req, func(tx *service.Tx) (service.StoredResponse, error) {
		out, err := do(tx)
		if err != nil {
			return service.StoredResponse{}, err
		}
		resp = render(out)
		return recordAnswer(resp, visit)
	})
	if err != nil {
		return resp, err
	}
	if replayed {
		return any(replay(stored)).(R), nil
	}
	return resp, nil
}

// writeOption adjusts how write stores an answer.
type writeOption func(*service.IdempotentRequest)

// sensitive marks an answer that shows a secret: it is stored sealed.
func sensitive(r *service.IdempotentRequest) { r.Sensitive = true }

// recordAnswer writes resp as the handler would send it, and keeps it.
func recordAnswer[R any](resp R, visit func(R, http.ResponseWriter) error) (service.StoredResponse, error) {
	rec := &recorder{header: http.Header{}}
	if err := visit(resp, rec); err != nil {
		return service.StoredResponse{}, fmt.Errorf("record answer: %w", err)
	}
	return service.StoredResponse{Status: rec.status, Location: rec.header.Get(echo.HeaderLocation), Body: rec.body.Bytes()}, nil
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

// replay is a stored answer sent again; it answers every POST that takes an
// Idempotency-Key.
type replay service.StoredResponse

func (r replay) write(w http.ResponseWriter) error {
	h := w.Header()
	h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	if r.Location != "" {
		h.Set(echo.HeaderLocation, r.Location)
	}
	h.Set(headerIdempotentReplayed, "true")
	w.WriteHeader(r.Status)
	_, err := w.Write(r.Body)
	return err
}

func (r replay) VisitCreateProspectResponse(w http.ResponseWriter) error  { return r.write(w) }
func (r replay) VisitCreateCallResponse(w http.ResponseWriter) error      { return r.write(w) }
func (r replay) VisitStartCallResponse(w http.ResponseWriter) error       { return r.write(w) }
func (r replay) VisitCancelCallResponse(w http.ResponseWriter) error      { return r.write(w) }
func (r replay) VisitCreateObjectionResponse(w http.ResponseWriter) error { return r.write(w) }
func (r replay) VisitCreateOutcomeResponse(w http.ResponseWriter) error   { return r.write(w) }
func (r replay) VisitCreateWebhookEndpointResponse(w http.ResponseWriter) error {
	return r.write(w)
}
