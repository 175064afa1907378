package main

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/callsvc/callsvc/client"
)

// TestOutcomeRace: 25 concurrent outcome requests per call, released together by
// a barrier, on several calls at once. Exactly one per call gets 201, all others
// 409 outcome_exists, no 5xx, and the database holds one outcome per call.
func TestOutcomeRace(t *testing.T) {
	t.Parallel()
	srv := startServerWith(t, serverOptions{poolMaxConns: "16"})
	a := srv.newOrg("Acme")
	ctx := context.Background()
	const calls, perCall = 4, 25

	var ids []client.Call
	for range calls {
		_, c := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
		ids = append(ids, c)
	}
	statuses := make([][]int, calls)
	codes := make([][]string, calls)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range ids {
		statuses[i] = make([]int, perCall)
		codes[i] = make([]string, perCall)
		for j := range perCall {
			wg.Go(func() {
				<-start
				r, err := a.C.CreateOutcomeWithResponse(ctx, c.Id, nil, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked})
				if err != nil {
					t.Error(err)
					return
				}
				statuses[i][j] = r.StatusCode()
				if r.ApplicationproblemJSON409 != nil {
					codes[i][j] = string(r.ApplicationproblemJSON409.Code)
				}
			})
		}
	}
	close(start)
	wg.Wait()

	for i := range ids {
		created := 0
		for j, st := range statuses[i] {
			switch {
			case st == http.StatusCreated:
				created++
			case st == http.StatusConflict && codes[i][j] == "outcome_exists":
			default:
				t.Errorf("call %d: answer %d %q", i, st, codes[i][j])
			}
		}
		if created != 1 {
			t.Errorf("call %d: %d answers were 201, want exactly 1", i, created)
		}
	}
	if n := srv.count("call_outcome"); n != calls {
		t.Fatalf("%d outcome rows, want %d", n, calls)
	}
}

// TestOutcomeVersusCancel: an outcome and a cancel race on each of several calls.
// Exactly one wins; the loser gets 409; the call ends completed with one outcome
// or cancelled with none.
func TestOutcomeVersusCancel(t *testing.T) {
	t.Parallel()
	srv := startServerWith(t, serverOptions{poolMaxConns: "16"})
	a := srv.newOrg("Acme")
	ctx := context.Background()
	const calls = 20

	var cs []client.Call
	for range calls {
		_, c := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
		cs = append(cs, c)
	}
	outcomeStatus := make([]int, calls)
	cancelStatus := make([]int, calls)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			<-start
			r, err := a.C.CreateOutcomeWithResponse(ctx, c.Id, nil, client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked})
			if err != nil {
				t.Error(err)
				return
			}
			outcomeStatus[i] = r.StatusCode()
		})
		wg.Go(func() {
			<-start
			r, err := a.C.CancelCallWithResponse(ctx, c.Id, nil)
			if err != nil {
				t.Error(err)
				return
			}
			cancelStatus[i] = r.StatusCode()
		})
	}
	close(start)
	wg.Wait()

	outcomesWon := 0
	for i, c := range cs {
		got, err := a.C.GetCallWithResponse(ctx, c.Id)
		if err != nil || got.JSON200 == nil {
			t.Fatalf("get call: %v", err)
		}
		o, _ := a.C.GetOutcomeWithResponse(ctx, c.Id)
		switch {
		case outcomeStatus[i] == http.StatusCreated && cancelStatus[i] == http.StatusConflict:
			outcomesWon++
			if got.JSON200.Status != client.CallStatusCompleted || o.JSON200 == nil {
				t.Errorf("call %d: outcome won but call is %s, outcome %d", i, got.JSON200.Status, o.StatusCode())
			}
		case outcomeStatus[i] == http.StatusConflict && cancelStatus[i] == http.StatusOK:
			if got.JSON200.Status != client.CallStatusCancelled || o.StatusCode() != http.StatusNotFound {
				t.Errorf("call %d: cancel won but call is %s, outcome %d", i, got.JSON200.Status, o.StatusCode())
			}
		default:
			t.Errorf("call %d: outcome %d, cancel %d; want exactly one winner", i, outcomeStatus[i], cancelStatus[i])
		}
	}
	if n := srv.count("call_outcome"); n != outcomesWon {
		t.Fatalf("%d outcome rows, %d outcomes won", n, outcomesWon)
	}
}
