package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callsvc/callsvc/internal/service"
)

// Config is what the HTTP layer needs from the program.
type Config struct {
	Service *service.Service
	Logger  *slog.Logger
	// Collectors are more metrics for /metrics, such as the database pool's.
	Collectors []prometheus.Collector
	// ShuttingDown, when set and true, makes /readyz answer 503 while the
	// server still serves, so a load balancer stops sending it requests
	// before it stops accepting them.
	ShuttingDown func() bool
}

// New returns the HTTP handler for the whole API: every operation of the spec,
// behind the middleware chain described in the package doc.
func New(cfg Config) (*echo.Echo, error) {
	if cfg.Service == nil || cfg.Logger == nil {
		return nil, errors.New("httpapi: Service and Logger are required")
	}
	spec, err := loadSpec()
	if err != nil {
		return nil, err
	}
	published, err := GetSpec() // as written, servers included, for /openapi.json
	if err != nil {
		return nil, fmt.Errorf("load embedded openapi spec: %w", err)
	}
	specJSON, err := json.Marshal(published)
	if err != nil {
		return nil, fmt.Errorf("encode openapi spec: %w", err)
	}
	m := newMetrics(cfg.Collectors)
	ops := operations(spec)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	e.Binder = jsonBodyBinder{}
	e.Use(
		serverHeader(),
		withRequestID,
		observe(cfg.Logger, m),
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true, DisableErrorHandler: true}),
		matchRoute(ops),
		withDeadline,
		authenticate(cfg.Service),
		readBody,
		oneIdempotencyKey,
		validateRequest(spec),
	)
	h := newHandlers(cfg, m, specJSON)
	RegisterHandlersWithOptions(withHead{e}, NewStrictHandler(h, nil), RegisterHandlersOptions{
		OperationMiddlewares: map[string][]echo.MiddlewareFunc{"getMetrics": {negotiateMetrics}, "getDocsScript": {negotiateGzip}},
	})
	return e, nil
}

// NewOps returns the handler of a server that serves no API (serve --role
// workers): /healthz, /readyz and /metrics only, with the same request ids, logs
// and problem answers; anything else is 404.
func NewOps(cfg Config) (*echo.Echo, error) {
	if cfg.Service == nil || cfg.Logger == nil {
		return nil, errors.New("httpapi: Service and Logger are required")
	}
	m := newMetrics(cfg.Collectors)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	e.Use(
		withRequestID,
		observe(cfg.Logger, m),
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true, DisableErrorHandler: true}),
	)
	w := ServerInterfaceWrapper{Handler: NewStrictHandler(newHandlers(cfg, m, nil), nil)}
	e.GET("/healthz", w.GetHealthz)
	e.GET("/readyz", w.GetReadyz)
	e.GET("/metrics", w.GetMetrics)
	return e, nil
}

func newHandlers(cfg Config, m *metrics, specJSON []byte) *Handlers {
	h := &Handlers{svc: cfg.Service, metrics: m, specJSON: specJSON, shuttingDown: cfg.ShuttingDown}
	if h.shuttingDown == nil {
		h.shuttingDown = func() bool { return false }
	}
	return h
}

// Routes lists the method and route template of every route e serves, for the
// test that holds the server and the spec to each other. HEAD routes are listed
// too: each mirrors a GET route of the spec (head.go).
func Routes(e *echo.Echo) []string {
	var out []string
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		out = append(out, routeKey(r.Method, r.Path))
	}
	return out
}

// SpecRoutes lists the method and Echo route template of every operation in the
// embedded spec.
func SpecRoutes() ([]string, error) {
	spec, err := loadSpec()
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range operations(spec) {
		out = append(out, k)
	}
	return out, nil
}
