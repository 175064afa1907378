package httpapi

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/service"
)

type orgKey struct{}

// orgFrom returns the organization authenticated for the request. Handlers of
// /v1 routes run only after authenticate stored one.
func orgFrom(ctx context.Context) service.OrgID {
	org, _ := ctx.Value(orgKey{}).(service.OrgID)
	return org
}

// authenticate resolves `Authorization: Bearer <key>` to an organization for every
// /v1 route, before the body is read or validated: a caller without a valid key
// gets 401 and learns nothing else. The service caches valid keys for 500 ms, so
// a revoked key is refused within a second by every server.
func authenticate(svc *service.Service) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if op, _ := operationFrom(c); !op.NeedAuth {
				return next(c)
			}
			key, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				return service.ErrUnauthorized
			}
			r := c.Request()
			org, err := svc.Authenticate(r.Context(), key)
			if err != nil {
				return err
			}
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), orgKey{}, org)))
			return next(c)
		}
	}
}

// bearerToken extracts the credentials of a Bearer Authorization header; the
// scheme is case-insensitive (RFC 9110).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
