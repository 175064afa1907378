package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/callsvc/callsvc/client"
)

// post sends a JSON POST with an Idempotency-Key through the checking transport.
func (srv *testServer) post(path, apiKey, idemKey, body string) (*http.Response, []byte) {
	srv.t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		srv.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	res, err := srv.httpClient().Do(req)
	if err != nil {
		srv.t.Fatal(err)
	}
	return res, readAll(srv.t, res)
}

// TestIdempotencyReplaysEveryPost: each POST sent twice with one key answers the
// same status, body and Location, and writes once.
func TestIdempotencyReplaysEveryPost(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	_, scheduled := fixture(t, a, intp(900), client.CallCreateStatusScheduled)
	_, running := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	_, toCancel := fixture(t, a, intp(900), client.CallCreateStatusScheduled)
	prospect, _ := fixture(t, a, intp(900), client.CallCreateStatusScheduled)

	for _, tc := range []struct {
		name, path, body, other, table string
		status                         int
	}{
		{"CreateProspect", "/v1/prospects", `{"name":"Initech","clientCount":700}`, `{"name":"Initech"}`, "prospect", 201},
		{"CreateCall", "/v1/calls", `{"prospectId":"` + prospect.Id.String() + `"}`, `{"prospectId":"` + prospect.Id.String() + `","status":"in_progress"}`, "call_session", 201},
		{"StartCall", "/v1/calls/" + scheduled.Id.String() + "/start", ``, `{}`, "", 200},
		{"CancelCall", "/v1/calls/" + toCancel.Id.String() + "/cancel", ``, `{}`, "", 200},
		{"CreateObjection", "/v1/calls/" + running.Id.String() + "/objections", `{"objection":"price","outcome":"Deferred"}`, `{"objection":"price","outcome":"Resolved"}`, "objection_response", 201},
		{"CreateOutcome", "/v1/calls/" + running.Id.String() + "/outcome", `{"outcomeType":"Meeting_Booked"}`, `{"outcomeType":"Follow_up_Scheduled"}`, "call_outcome", 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := 0
			if tc.table != "" {
				before = srv.count(tc.table)
			}
			first, firstBody := srv.post(tc.path, a.Key, "key-"+tc.name, tc.body)
			if first.StatusCode != tc.status {
				t.Fatalf("first: %d %s", first.StatusCode, firstBody)
			}
			again, againBody := srv.post(tc.path, a.Key, "key-"+tc.name, tc.body)
			if again.StatusCode != tc.status || string(againBody) != string(firstBody) {
				t.Fatalf("replay: %d %s, first %s", again.StatusCode, againBody, firstBody)
			}
			if again.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("Idempotent-Replayed: first %q, replay %q", first.Header.Get("Idempotent-Replayed"), again.Header.Get("Idempotent-Replayed"))
			}
			if again.Header.Get("Location") != first.Header.Get("Location") {
				t.Fatalf("Location %q, first %q", again.Header.Get("Location"), first.Header.Get("Location"))
			}
			if tc.table != "" && srv.count(tc.table) != before+1 {
				t.Fatalf("%s: %d rows, want %d", tc.table, srv.count(tc.table), before+1)
			}
			// The same key with another (valid) body is refused and changes nothing.
			snap := srv.snapshot()
			res, body := srv.post(tc.path, a.Key, "key-"+tc.name, tc.other)
			problemOf(t, res, body, http.StatusUnprocessableEntity, "idempotency_key_reused")
			if got := srv.snapshot(); !equalMaps(got, snap) {
				t.Fatalf("reused key changed data: %v -> %v", snap, got)
			}
		})
	}
}

