// Package client is a Go client for callsvc's HTTP API: the typed client
// oapi-codegen generates from api/openapi.yaml (the spec the server is generated
// from, client.gen.go), and a few hand-written comforts around it:
//
//   - New: a client that sends the API key and gives every POST an
//     Idempotency-Key, so a transport that retries a request resends its key;
//   - Check: a non-2xx answer as a *ProblemError carrying the problem's code,
//     status and requestId;
//   - AllProspects, AllCalls, AllObjections: every item of a list as an
//     iter.Seq2, one page fetched at a time;
//   - NewIdempotencyKey: a key of your own, for retrying a POST yourself.
//
// A typical call:
//
//	c, err := client.New("http://localhost:8080", apiKey)
//	...
//	res, err := client.Check(c.CreateOutcomeWithResponse(ctx, callID, nil,
//		client.OutcomeCreate{OutcomeType: client.OutcomeTypeMeetingBooked}))
//	if pe, ok := errors.AsType[*client.ProblemError](err); ok && pe.Code == client.ProblemCodeOutcomeExists {
//		// decided already
//	}
package client

//go:generate go tool -modfile=../tools/go.mod oapi-codegen -config oapi-codegen.yaml ../api/openapi.yaml
