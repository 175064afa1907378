package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/callsvc/callsvc/client"
)

// fixture makes a prospect and a call in the given status for o.
func fixture(t testing.TB, o org, clientCount *int, status client.CallCreateStatus) (client.Prospect, client.Call) {
	t.Helper()
	ctx := context.Background()
	body := client.ProspectCreate{Name: "Prospect " + uuid.NewString()[:8]}
	if clientCount != nil {
		body.ClientCount = nullable.NewNullableWithValue(*clientCount)
	}
	pr, err := o.C.CreateProspectWithResponse(ctx, nil, body)
	if err != nil || pr.JSON201 == nil {
		t.Fatalf("create prospect: %v %s", err, pr.Body)
	}
	cr, err := o.C.CreateCallWithResponse(ctx, nil, client.CallCreate{ProspectId: pr.JSON201.Id, Status: &status})
	if err != nil || cr.JSON201 == nil {
		t.Fatalf("create call: %v %s", err, cr.Body)
	}
	return *pr.JSON201, *cr.JSON201
}

func intp(n int) *int { return &n }

func TestProspects(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	ctx := context.Background()

	var ids []uuid.UUID
	for _, n := range []*int{nil, intp(499), intp(500)} {
		p, _ := fixture(t, a, n, client.CallCreateStatusScheduled)
		if want := n == nil || *n < 500; p.AdvisoryMode != want {
			t.Errorf("clientCount %v: advisoryMode %v", n, p.AdvisoryMode)
		}
		if n == nil && !p.ClientCount.IsNull() {
			t.Errorf("clientCount unset: %v", p.ClientCount)
		}
		ids = append(ids, p.Id)
	}

	t.Run("ListPagesNewestFirst", func(t *testing.T) {
		limit := 2
		first, err := a.C.ListProspectsWithResponse(ctx, &client.ListProspectsParams{Limit: &limit})
		if err != nil || first.JSON200 == nil || len(first.JSON200.Items) != 2 || first.JSON200.NextCursor.IsNull() {
			t.Fatalf("first page: %v %s", err, first.Body)
		}
		cursor := first.JSON200.NextCursor.MustGet()
		second, err := a.C.ListProspectsWithResponse(ctx, &client.ListProspectsParams{Limit: &limit, Cursor: &cursor})
		if err != nil || second.JSON200 == nil || len(second.JSON200.Items) != 1 || !second.JSON200.NextCursor.IsNull() {
			t.Fatalf("second page: %v %s", err, second.Body)
		}
		got := []uuid.UUID{first.JSON200.Items[0].Id, first.JSON200.Items[1].Id, second.JSON200.Items[0].Id}
		if got[0] != ids[2] || got[1] != ids[1] || got[2] != ids[0] {
			t.Fatalf("order %v, want newest first %v", got, ids)
		}
	})

	t.Run("Get", func(t *testing.T) {
		r, err := a.C.GetProspectWithResponse(ctx, ids[1])
		if err != nil || r.JSON200 == nil || r.JSON200.ClientCount.MustGet() != 499 {
			t.Fatalf("get: %v %s", err, r.Body)
		}
		r, _ = a.C.GetProspectWithResponse(ctx, uuid.New())
		problemOf(t, r.HTTPResponse, r.Body, http.StatusNotFound, "prospect_not_found")
	})

	t.Run("PatchMergeSemantics", func(t *testing.T) {
		id := ids[2]
		name := "Renamed"
		r, err := a.C.UpdateProspectWithResponse(ctx, id, client.ProspectUpdate{Name: &name})
		if err != nil || r.JSON200 == nil || r.JSON200.Name != name || r.JSON200.ClientCount.MustGet() != 500 {
			t.Fatalf("rename: %v %s", err, r.Body)
		}
		r, err = a.C.UpdateProspectWithResponse(ctx, id, client.ProspectUpdate{ClientCount: nullable.NewNullNullable[int]()})
		if err != nil || r.JSON200 == nil || !r.JSON200.ClientCount.IsNull() || !r.JSON200.AdvisoryMode || r.JSON200.Name != name {
			t.Fatalf("clear clientCount: %v %s", err, r.Body)
		}
		r, err = a.C.UpdateProspectWithBodyWithResponse(ctx, id, "application/json", stringsReader(`{}`))
		if err != nil || r.JSON200 == nil || !r.JSON200.ClientCount.IsNull() || r.JSON200.Name != name {
			t.Fatalf("empty patch: %v %s", err, r.Body)
		}
		r, _ = a.C.UpdateProspectWithResponse(ctx, uuid.New(), client.ProspectUpdate{Name: &name})
		problemOf(t, r.HTTPResponse, r.Body, http.StatusNotFound, "prospect_not_found")
	})
}