// TestIdempotencyConcurrentRetries: 20 requests with one key released together;
// the outcome is written once and every answer is the replay or 409 in use.
func TestIdempotencyConcurrentRetries(t *testing.T) {
	t.Parallel()
	srv := startServerWith(t, serverOptions{poolMaxConns: "16"})
	a := srv.newOrg("Acme")
	_, call := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	path := "/v1/calls/" + call.Id.String() + "/outcome"

	type answer struct {
		status int
		body   []byte
		code   string
	}
	answers := make([]answer, 20)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			<-start
			res, body := srv.post(path, a.Key, "retry-me", `{"outcomeType":"Meeting_Booked"}`)
			answers[i] = answer{status: res.StatusCode, body: body}
			var p client.Problem
			if json.Unmarshal(body, &p) == nil {
				answers[i].code = string(p.Code)
			}
		})
	}
	close(start)
	wg.Wait()

	var created []byte
	inUse := 0
	for _, ans := range answers {
		switch {
		case ans.status == http.StatusCreated:
			if created != nil && string(created) != string(ans.body) {
				t.Fatalf("two different 201 bodies:\n%s\n%s", created, ans.body)
			}
			created = ans.body
		case ans.status == http.StatusConflict && ans.code == "idempotency_key_in_use":
			inUse++
		default:
			t.Fatalf("answer %d %s", ans.status, ans.body)
		}
	}
	if created == nil {
		t.Fatal("no request succeeded")
	}
	if n := srv.count("call_outcome"); n != 1 {
		t.Fatalf("%d outcomes, want 1", n)
	}
	t.Logf("%d of 20 answered 409 idempotency_key_in_use, the rest the outcome", inUse)
	// Once the first has finished, every retry is the replay.
	res, body := srv.post(path, a.Key, "retry-me", `{"outcomeType":"Meeting_Booked"}`)
	if res.StatusCode != http.StatusCreated || string(body) != string(created) {
		t.Fatalf("retry after the race: %d %s", res.StatusCode, body)
	}
}

// TestIdempotencyScope: keys are per organization, failed answers are not
// stored, and a request without a key is not affected.
func TestIdempotencyScope(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a, b := srv.newOrg("Acme"), srv.newOrg("Globex")

	ra, bodyA := srv.post("/v1/prospects", a.Key, "same-key", `{"name":"A"}`)
	rb, bodyB := srv.post("/v1/prospects", b.Key, "same-key", `{"name":"B"}`)
	if ra.StatusCode != 201 || rb.StatusCode != 201 || string(bodyA) == string(bodyB) {
		t.Fatalf("per-organization keys: %d %s / %d %s", ra.StatusCode, bodyA, rb.StatusCode, bodyB)
	}
	if rb.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("B's request was answered with A's")
	}

	// A refused outcome is not stored: once the call is started, the same key works.
	_, scheduled := fixture(t, a, intp(900), client.CallCreateStatusScheduled)
	path := "/v1/calls/" + scheduled.Id.String() + "/outcome"
	res, body := srv.post(path, a.Key, "after-start", `{"outcomeType":"Meeting_Booked"}`)
	problemOf(t, res, body, http.StatusConflict, "call_not_in_progress")
	if n := srv.count("idempotency_key"); n != 2 {
		t.Fatalf("%d stored keys, want 2 (only the successes)", n)
	}
	if res, body := srv.post("/v1/calls/"+scheduled.Id.String()+"/start", a.Key, "", ``); res.StatusCode != 200 {
		t.Fatalf("start: %d %s", res.StatusCode, body)
	}
	res, body = srv.post(path, a.Key, "after-start", `{"outcomeType":"Meeting_Booked"}`)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("outcome after start: %d %s", res.StatusCode, body)
	}

	// Without a key, the same request twice writes twice.
	before := srv.count("prospect")
	srv.post("/v1/prospects", a.Key, "", `{"name":"Twin"}`)
	srv.post("/v1/prospects", a.Key, "", `{"name":"Twin"}`)
	if n := srv.count("prospect"); n != before+2 {
		t.Fatalf("%d prospects, want %d", n, before+2)
	}

	// A key longer than 255 characters is bad input.
	res, body = srv.post("/v1/prospects", a.Key, strings.Repeat("k", 256), `{"name":"A"}`)
	problemOf(t, res, body, http.StatusBadRequest, "invalid_request")
}

