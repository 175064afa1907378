package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/oapi-codegen/nullable"

	"github.com/callsvc/callsvc/client"
)

// A prospect, a call with it, and the call's outcome, decided once.
func ExampleNew() {
	url, apiKey := exampleServer() // e.g. "http://localhost:8080" and a key from `callsvc org create`
	ctx := context.Background()
	c, err := client.New(url, apiKey)
	if err != nil {
		log.Fatal(err)
	}

	// 900 clients: not in advisory mode, so any outcome is allowed.
	prospect, err := client.Check(c.CreateProspectWithResponse(ctx, nil,
		client.ProspectCreate{Name: "Acme Wealth", ClientCount: nullable.NewNullableWithValue(900)}))
	if err != nil {
		log.Fatal(err)
	}
	status := client.CallCreateStatusInProgress
	call, err := client.Check(c.CreateCallWithResponse(ctx, nil,
		client.CallCreate{ProspectId: prospect.JSON201.Id, Status: &status}))
	if err != nil {
		log.Fatal(err)
	}
	outcome, err := client.Check(c.CreateOutcomeWithResponse(ctx, call.JSON201.Id, nil,
		client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked}))
	if err != nil {
		log.Fatal(err)
	}
	after, err := client.Check(c.GetCallWithResponse(ctx, call.JSON201.Id))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("outcome:", outcome.JSON201.OutcomeType)
	fmt.Println("call:", after.JSON200.Status)
	// Output:
	// outcome: Meeting_Booked
	// call: completed
}

// A second outcome for the same call is a 409 outcome_exists problem.
func ExampleProblemError() {
	url, apiKey := exampleServer()
	ctx := context.Background()
	c, err := client.New(url, apiKey)
	if err != nil {
		log.Fatal(err)
	}
	call := inProgressCall(ctx, c)
	outcome := client.OutcomeCreate{OutcomeType: client.OutcomeTypeFollowUpScheduled}
	if _, err := client.Check(c.CreateOutcomeWithResponse(ctx, call.Id, nil, outcome)); err != nil {
		log.Fatal(err)
	}

	_, err = client.Check(c.CreateOutcomeWithResponse(ctx, call.Id, nil, outcome))
	if pe, ok := errors.AsType[*client.ProblemError](err); ok {
		fmt.Println(pe.Status, pe.Code, pe.Detail)
		fmt.Println("has a request id:", pe.RequestId != "")
	}
	fmt.Println("outcome exists:", client.IsProblem(err, client.ProblemCodeOutcomeExists))
	// Output:
	// 409 outcome_exists The call already has an outcome.
	// has a request id: true
	// outcome exists: true
}

// Retrying a POST with the same Idempotency-Key: the server acts once and
// replays its first answer.
func ExampleNewIdempotencyKey() {
	url, apiKey := exampleServer()
	ctx := context.Background()
	c, err := client.New(url, apiKey)
	if err != nil {
		log.Fatal(err)
	}

	key := client.NewIdempotencyKey() // keep it with the work, for every attempt
	params := &client.CreateProspectParams{IdempotencyKey: &key}
	body := client.ProspectCreate{Name: "Northwind Advisors"}
	first, err := client.Check(c.CreateProspectWithResponse(ctx, params, body))
	if err != nil {
		log.Fatal(err)
	}
	// Say the answer was lost to a timeout: send the same request again.
	retry, err := client.Check(c.CreateProspectWithResponse(ctx, params, body))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replayed:", *retry.Headers201.IdempotentReplayed)
	fmt.Println("same prospect:", retry.JSON201.Id == first.JSON201.Id)
	// Output:
	// replayed: true
	// same prospect: true
}

// Every call of a prospect, newest first, fetched 20 at a time.
func ExampleClientWithResponses_AllCalls() {
	url, apiKey := exampleServer()
	ctx := context.Background()
	c, err := client.New(url, apiKey)
	if err != nil {
		log.Fatal(err)
	}
	prospect, err := client.Check(c.CreateProspectWithResponse(ctx, nil, client.ProspectCreate{Name: "Contoso"}))
	if err != nil {
		log.Fatal(err)
	}
	for range 45 {
		if _, err := client.Check(c.CreateCallWithResponse(ctx, nil, client.CallCreate{ProspectId: prospect.JSON201.Id})); err != nil {
			log.Fatal(err)
		}
	}

	limit := 20
	n, newestFirst, last := 0, true, client.Call{}
	for call, err := range c.AllCalls(ctx, client.ListCallsParams{ProspectId: &prospect.JSON201.Id, Limit: &limit}) {
		if err != nil {
			log.Fatal(err)
		}
		if n > 0 && call.CreatedAt.After(last.CreatedAt) {
			newestFirst = false
		}
		n, last = n+1, call
	}
	fmt.Println(n, "calls, newest first:", newestFirst)
	// Output: 45 calls, newest first: true
}
