package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"
)

// maxBodyBytes bounds a request body (the contract's 64 KiB).
const maxBodyBytes = 64 << 10

// readBody enforces the body rules of operations that take one, after
// authentication and before validation: over 64 KiB is 413 (by Content-Length
// before reading anything, else after reading at most one byte more than
// allowed), a body that is not application/json is 415. The body is then
// buffered, so the validator and the handler both read it from memory, and kept
// in the request's context for the Idempotency-Key's fingerprint (write). A POST
// without a body of its own is read too: a key sent again with another body
// is refused even there.
func readBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		op, _ := operationFrom(c)
		if !op.HasBody && op.Method != http.MethodPost {
			return next(c)
		}
		r := c.Request()
		if r.ContentLength > maxBodyBytes {
			return echo.ErrStatusRequestEntityTooLarge
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil {
			return &echo.HTTPError{Code: http.StatusBadRequest, Message: "the request body could not be read", Internal: err}
		}
		if len(body) > maxBodyBytes {
			return echo.ErrStatusRequestEntityTooLarge
		}
		if op.HasBody && !isJSON(r.Header.Get(echo.HeaderContentType), len(body)) {
			return echo.ErrUnsupportedMediaType
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), rawBodyKey{}, body)))
		return next(c)
	}
}

type rawBodyKey struct{}

// rawBodyFrom returns the request body readBody kept.
func rawBodyFrom(ctx context.Context) []byte {
	b, _ := ctx.Value(rawBodyKey{}).([]byte)
	return b
}

// isJSON accepts application/json, and RFC 7396's application/merge-patch+json
// (the validator then holds each operation to the media types its spec lists),
// with any parameters (charset). An empty body without a Content-Type is let
// through, so the validator can say the body is missing (400) rather than of the
// wrong type.
func isJSON(contentType string, n int) bool {
	if contentType == "" {
		return n == 0
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == echo.MIMEApplicationJSON || mt == mimeMergePatch)
}

const mimeMergePatch = "application/merge-patch+json"

// jsonBodyBinder binds request bodies for the generated handlers. Echo's default
// binder knows application/json only; the API also takes RFC 7396's
// application/merge-patch+json for PATCH, which is JSON too. readBody and the
// validator have already checked the media type and the body by the time a
// handler binds, and path and query parameters are bound by the generated code.
type jsonBodyBinder struct{}

func (jsonBodyBinder) Bind(i any, c echo.Context) error {
	if err := json.NewDecoder(c.Request().Body).Decode(i); err != nil {
		return &echo.HTTPError{Code: http.StatusBadRequest, Message: "malformed JSON", Internal: err}
	}
	return nil
}
