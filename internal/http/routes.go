package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

const operationKey = "callsvc.operation"

// operationFrom returns the spec operation the request matched.
func operationFrom(c echo.Context) (operation, bool) {
	op, ok := c.Get(operationKey).(operation)
	return op, ok
}

// allowHeaders lists, per Echo route template, the methods the spec serves
// there, and HEAD wherever it serves GET (headAsGet).
func allowHeaders(ops map[string]operation) map[string]string {
	methods := make(map[string][]string)
	for _, op := range ops {
		methods[op.Path] = append(methods[op.Path], op.Method)
		if op.Method == http.MethodGet {
			methods[op.Path] = append(methods[op.Path], http.MethodHead)
		}
	}
	allow := make(map[string]string, len(methods))
	for path, ms := range methods {
		slices.Sort(ms)
		allow[path] = strings.Join(ms, ", ")
	}
	return allow
}

// matchRoute decides 404 and 405 before anything else looks at the request, and
// records the matched operation for the middleware after it. Echo leaves
// c.Path() set to the nearest route even when it answers 404 or 405 (and would
// answer OPTIONS by itself, outside the spec), so the match is checked against
// the spec's operations; the Allow header lists exactly the spec's methods, and
// HEAD beside GET. A HEAD request is matched to its GET and goes on as one.
func matchRoute(ops map[string]operation) echo.MiddlewareFunc {
	allow := allowHeaders(ops)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			method := c.Request().Method
			if method == http.MethodHead {
				method = http.MethodGet // served as GET when GET is (head.go)
			}
			op, ok := ops[routeKey(method, c.Path())]
			if !ok {
				_, pathMatched := c.Get(echo.ContextKeyHeaderAllow).(string)
				if methods := allow[c.Path()]; pathMatched && methods != "" {
					c.Response().Header().Set(echo.HeaderAllow, methods)
					return echo.ErrMethodNotAllowed
				}
				return echo.ErrNotFound
			}
			if c.Request().Method == http.MethodHead {
				asGet(c)
			}
			c.Set(operationKey, op)
			return next(c)
		}
	}
}