// TestIdempotencyScopeAndSameValue: a key's scope is the route and its ids as
// UUIDs, whatever their case; the same JSON value, however spelled, is a replay
// that writes nothing; a different value (array order included) is 422.
func TestIdempotencyScopeAndSameValue(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	_, call := fixture(t, a, intp(900), client.CallCreateStatusInProgress)

	replays := func(t *testing.T, path, key, body, again string) {
		t.Helper()
		first, firstBody := srv.post(path, a.Key, key, body)
		if first.StatusCode != http.StatusCreated {
			t.Fatalf("first: %d %s", first.StatusCode, firstBody)
		}
		snap := srv.snapshot()
		res, resBody := srv.post(strings.Replace(path, call.Id.String(), strings.ToUpper(call.Id.String()), 1), a.Key, key, again)
		if res.StatusCode != http.StatusCreated || res.Header.Get("Idempotent-Replayed") != "true" || string(resBody) != string(firstBody) {
			t.Fatalf("not a replay: %d %q %s", res.StatusCode, res.Header.Get("Idempotent-Replayed"), resBody)
		}
		if got := srv.snapshot(); !equalMaps(snap, got) {
			t.Fatalf("the replay changed data: %v -> %v", snap, got)
		}
	}
	t.Run("UpperCaseUUIDIsTheSameScope", func(t *testing.T) {
		path := "/v1/calls/" + call.Id.String() + "/objections"
		replays(t, path, "objection-1", `{"objection":"price","outcome":"Deferred"}`, `{"objection":"price","outcome":"Deferred"}`)
		if n := srv.count("objection_response"); n != 1 {
			t.Fatalf("%d objections stored, want 1", n)
		}
	})
	t.Run("WhitespaceAndMemberOrder", func(t *testing.T) {
		replays(t, "/v1/prospects", "prospect-1", `{"name":"Initech","clientCount":700}`, "{\n  \"clientCount\" : 700 ,\n  \"name\" : \"In\\u0069tech\"\n}")
	})
	t.Run("NumberSpellingButNotArrayOrder", func(t *testing.T) {
		path := "/v1/calls/" + call.Id.String() + "/outcome"
		replays(t, path, "outcome-1",
			`{"outcomeType":"Meeting_Booked","qualificationFlags":{"score":5,"tags":["a","b"]}}`,
			`{"qualificationFlags":{"tags":["a","b"],"score":5.0e0},"outcomeType":"Meeting_Booked"}`)
		snap := srv.snapshot()
		res, body := srv.post(path, a.Key, "outcome-1", `{"outcomeType":"Meeting_Booked","qualificationFlags":{"score":5,"tags":["b","a"]}}`)
		problemOf(t, res, body, http.StatusUnprocessableEntity, "idempotency_key_reused")
		if got := srv.snapshot(); !equalMaps(snap, got) {
			t.Fatalf("a reused key changed data: %v -> %v", snap, got)
		}
	})
	t.Run("KeySentTwice", func(t *testing.T) {
		snap := srv.snapshot()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/prospects", strings.NewReader(`{"name":"Twice"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+a.Key)
		req.Header.Add("Idempotency-Key", "one")
		req.Header.Add("Idempotency-Key", "two")
		res, err := srv.httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		p := problemOf(t, res, readAll(t, res), http.StatusBadRequest, "invalid_request")
		if !strings.HasPrefix(p.Detail, "Idempotency-Key:") {
			t.Fatalf("detail %q", p.Detail)
		}
		if got := srv.snapshot(); !equalMaps(snap, got) {
			t.Fatalf("changed data: %v -> %v", snap, got)
		}
	})
	t.Run("PrintableASCIIKeysWork", func(t *testing.T) {
		key := " !\"#$%&'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}~"
		replays(t, "/v1/prospects", key, `{"name":"Hooli"}`, `{"name":"Hooli"}`)
	})
}
