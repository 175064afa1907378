package httpapi

import (
	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/version"
)

// serverHeader names the build on every answer (`Server: callsvc/<version>`), so
// a client's report says which server answered it.
func serverHeader() echo.MiddlewareFunc {
	product := version.Get().Product()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderServer, product)
			return next(c)
		}
	}
}