func TestCalls(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	ctx := context.Background()
	p, scheduled := fixture(t, a, intp(900), client.CallCreateStatusScheduled)
	if scheduled.Status != client.CallStatusScheduled || !scheduled.StartedAt.IsNull() {
		t.Fatalf("scheduled call %+v", scheduled)
	}

	t.Run("DefaultStatusIsScheduled", func(t *testing.T) {
		r, err := a.C.CreateCallWithResponse(ctx, nil, client.CallCreate{ProspectId: p.Id})
		if err != nil || r.JSON201 == nil || r.JSON201.Status != client.CallStatusScheduled {
			t.Fatalf("create: %v %s", err, r.Body)
		}
		if loc := r.HTTPResponse.Header.Get("Location"); loc != "/v1/calls/"+r.JSON201.Id.String() {
			t.Fatalf("Location %q", loc)
		}
	})
	t.Run("UnknownProspectIs422", func(t *testing.T) {
		r, _ := a.C.CreateCallWithResponse(ctx, nil, client.CallCreate{ProspectId: uuid.New()})
		problemOf(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity, "prospect_not_found")
	})
	t.Run("StartCancelTransitions", func(t *testing.T) {
		_, c := fixture(t, a, intp(900), client.CallCreateStatusScheduled)
		r, err := a.C.StartCallWithResponse(ctx, c.Id, nil)
		if err != nil || r.JSON200 == nil || r.JSON200.Status != client.CallStatusInProgress || r.JSON200.StartedAt.IsNull() {
			t.Fatalf("start: %v %s", err, r.Body)
		}
		r, _ = a.C.StartCallWithResponse(ctx, c.Id, nil)
		problemOf(t, r.HTTPResponse, r.Body, http.StatusConflict, "invalid_call_transition")
		cr, err := a.C.CancelCallWithResponse(ctx, c.Id, nil)
		if err != nil || cr.JSON200 == nil || cr.JSON200.Status != client.CallStatusCancelled || cr.JSON200.EndedAt.IsNull() {
			t.Fatalf("cancel: %v %s", err, cr.Body)
		}
		cr, _ = a.C.CancelCallWithResponse(ctx, c.Id, nil)
		problemOf(t, cr.HTTPResponse, cr.Body, http.StatusConflict, "invalid_call_transition")
		r, _ = a.C.StartCallWithResponse(ctx, uuid.New(), nil)
		problemOf(t, r.HTTPResponse, r.Body, http.StatusNotFound, "call_not_found")
		cr, _ = a.C.CancelCallWithResponse(ctx, uuid.New(), nil)
		problemOf(t, cr.HTTPResponse, cr.Body, http.StatusNotFound, "call_not_found")
	})
	t.Run("GetAndFilter", func(t *testing.T) {
		r, err := a.C.GetCallWithResponse(ctx, scheduled.Id)
		if err != nil || r.JSON200 == nil || r.JSON200.Id != scheduled.Id {
			t.Fatalf("get: %v %s", err, r.Body)
		}
		r, _ = a.C.GetCallWithResponse(ctx, uuid.New())
		problemOf(t, r.HTTPResponse, r.Body, http.StatusNotFound, "call_not_found")

		other, inProgress := fixture(t, a, nil, client.CallCreateStatusInProgress)
		st := client.CallStatusInProgress
		l, err := a.C.ListCallsWithResponse(ctx, &client.ListCallsParams{Status: &st})
		if err != nil || l.JSON200 == nil {
			t.Fatalf("list: %v %s", err, l.Body)
		}
		for _, c := range l.JSON200.Items {
			if c.Status != client.CallStatusInProgress {
				t.Fatalf("status filter let through %+v", c)
			}
		}
		l, err = a.C.ListCallsWithResponse(ctx, &client.ListCallsParams{ProspectId: &other.Id})
		if err != nil || l.JSON200 == nil || len(l.JSON200.Items) != 1 || l.JSON200.Items[0].Id != inProgress.Id {
			t.Fatalf("prospect filter: %v %s", err, l.Body)
		}
		missing := uuid.New()
		l, err = a.C.ListCallsWithResponse(ctx, &client.ListCallsParams{ProspectId: &missing})
		if err != nil || l.JSON200 == nil || len(l.JSON200.Items) != 0 || string(l.Body) == "" {
			t.Fatalf("unknown prospect filter: %v %s", err, l.Body)
		}
	})
}

