package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/ijson"
	"github.com/callsvc/callsvc/internal/service"
)

// maxBodyBytes bounds a request body (the contract's 64 KiB).
const maxBodyBytes = 64 << 10

// readBody enforces the body rules of operations that take one, after
// authentication and before validation: over 64 KiB is 413 (by Content-Length
// before reading anything, else after reading at most one byte more than
// allowed); a body that is not application/json, or not in UTF-8, is 415; a body
// that is not exactly one I-JSON value (ijson.Check: trailing data, a member name
// twice, invalid UTF-8, a lone surrogate, \u0000, a number beyond a double) is
// 400 naming the field. The body is then buffered, so the validator and the
// handler both read it from memory, and kept in the request's context for the
// Idempotency-Key's fingerprint (write). A POST without a body of its own is
// read too: a key sent again with another body is refused even there.
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
		if op.HasBody {
			if !isJSON(r.Header.Get(echo.HeaderContentType), len(body)) {
				return echo.ErrUnsupportedMediaType
			}
			if len(body) > 0 { // an empty body is the validator's to judge
				if err := ijson.Check(body); err != nil {
					return invalidJSON(err)
				}
			}
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

// invalidJSON turns an ijson error into the service's invalid input (400).
func invalidJSON(err error) error {
	var e *ijson.Error
	if errors.As(err, &e) {
		return &service.InvalidInputError{Field: e.Field(), Reason: e.Reason}
	}
	return &service.InvalidInputError{Field: "body", Reason: "malformed JSON"}
}

// isJSON accepts application/json, and RFC 7396's application/merge-patch+json
// (the validator then holds each operation to the media types its spec lists),
// in UTF-8: a charset parameter, if any, must say utf-8 (in any case, quoted or
// not), since a body in another charset would be misread, not converted. An empty
// body without a Content-Type is let through, so the validator can say the body
// is missing (400) rather than of the wrong type.
func isJSON(contentType string, n int) bool {
	if contentType == "" {
		return n == 0
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != echo.MIMEApplicationJSON && mt != mimeMergePatch) {
		return false
	}
	charset, ok := params["charset"]
	return !ok || strings.EqualFold(charset, "utf-8")
}

const mimeMergePatch = "application/merge-patch+json"

// jsonBodyBinder binds request bodies for the generated handlers. Echo's default
// binder knows application/json only; the API also takes RFC 7396's
// application/merge-patch+json for PATCH, which is JSON too. readBody and the
// validator have already checked the media type and the body by the time a
// handler binds, and path and query parameters are bound by the generated code.
//
// It decodes with encoding/json/v2's semantics (go-json-experiment), whose
// errors carry a JSON pointer, so what the validator lets through and the Go
// type does not take — an integer written 1.0 or 1e3 — is 400 naming the field.
type jsonBodyBinder struct{}

func (jsonBodyBinder) Bind(i any, c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return &echo.HTTPError{Code: http.StatusBadRequest, Message: "the request body could not be read", Internal: err}
	}
	err = json.Unmarshal(body, i)
	var se *json.SemanticError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && se.JSONKind == '0':
		return &service.InvalidInputError{Field: ijson.FieldName(se.JSONPointer), Reason: "must be an integer, written without a fraction or exponent"}
	case errors.As(err, &se):
		return &service.InvalidInputError{Field: ijson.FieldName(se.JSONPointer), Reason: "has the wrong type"}
	}
	return &echo.HTTPError{Code: http.StatusBadRequest, Message: "malformed JSON", Internal: err}
}
