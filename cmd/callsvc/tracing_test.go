package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/callsvc/callsvc/client"
	"github.com/callsvc/callsvc/internal/dbtest"
	"github.com/callsvc/callsvc/internal/telemetry"
)

// startTracedServer serves what serve serves (newAPI, openPool), traced into
// tp, on 127.0.0.1: the environment cannot hand serve an in-memory exporter.
func startTracedServer(t *testing.T, tp trace.TracerProvider) *testServer {
	t.Helper()
	dbURL := dbtest.NewDatabase(t)
	cfg, err := loadConfig(func(k string) string {
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	})
	require.NoError(t, err)
	tracing := telemetry.New(tp)
	pool, err := openPool(context.Background(), cfg, 4, tracing.PgxTracer())
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	logs := &syncBuffer{}
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(logs, nil)))
	handler, _, err := newAPI(pool, log, tracing, nil, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(handler)
	t.Cleanup(ts.Close)
	direct, err := openPool(context.Background(), cfg, 2, nil)
	require.NoError(t, err)
	t.Cleanup(direct.Close)
	return &testServer{t: t, URL: ts.URL, DBURL: dbURL, DB: direct, logs: logs, router: specRouter(t)}
}

// traceparent returns a W3C traceparent header of a new sampled trace, and
// the trace's and the caller span's ids.
func traceparent(t *testing.T) (header string, traceID trace.TraceID, parent trace.SpanID) {
	t.Helper()
	_, err := rand.Read(traceID[:])
	require.NoError(t, err)
	_, err = rand.Read(parent[:])
	require.NoError(t, err)
	return "00-" + hex.EncodeToString(traceID[:]) + "-" + hex.EncodeToString(parent[:]) + "-01", traceID, parent
}

