package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/common/expfmt"
)

// readyTimeout bounds the readiness ping, so a hung database answers 503 quickly.
const readyTimeout = 2 * time.Second

func (h *Handlers) GetHealthz(ctx context.Context, _ GetHealthzRequestObject) (GetHealthzResponseObject, error) {
	return GetHealthz200JSONResponse{Body: Health{Status: HealthStatusOk}}, nil
}

// GetReadyz answers 503 while the server shuts down, before it asks the
// database: a balancer polling it stops sending requests while the server still
// serves the ones in flight.
func (h *Handlers) GetReadyz(ctx context.Context, _ GetReadyzRequestObject) (GetReadyzResponseObject, error) {
	if h.shuttingDown() {
		return notReady(ctx, "The server is shutting down; retry on another."), nil
	}
	pingCtx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := h.svc.Ping(pingCtx); err != nil {
		return notReady(ctx, failUnavailable.Detail), nil
	}
	return GetReadyz200JSONResponse{Body: Health{Status: HealthStatusOk}}, nil
}

func notReady(ctx context.Context, detail string) GetReadyzResponseObject {
	return GetReadyz503ApplicationProblemPlusJSONResponse{ServiceUnavailableApplicationProblemPlusJSONResponse{
		Body:    newProblem(ctx, failUnavailable.Status, failUnavailable.Code, detail),
		Headers: ServiceUnavailableResponseHeaders{RetryAfter: retryAfterSeconds},
	}}
}

func (h *Handlers) GetOpenAPI(ctx context.Context, _ GetOpenAPIRequestObject) (GetOpenAPIResponseObject, error) {
	return rawResponse{contentType: "application/json", body: h.specJSON}, nil
}

func (h *Handlers) GetDocs(ctx context.Context, _ GetDocsRequestObject) (GetDocsResponseObject, error) {
	return rawResponse{contentType: "text/html; charset=utf-8", body: docsHTML}, nil
}

func (h *Handlers) GetDocsScript(ctx context.Context, _ GetDocsScriptRequestObject) (GetDocsScriptResponseObject, error) {
	const contentType = "text/javascript; charset=utf-8"
	if gz, _ := ctx.Value(takesGzipKey{}).(bool); gz {
		return rawResponse{contentType: contentType, encoding: "gzip", body: docsScriptGzip}, nil
	}
	return rawResponse{contentType: contentType, body: docsScript()}, nil
}

func (h *Handlers) GetMetrics(ctx context.Context, _ GetMetricsRequestObject) (GetMetricsResponseObject, error) {
	families, err := h.metrics.registry.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	format, ok := ctx.Value(metricsFormatKey{}).(expfmt.Format)
	if !ok {
		format = expfmt.NegotiateAccept(nil, metricsFormats...)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return nil, fmt.Errorf("encode metrics: %w", err)
		}
	}
	if closer, ok := enc.(expfmt.Closer); ok { // OpenMetrics ends with "# EOF"
		if err := closer.Close(); err != nil {
			return nil, fmt.Errorf("encode metrics: %w", err)
		}
	}
	return rawResponse{contentType: string(format), body: buf.Bytes()}, nil
}

// metricsFormats are the formats /metrics serves, preferred first: OpenMetrics,
// which alone carries exemplars, when the client asks for it (Prometheus does),
// else the Prometheus text format.
var metricsFormats = []expfmt.Format{expfmt.FmtOpenMetrics_1_0_0, expfmt.FmtOpenMetrics_0_0_1, expfmt.FmtText}

type metricsFormatKey struct{}

// negotiateMetrics picks /metrics' format from the Accept header, which the
// strict handler does not see, and passes it on in the request's context.
func negotiateMetrics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		format := expfmt.NegotiateAccept(r.Header, metricsFormats...)
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderAccept)
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), metricsFormatKey{}, format)))
		return next(c)
	}
}

// rawResponse answers 200 with bytes prepared in advance (the spec as JSON, the
// docs, the metrics text) instead of re-encoding them through the generated
// types, which would turn the spec into a map[string]any on every request.
type rawResponse struct {
	contentType string
	encoding    string // Content-Encoding, when body is encoded
	body        []byte
}

func (r rawResponse) write(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", r.contentType)
	if r.encoding != "" {
		w.Header().Set("Content-Encoding", r.encoding)
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(r.body)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(r.body)
	return err
}

func (r rawResponse) VisitGetOpenAPIResponse(w http.ResponseWriter) error    { return r.write(w) }
func (r rawResponse) VisitGetDocsResponse(w http.ResponseWriter) error       { return r.write(w) }
func (r rawResponse) VisitGetDocsScriptResponse(w http.ResponseWriter) error { return r.write(w) }
func (r rawResponse) VisitGetMetricsResponse(w http.ResponseWriter) error    { return r.write(w) }
