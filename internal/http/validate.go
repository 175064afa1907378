package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	oapimw "github.com/oapi-codegen/echo-middleware"
)

// validateRequest checks every /v1 request against the spec before its handler
// runs: parameters, headers and body (types, required and unknown fields, enums,
// formats, bounds). A failure is 400 invalid_request whose detail names the field.
// Authentication already ran, so the security requirement is not checked again.
func validateRequest(spec *openapi3.T) echo.MiddlewareFunc {
	return oapimw.OapiRequestValidatorWithOptions(spec, &oapimw.Options{
		Options: openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		},
		Skipper: func(c echo.Context) bool {
			op, _ := operationFrom(c)
			return !op.NeedAuth // the routes outside /v1 take no input
		},
		ErrorHandler: func(c echo.Context, he *echo.HTTPError) error {
			if he.Code != http.StatusBadRequest {
				return he // not a validation failure: the error handler decides
			}
			if wrongMediaType(he.Internal) {
				return echo.ErrUnsupportedMediaType // a JSON type this operation does not take
			}
			ctx := c.Request().Context()
			return writeProblem(c, newProblem(ctx, http.StatusBadRequest, ProblemCodeInvalidRequest, describeInvalid(he.Internal)))
		},
	})
}

// wrongMediaType reports whether the validator refused the body's media type
// (readBody lets both JSON types through; each operation's spec lists its own).
func wrongMediaType(err error) bool {
	var re *openapi3filter.RequestError
	return errors.As(err, &re) && strings.HasPrefix(re.Reason, "header Content-Type has unexpected value")
}

// describeInvalid turns a kin-openapi validation error into "field: reason",
// without the schema dump kin-openapi appends.
func describeInvalid(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return "request: does not match the API description"
	}
	field, reason := "body", re.Reason
	if re.Parameter != nil {
		field = re.Parameter.Name
	}
	var se *openapi3.SchemaError
	var pe *openapi3filter.ParseError
	switch {
	case errors.As(re.Err, &se):
		if p := se.JSONPointer(); len(p) > 0 && re.Parameter == nil {
			field = strings.Join(p, ".")
		}
		reason = se.Reason
		if m := unsupportedProperty.FindStringSubmatch(reason); m != nil {
			// kin-openapi points at the object; name the field itself.
			if field == "body" {
				field = m[1]
			} else {
				field += "." + m[1]
			}
		}
		reason = plainReason(se, reason)
	case errors.As(re.Err, &pe) && re.Parameter != nil:
		reason = "invalid value: " + firstLine(pe.Reason)
	case errors.As(re.Err, &pe):
		reason = "malformed JSON: " + firstLine(pe.Error())
	case re.Err != nil && reason == "":
		reason = re.Err.Error()
	}
	if reason == "" {
		reason = "invalid"
	}
	return field + ": " + firstLine(reason)
}

// plainReason rewrites the few kin-openapi reasons that read badly: a format
// failure shows its regexp, an integer bound prints as a float (2.147483647e+09).
func plainReason(se *openapi3.SchemaError, reason string) string {
	sch := se.Schema
	if sch == nil {
		return reason
	}
	switch {
	case se.SchemaField == "format":
		return "must be a valid " + sch.Format
	case se.SchemaField == "pattern" && sch.Pattern == "^[ -~]+$": // Idempotency-Key
		return "must be printable ASCII characters (space to ~)"
	case se.SchemaField == "maximum" && sch.Max != nil && sch.Type.Is("integer"):
		return fmt.Sprintf("number must be at most %d", int64(*sch.Max))
	case se.SchemaField == "minimum" && sch.Min != nil && sch.Type.Is("integer"):
		return fmt.Sprintf("number must be at least %d", int64(*sch.Min))
	case se.SchemaField == "nullable":
		return "must not be null"
	}
	return reason
}

var unsupportedProperty = regexp.MustCompile(`^property "([^"]+)" is unsupported$`)

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
