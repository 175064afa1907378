package httpapi

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"
)

// requestTimeout bounds the work of one /v1 request, database waits included
// (pool acquire, row locks). A request that runs out answers 503 with
// Retry-After, having changed nothing, instead of holding a connection forever.
const requestTimeout = 15 * time.Second

func withDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if op, _ := operationFrom(c); !op.NeedAuth {
			return next(c)
		}
		r := c.Request()
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}