// send sends a request with extra headers through the checking client.
func (srv *testServer) send(method, path, body, key string, header map[string]string) (*http.Response, []byte) {
	srv.t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(srv.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := srv.httpClient().Do(req)
	require.NoError(srv.t, err)
	return res, readAll(srv.t, res)
}

// traceSpans waits for the server span of trace id (otelhttp ends it once
// the answer is written, maybe after the client read it) and returns every
// span exported so far.
func traceSpans(t *testing.T, spans *tracetest.InMemoryExporter, id trace.TraceID) tracetest.SpanStubs {
	t.Helper()
	require.Eventually(t, func() bool {
		return slices.ContainsFunc(spans.GetSpans(), func(s tracetest.SpanStub) bool {
			return s.SpanContext.TraceID() == id && s.SpanKind == trace.SpanKindServer
		})
	}, 10*time.Second, 5*time.Millisecond, "no server span for trace %s", id)
	return spans.GetSpans()
}

// named returns the one span of got with the name, failing otherwise.
func named(t *testing.T, got tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range got {
		if s.Name == name {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "spans named %q", name)
	return found[0]
}

// childNames lists the names of parent's children, by start time.
func childNames(got tracetest.SpanStubs, parent tracetest.SpanStub) []string {
	var kids tracetest.SpanStubs
	for _, s := range got {
		if s.Parent.SpanID() == parent.SpanContext.SpanID() {
			kids = append(kids, s)
		}
	}
	slices.SortStableFunc(kids, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	var names []string
	for _, s := range kids {
		names = append(names, s.Name)
	}
	return names
}

func attr(s tracetest.SpanStub, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// requestLog returns the access-log line of the request with id.
func (srv *testServer) requestLog(requestID string) map[string]any {
	srv.t.Helper()
	for line := range strings.Lines(srv.logs.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "request" && rec["request_id"] == requestID {
			return rec
		}
	}
	srv.t.Fatalf("no access-log line for request %s", requestID)
	return nil
}

const (
	outcomeRoute  = "POST /v1/calls/:callId/outcome"
	lockingBatch  = "batch BEGIN, TryLockCallForOutcome, WaitForCallWriters, TryLockCallForOutcome, GetOutcome"
	insertBatch   = "batch CompleteCall, InsertWebhookEvent, CreateOutcome, COMMIT"
	lockWaitSpan  = "call lock wait"
	outcomeBody   = `{"outcomeType": "Meeting_Booked"}`
	openMetricsV1 = "application/openmetrics-text;version=1.0.0"
)

// TestTracing: one outcome POST makes one trace, continued from the caller's
// traceparent: the HTTP span, the service span, the locking read's batch and
// the insert batch, in that order, each statement a span named by its sqlc
// query name; the lock's wait is a span that lasts at least as long as another
// transaction kept the request waiting; the trace id is in the access log, in
// problem documents and, as exemplars, in /metrics.
func TestTracing(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	srv := startTracedServer(t, tp)
	a := srv.newOrg("Acme")
	_, call := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	outcomePath := "/v1/calls/" + call.Id.String() + "/outcome"

	t.Run("OutcomeIsOneTrace", func(t *testing.T) {
		spans.Reset()
		header, traceID, caller := traceparent(t)
		res, body := srv.send("POST", outcomePath, outcomeBody, a.Key, map[string]string{"traceparent": header})
		require.Equal(t, http.StatusCreated, res.StatusCode, "%s", body)
		got := traceSpans(t, spans, traceID)
		for _, s := range got {
			require.Equal(t, traceID, s.SpanContext.TraceID(), "span %q is in another trace", s.Name)
		}

		server := named(t, got, outcomeRoute)
		require.Equal(t, trace.SpanKindServer, server.SpanKind)
		require.Equal(t, caller, server.Parent.SpanID(), "the caller's traceparent is the parent")
		require.True(t, server.Parent.IsRemote())
		require.Equal(t, "/v1/calls/:callId/outcome", attr(server, "http.route").AsString())
		require.Equal(t, res.Header.Get("X-Request-Id"), attr(server, "callsvc.request_id").AsString())

		svc := named(t, got, "service.CreateOutcome")
		require.Equal(t, server.SpanContext.SpanID(), svc.Parent.SpanID())
		// Under the service span: the wait, then one batch per round trip.
		require.Equal(t, []string{lockWaitSpan, lockingBatch, insertBatch}, childNames(got, svc))
		lock, insert := named(t, got, lockingBatch), named(t, got, insertBatch)
		require.Equal(t, []string{`BEGIN`, "TryLockCallForOutcome", "WaitForCallWriters", "TryLockCallForOutcome", "GetOutcome"}, childNames(got, lock))
		require.Equal(t, []string{"CompleteCall", "InsertWebhookEvent", "CreateOutcome", `COMMIT`}, childNames(got, insert))
		require.Equal(t, trace.SpanKindClient, lock.SpanKind)

		// In order: HTTP, service, the locking read, the insert batch.
		order := []tracetest.SpanStub{server, svc, lock, insert}
		require.True(t, slices.IsSortedFunc(order, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) }))
		require.False(t, insert.StartTime.Before(lock.EndTime), "the insert batch starts after the locking read's answer")

		wait := named(t, got, lockWaitSpan)
		require.Equal(t, svc.SpanContext.SpanID(), wait.Parent.SpanID())
		require.Equal(t, wait.EndTime.Sub(wait.StartTime).Seconds(), attr(wait, "callsvc.lock_wait_seconds").AsFloat64())

		require.Equal(t, traceID.String(), srv.requestLog(res.Header.Get("X-Request-Id"))["trace_id"])
	})

	var waitedTrace trace.TraceID
	t.Run("LockWaitWhenASecondRequestWaited", func(t *testing.T) {
		_, c := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
		ctx := context.Background()
		holder, err := srv.DB.Begin(ctx) // another transaction holds the call's lock
		require.NoError(t, err)
		defer holder.Rollback(context.WithoutCancel(ctx))
		_, err = holder.Exec(ctx, `SELECT id FROM call_session WHERE id = $1 FOR UPDATE`, c.Id)
		require.NoError(t, err)

		header, traceID, _ := traceparent(t)
		waitedTrace = traceID
		status := make(chan int, 1)
		go func() {
			res, _ := srv.send("POST", "/v1/calls/"+c.Id.String()+"/outcome", outcomeBody, a.Key, map[string]string{"traceparent": header})
			status <- res.StatusCode
		}()
		require.Eventually(t, func() bool {
			var n int
			err := srv.DB.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
			return err == nil && n > 0
		}, 10*time.Second, 5*time.Millisecond, "the outcome never waited for the lock")
		seenWaiting := time.Now()
		time.Sleep(20 * time.Millisecond) // a wait worth seeing in the numbers
		held := time.Since(seenWaiting)
		require.NoError(t, holder.Commit(ctx))
		require.Equal(t, http.StatusCreated, <-status)

		got := traceSpans(t, spans, traceID)
		var wait tracetest.SpanStub
		for _, s := range got {
			if s.SpanContext.TraceID() == traceID && s.Name == lockWaitSpan {
				wait = s
			}
		}
		require.Equal(t, lockWaitSpan, wait.Name)
		waited := wait.EndTime.Sub(wait.StartTime)
		require.GreaterOrEqual(t, waited, held, "the lock wait covers the time the lock was held")
		t.Logf("lock wait span: %v; the lock was held %v after the request was seen waiting", waited, held)
	})

	t.Run("ProblemCarriesTraceID", func(t *testing.T) {
		header, traceID, _ := traceparent(t)
		res, body := srv.send("POST", outcomePath, outcomeBody, a.Key, map[string]string{"traceparent": header})
		p := problemOf(t, res, body, http.StatusConflict, "outcome_exists")
		require.NotNil(t, p.TraceId)
		require.Equal(t, traceID.String(), *p.TraceId)
		require.Equal(t, res.Header.Get("X-Request-Id"), p.RequestId)
		require.Equal(t, traceID.String(), srv.requestLog(p.RequestId)["trace_id"])

		// Without a traceparent the server starts a trace of its own.
		res, body = srv.send("GET", "/v1/no-such-route", "", "", nil)
		p = problemOf(t, res, body, http.StatusNotFound, "not_found")
		require.NotNil(t, p.TraceId)
		require.Len(t, *p.TraceId, 32)
	})

	t.Run("MetricsCarryExemplars", func(t *testing.T) {
		res, body := srv.send("GET", "/metrics", "", "", map[string]string{"Accept": openMetricsV1})
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "application/openmetrics-text; version=1.0.0"), res.Header.Get("Content-Type"))
		text := string(body)
		require.True(t, strings.HasSuffix(text, "# EOF\n"))
		require.Contains(t, text, `callsvc_outcomes_total{outcome_type="Meeting_Booked",result="created"} 2`)
		require.Contains(t, text, `callsvc_outcomes_total{outcome_type="Meeting_Booked",result="outcome_exists"} 1`)
		require.Contains(t, text, "callsvc_outcome_lock_wait_seconds_count 3")
		exemplar := `# {trace_id="` + waitedTrace.String() + `"}`
		for _, metric := range []string{
			`callsvc_outcome_lock_wait_seconds_bucket{`,
			`http_request_duration_seconds_bucket{code="201",method="POST",route="/v1/calls/:callId/outcome",`,
		} {
			require.True(t, slices.ContainsFunc(strings.Split(text, "\n"), func(line string) bool {
				return strings.HasPrefix(line, metric) && strings.Contains(line, exemplar)
			}), "%s has no exemplar of the waited request's trace", metric)
		}

		// The Prometheus text format has no exemplars.
		res, body = srv.send("GET", "/metrics", "", "", nil)
		require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain; version=0.0.4"), res.Header.Get("Content-Type"))
		require.NotContains(t, string(body), "trace_id")
	})

	t.Run("EveryAccessLogLineHasTraceID", func(t *testing.T) {
		n := 0
		for line := range strings.Lines(srv.logs.String()) {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec))
			if rec["msg"] == "request" {
				n++
				require.Len(t, rec["trace_id"], 32, "access-log line without trace_id: %s", line)
			}
		}
		require.Greater(t, n, 5)
	})
}

// TestTracingOff: with no OTEL_* endpoint there is no trace anywhere, not even
// the one a client's traceparent names: no traceId in problems, no trace_id in
// the log.
func TestTracingOff(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	header, _, _ := traceparent(t)
	res, body := srv.send("GET", "/v1/no-such-route", "", "", map[string]string{"traceparent": header})
	p := problemOf(t, res, body, http.StatusNotFound, "not_found")
	require.Nil(t, p.TraceId)
	rec := srv.requestLog(p.RequestId)
	require.NotContains(t, rec, "trace_id")
}
