package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// HEAD works wherever GET does (RFC 9110, 9.3.2): the same status and headers, no
// body. Each GET route is also registered for HEAD, with the same handler
// (withHead); matchRoute then hands the rest of the chain a GET request, so the
// validator and the handler do what they do for GET. net/http drops the body,
// because the connection's own request is still HEAD. The spec lists GET only;
// the Allow header of a 405 lists HEAD beside it (allowHeaders).

// withHead is the router the generated RegisterHandlers fills: it registers
// every GET route for HEAD too.
type withHead struct{ *echo.Echo }

func (r withHead) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	r.Echo.HEAD(path, h, m...)
	return r.Echo.GET(path, h, m...)
}

const headKey = "callsvc.head"

// asGet gives the rest of the chain a GET copy of a HEAD request, and notes that
// it was HEAD (requestMethod). The original request, which net/http holds, stays
// HEAD, so the body the handler writes is not sent.
func asGet(c echo.Context) {
	get := *c.Request()
	get.Method = http.MethodGet
	c.SetRequest(&get)
	c.Set(headKey, true)
}

// requestMethod is the method the client sent: HEAD for a HEAD served as GET.
func requestMethod(c echo.Context) string {
	if head, _ := c.Get(headKey).(bool); head {
		return http.MethodHead
	}
	return c.Request().Method
}
