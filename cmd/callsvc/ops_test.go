package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/callsvc/callsvc/client"
	httpapi "github.com/callsvc/callsvc/internal/http"
)

func TestOperations(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := srv.client("")
	ctx := context.Background()

	h, err := c.GetHealthzWithResponse(ctx)
	if err != nil || h.JSON200 == nil || h.JSON200.Status != client.HealthStatusOk {
		t.Fatalf("healthz: %v %s", err, h.Body)
	}
	r, err := c.GetReadyzWithResponse(ctx)
	if err != nil || r.JSON200 == nil {
		t.Fatalf("readyz: %v %s", err, r.Body)
	}

	t.Run("OpenAPIIsTheEmbeddedSpec", func(t *testing.T) {
		res, body := srv.raw("GET", "/openapi.json", "", "", "")
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		spec, _ := httpapi.GetSpec()
		want, _ := json.Marshal(spec)
		var wantMap map[string]any
		_ = json.Unmarshal(want, &wantMap)
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(wantMap)
		if string(g) != string(w) {
			t.Fatal("/openapi.json differs from the embedded spec")
		}
		if _, ok := got["paths"].(map[string]any)["/v1/calls/{callId}/outcome"]; !ok {
			t.Fatal("spec lacks the outcome path")
		}
	})

	t.Run("Docs", func(t *testing.T) {
		res, body := srv.raw("GET", "/docs", "", "", "")
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if !strings.Contains(string(body), `src="/docs/redoc.standalone.js"`) || !strings.Contains(string(body), `"/openapi.json"`) {
			t.Fatalf("docs page does not load the local bundle and spec: %s", body)
		}
		if strings.Contains(string(body), "https://") {
			t.Fatal("docs page refers to the internet")
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		a := srv.newOrg("Acme")
		_, call := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
		for range 2 {
			_, _ = a.C.CreateOutcomeWithResponse(ctx, call.Id, nil, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked})
		}
		m, err := c.GetMetricsWithResponse(ctx)
		if err != nil || m.StatusCode() != http.StatusOK {
			t.Fatalf("metrics: %v", err)
		}
		text := string(m.Body)
		for _, want := range []string{
			`http_requests_total{code="201",method="POST",route="/v1/calls/:callId/outcome"} 1`,
			`http_requests_total{code="409",method="POST",route="/v1/calls/:callId/outcome"} 1`,
			`http_request_duration_seconds_bucket{code="201",method="POST",route="/v1/prospects",le=`,
			`callsvc_outcomes_total{outcome_type="Meeting_Booked",result="created"} 1`,
			`callsvc_outcomes_total{outcome_type="Meeting_Booked",result="outcome_exists"} 1`,
			`callsvc_outcome_lock_wait_seconds_count 2`,
			`callsvc_db_pool_max_conns 4`,
			`callsvc_db_pool_acquires_total`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// TestDatabaseGone: with the database gone, /readyz and /v1 answer 503
// service_unavailable with Retry-After, and /healthz still answers 200.
func TestDatabaseGone(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	ctx := context.Background()

	// Drop the server's database from under it (dbtest's cleanup tolerates that).
	u := strings.Replace(srv.DBURL, srv.DB.Config().ConnConfig.Database, "postgres", 1)
	admin, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	srv.DB.Close()
	if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{srv.DB.Config().ConnConfig.Database}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}

	res, body := srv.raw("GET", "/readyz", "", "", "")
	problemOf(t, res, body, http.StatusServiceUnavailable, "service_unavailable")
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	// The key is cached for 500 ms; after that, authentication itself needs the database.
	for _, path := range []string{"/v1/prospects", "/v1/calls"} {
		res, body := srv.raw("GET", path, "", "", a.Key)
		p := problemOf(t, res, body, http.StatusServiceUnavailable, "service_unavailable")
		if res.Header.Get("Retry-After") == "" || strings.Contains(p.Detail, "SQLSTATE") || strings.Contains(p.Detail, "does not exist") {
			t.Fatalf("503 %v detail %q", res.Header, p.Detail)
		}
	}
	if res, _ := srv.raw("GET", "/healthz", "", "", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("healthz %d", res.StatusCode)
	}
}
