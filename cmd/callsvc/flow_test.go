package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/oapi-codegen/nullable"

	"github.com/callsvc/callsvc/client"
)

// TestFirstCall is the README's "First call": a prospect with 900 clients, a call
// in progress, an objection deferred, and the outcome Meeting_Booked.
func TestFirstCall(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	ctx := context.Background()

	pr, err := a.C.CreateProspectWithResponse(ctx, nil, client.ProspectCreate{Name: "Big Co", ClientCount: nullable.NewNullableWithValue(900)})
	if err != nil || pr.StatusCode() != http.StatusCreated {
		t.Fatalf("create prospect: %v %d %s", err, pr.StatusCode(), pr.Body)
	}
	p := pr.JSON201
	if p.AdvisoryMode || p.ClientCount.MustGet() != 900 {
		t.Fatalf("prospect %+v", p)
	}
	if loc := pr.HTTPResponse.Header.Get("Location"); loc != "/v1/prospects/"+p.Id.String() {
		t.Fatalf("Location %q", loc)
	}

	inProgress := client.CallCreateStatusInProgress
	cr, err := a.C.CreateCallWithResponse(ctx, nil, client.CallCreate{ProspectId: p.Id, Status: &inProgress})
	if err != nil || cr.StatusCode() != http.StatusCreated {
		t.Fatalf("create call: %v %d %s", err, cr.StatusCode(), cr.Body)
	}
	call := cr.JSON201
	if call.Status != client.CallStatusInProgress || call.StartedAt.IsNull() || !call.EndedAt.IsNull() {
		t.Fatalf("call %+v", call)
	}

	or, err := a.C.CreateObjectionWithResponse(ctx, call.Id, nil, client.ObjectionCreate{Objection: "Too expensive", Outcome: client.ObjectionOutcomeDeferred})
	if err != nil || or.StatusCode() != http.StatusCreated {
		t.Fatalf("create objection: %v %d %s", err, or.StatusCode(), or.Body)
	}

	out, err := a.C.CreateOutcomeWithResponse(ctx, call.Id, nil, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked})
	if err != nil || out.StatusCode() != http.StatusCreated {
		t.Fatalf("create outcome: %v %d %s", err, out.StatusCode(), out.Body)
	}
	o := out.JSON201
	if o.AdvisoryMode || string(o.QualificationFlags) != "{}" || len(o.DeferredObjections) != 1 || !o.DisqualificationReason.IsNull() {
		t.Fatalf("outcome %+v", o)
	}
	if loc := out.HTTPResponse.Header.Get("Location"); loc != "/v1/calls/"+call.Id.String()+"/outcome" {
		t.Fatalf("Location %q", loc)
	}

	got, err := a.C.GetCallWithResponse(ctx, call.Id)
	if err != nil || got.JSON200 == nil || got.JSON200.Status != client.CallStatusCompleted || got.JSON200.EndedAt.IsNull() {
		t.Fatalf("call after outcome: %v %s", err, got.Body)
	}
}
