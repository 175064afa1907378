package httpapi

import (
	"errors"
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/service"
)

// errorHandler is Echo's HTTPErrorHandler: every error a handler or middleware
// returns ends here and leaves as problem+json. Unexpected ones are logged with
// the request id; the client sees only a generic detail.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		ctx := c.Request().Context()
		f, expected := classify(err)
		switch {
		case !expected:
			log.ErrorContext(ctx, "request failed",
				"request_id", requestIDFrom(ctx),
				"method", c.Request().Method,
				"route", c.Path(),
				"status", f.Status,
				"err", err)
		case errors.Is(err, service.ErrInvalidData):
			log.WarnContext(ctx, "the database refused a value that passed validation",
				"request_id", requestIDFrom(ctx),
				"method", c.Request().Method,
				"route", c.Path(),
				"err", err)
		}
		if c.Response().Committed {
			return // the handler already started its answer; nothing sane to add
		}
		if werr := writeProblem(c, newProblem(ctx, f.Status, f.Code, f.Detail)); werr != nil {
			log.WarnContext(ctx, "write problem", "request_id", requestIDFrom(ctx), "err", werr)
		}
	}
}
