package httpapi

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/telemetry"
)

// unmatchedRoute labels requests that matched no route, so a scan of random
// paths cannot blow up the metrics' cardinality.
const unmatchedRoute = "unmatched"

// observe writes the access log line and the request metrics, and names the
// request's trace span by its route. It renders a returned error itself
// (c.Error) so that it sees the final status, and it returns nil so Echo does
// not render it twice.
func observe(log *slog.Logger, m *metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			elapsed := time.Since(start)
			ctx := c.Request().Context()
			route, method := unmatchedRoute, "other"
			op, matched := operationFrom(c)
			if matched {
				route, method = op.Path, op.Method
			}
			requestID := requestIDFrom(ctx)
			traceRequest(ctx, op, matched, requestID)
			status := c.Response().Status
			code := strconv.Itoa(status)
			m.requests.WithLabelValues(method, route, code).Inc()
			telemetry.Observe(ctx, m.latency.WithLabelValues(method, route, code), elapsed.Seconds())
			// The logger adds trace_id from ctx (telemetry.LogHandler).
			log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", requestMethod(c)),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.Int64("bytes", c.Response().Size),
				slog.String("request_id", requestID),
			)
			return nil
		}
	}
}