func TestObjections(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	ctx := context.Background()
	_, c := fixture(t, a, intp(900), client.CallCreateStatusInProgress)

	resp := "Offered a discount"
	r, err := a.C.CreateObjectionWithResponse(ctx, c.Id, nil, client.ObjectionCreate{Objection: "Price", Response: nullable.NewNullableWithValue(resp), Outcome: client.ObjectionOutcomeResolved})
	if err != nil || r.JSON201 == nil || r.JSON201.Response.MustGet() != resp || r.JSON201.CallId != c.Id {
		t.Fatalf("create: %v %s", err, r.Body)
	}
	if loc := r.HTTPResponse.Header.Get("Location"); loc != "/v1/calls/"+c.Id.String()+"/objections" {
		t.Fatalf("Location %q", loc)
	}
	r, err = a.C.CreateObjectionWithResponse(ctx, c.Id, nil, client.ObjectionCreate{Objection: "Timing", Outcome: client.ObjectionOutcomeDeferred})
	if err != nil || r.JSON201 == nil || !r.JSON201.Response.IsNull() {
		t.Fatalf("create without response: %v %s", err, r.Body)
	}
	l, err := a.C.ListObjectionsWithResponse(ctx, c.Id, nil)
	if err != nil || l.JSON200 == nil || len(l.JSON200.Items) != 2 || l.JSON200.Items[0].Objection != "Timing" {
		t.Fatalf("list: %v %s", err, l.Body)
	}

	_, scheduled := fixture(t, a, intp(900), client.CallCreateStatusScheduled)
	r, _ = a.C.CreateObjectionWithResponse(ctx, scheduled.Id, nil, client.ObjectionCreate{Objection: "x", Outcome: client.ObjectionOutcomeResolved})
	problemOf(t, r.HTTPResponse, r.Body, http.StatusConflict, "call_not_in_progress")
	r, _ = a.C.CreateObjectionWithResponse(ctx, uuid.New(), nil, client.ObjectionCreate{Objection: "x", Outcome: client.ObjectionOutcomeResolved})
	problemOf(t, r.HTTPResponse, r.Body, http.StatusNotFound, "call_not_found")
	l, _ = a.C.ListObjectionsWithResponse(ctx, uuid.New(), nil)
	problemOf(t, l.HTTPResponse, l.Body, http.StatusNotFound, "call_not_found")
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	ctx := context.Background()
	reason := func(s string) nullable.Nullable[string] { return nullable.NewNullableWithValue(s) }

	cases := []struct {
		name        string
		clientCount *int
		status      client.CallCreateStatus
		body        client.OutcomeCreate
		wantStatus  int
		wantCode    string
	}{
		{"MeetingBooked", intp(900), client.CallCreateStatusInProgress, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked, QualificationFlags: []byte(`{"budget":true,"n":12345678901234567890}`)}, 201, ""},
		{"DisqualifiedWithReason", nil, client.CallCreateStatusInProgress, client.OutcomeCreate{OutcomeType: client.OutcomeTypeDisqualified, DisqualificationReason: reason("Too small")}, 201, ""},
		{"FollowUpNullReasonInAdvisoryMode", intp(10), client.CallCreateStatusInProgress, client.OutcomeCreate{OutcomeType: client.OutcomeTypeFollowUpScheduled, DisqualificationReason: nullable.NewNullNullable[string]()}, 201, ""},
		{"NotInProgress", intp(900), client.CallCreateStatusScheduled, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked}, 409, "call_not_in_progress"},
		{"ReasonRequired", intp(900), client.CallCreateStatusInProgress, client.OutcomeCreate{OutcomeType: client.OutcomeTypeDisqualified, DisqualificationReason: reason("   ")}, 422, "disqualification_reason_required"},
		{"ReasonNotAllowed", intp(900), client.CallCreateStatusInProgress, client.OutcomeCreate{OutcomeType: client.OutcomeTypeNotInterested, DisqualificationReason: reason("")}, 422, "disqualification_reason_not_allowed"},
		{"AdvisoryMode", intp(499), client.CallCreateStatusInProgress, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked}, 422, "outcome_not_allowed_in_advisory_mode"},
		{"ReasonCheckedBeforeAdvisory", nil, client.CallCreateStatusInProgress, client.OutcomeCreate{OutcomeType: client.OutcomeTypeNotInterested, DisqualificationReason: reason("x")}, 422, "disqualification_reason_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := fixture(t, a, tc.clientCount, tc.status)
			r, err := a.C.CreateOutcomeWithResponse(ctx, c.Id, nil, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantCode != "" {
				problemOf(t, r.HTTPResponse, r.Body, tc.wantStatus, tc.wantCode)
				g, _ := a.C.GetOutcomeWithResponse(ctx, c.Id)
				problemOf(t, g.HTTPResponse, g.Body, http.StatusNotFound, "outcome_not_found")
				return
			}
			if r.JSON201 == nil {
				t.Fatalf("status %d: %s", r.StatusCode(), r.Body)
			}
			wantAdvisory := tc.clientCount == nil || *tc.clientCount < 500
			if r.JSON201.AdvisoryMode != wantAdvisory || r.JSON201.OutcomeType != tc.body.OutcomeType {
				t.Fatalf("outcome %+v", r.JSON201)
			}
			g, err := a.C.GetOutcomeWithResponse(ctx, c.Id)
			if err != nil || g.JSON200 == nil || g.JSON200.Id != r.JSON201.Id {
				t.Fatalf("get outcome: %v %s", err, g.Body)
			}
			if tc.body.QualificationFlags != nil && string(g.JSON200.QualificationFlags) != `{"n": 12345678901234567890, "budget": true}` && string(g.JSON200.QualificationFlags) != `{"n":12345678901234567890,"budget":true}` {
				t.Fatalf("qualificationFlags %s", g.JSON200.QualificationFlags)
			}
			again, _ := a.C.CreateOutcomeWithResponse(ctx, c.Id, nil, tc.body)
			problemOf(t, again.HTTPResponse, again.Body, http.StatusConflict, "outcome_exists")
		})
	}
	t.Run("UnknownCall", func(t *testing.T) {
		r, _ := a.C.CreateOutcomeWithResponse(ctx, uuid.New(), nil, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked})
		problemOf(t, r.HTTPResponse, r.Body, http.StatusNotFound, "call_not_found")
		g, _ := a.C.GetOutcomeWithResponse(ctx, uuid.New())
		problemOf(t, g.HTTPResponse, g.Body, http.StatusNotFound, "call_not_found")
	})
	t.Run("CancelledCallGetsNone", func(t *testing.T) {
		_, c := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
		if r, _ := a.C.CancelCallWithResponse(ctx, c.Id, nil); r.JSON200 == nil {
			t.Fatalf("cancel: %s", r.Body)
		}
		r, _ := a.C.CreateOutcomeWithResponse(ctx, c.Id, nil, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked})
		problemOf(t, r.HTTPResponse, r.Body, http.StatusConflict, "call_not_in_progress")
	})
}
