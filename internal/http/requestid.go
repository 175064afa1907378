package httpapi

import (
	"context"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

const headerRequestID = "X-Request-Id"

type requestIDKey struct{}

// requestIDFrom returns the request id stored by withRequestID, or "".
func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// withRequestID gives every request an id: the client's X-Request-Id when it is
// 1-200 printable ASCII characters (so it is safe in logs and headers), else a
// new UUID. It is set on the response at once, so every answer carries it,
// and stored in the request context for problem documents and logs.
func withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(headerRequestID)
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		c.Response().Header().Set(headerRequestID, id)
		r := c.Request()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		return next(c)
	}
}

func validRequestID(id string) bool {
	if len(id) < 1 || len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}
