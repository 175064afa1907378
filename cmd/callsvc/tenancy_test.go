package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/callsvc/callsvc/client"
)

// TestTenantIsolation: for every {id} route, organization B asking for A's ids
// gets exactly the answer an id that exists nowhere gets (status, code, title,
// detail), and A's data is unchanged.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a, b := srv.newOrg("A"), srv.newOrg("B")
	p, c := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	_, withOutcome := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	ctx := context.Background()
	if r, _ := a.C.CreateOutcomeWithResponse(ctx, withOutcome.Id, nil, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked}); r.JSON201 == nil {
		t.Fatalf("outcome: %s", r.Body)
	}
	before := srv.snapshot()

	routes := []struct {
		name, method, path, body string
		id                       uuid.UUID
	}{
		{"GetProspect", "GET", "/v1/prospects/%s", "", p.Id},
		{"UpdateProspect", "PATCH", "/v1/prospects/%s", `{"name":"stolen","clientCount":null}`, p.Id},
		{"GetCall", "GET", "/v1/calls/%s", "", c.Id},
		{"StartCall", "POST", "/v1/calls/%s/start", "", c.Id},
		{"CancelCall", "POST", "/v1/calls/%s/cancel", "", c.Id},
		{"CreateObjection", "POST", "/v1/calls/%s/objections", `{"objection":"x","outcome":"Resolved"}`, c.Id},
		{"ListObjections", "GET", "/v1/calls/%s/objections", "", c.Id},
		{"CreateOutcome", "POST", "/v1/calls/%s/outcome", `{"outcomeType":"Follow_up_Scheduled"}`, c.Id},
		{"GetOutcome", "GET", "/v1/calls/%s/outcome", "", withOutcome.Id},
	}
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			ct := ""
			if r.body != "" {
				ct = "application/json"
			}
			foreignRes, foreignBody := srv.raw(r.method, sprintf(r.path, r.id), ct, r.body, b.Key)
			missingRes, missingBody := srv.raw(r.method, sprintf(r.path, uuid.New()), ct, r.body, b.Key)
			if foreignRes.StatusCode != http.StatusNotFound || missingRes.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d (foreign) and %d (missing), want 404\n%s\n%s", foreignRes.StatusCode, missingRes.StatusCode, foreignBody, missingBody)
			}
			if f, m := withoutRequestID(t, foreignBody), withoutRequestID(t, missingBody); f != m {
				t.Fatalf("foreign id answers %s, missing id answers %s", f, m)
			}
		})
	}
	// B's list of calls filtered by A's prospect is simply empty.
	l, err := b.C.ListCallsWithResponse(ctx, &client.ListCallsParams{ProspectId: &p.Id})
	if err != nil || l.JSON200 == nil || len(l.JSON200.Items) != 0 {
		t.Fatalf("B lists A's calls: %v %s", err, l.Body)
	}
	// B's call cannot point at A's prospect: the same 422 as an unknown prospect.
	r, _ := b.C.CreateCallWithResponse(ctx, nil, client.CallCreate{ProspectId: p.Id})
	problemOf(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity, "prospect_not_found")

	if after := srv.snapshot(); !equalMaps(before, after) {
		t.Fatalf("B changed A's data: before %v after %v", before, after)
	}
}

func withoutRequestID(t *testing.T, body []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	delete(m, "requestId")
	b, _ := json.Marshal(m)
	return string(b)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
