package main

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/callsvc/callsvc/client"
)

// FuzzHTTP sends fuzzed bodies, media types, Idempotency-Keys and query strings
// to the real server on a test database, on every route that reads one of them,
// and holds it to the contract's promise for input: never a 5xx, and a 4xx
// changes no row. Each answer is also checked against the spec (checkingTransport).
// The seed corpus (testdata/fuzz/FuzzHTTP) has a file for each input issue 12
// found answered with 500 or wrongly accepted; `make test` runs them, `make fuzz`
// searches further.
func FuzzHTTP(f *testing.F) {
	srv := startServer(f)
	a := srv.newOrg("Acme")
	p, running := fixture(f, a, intp(900), client.CallCreateStatusInProgress)
	_, scheduled := fixture(f, a, intp(900), client.CallCreateStatusScheduled)
	pid, cid := p.Id.String(), running.Id.String()
	routes := []struct{ method, path string }{
		{"POST", "/v1/prospects"},
		{"PATCH", "/v1/prospects/" + pid},
		{"POST", "/v1/calls"},
		{"POST", "/v1/calls/" + cid + "/objections"},
		{"POST", "/v1/calls/" + strings.ToUpper(cid) + "/objections"},
		{"POST", "/v1/calls/{fresh}/outcome"}, // a new call in progress for each input
		{"POST", "/v1/calls/" + scheduled.Id.String() + "/start"},
		{"POST", "/v1/calls/" + scheduled.Id.String() + "/cancel"},
		{"GET", "/v1/prospects"},
		{"GET", "/v1/calls"},
		{"GET", "/v1/calls/" + cid + "/objections"},
		{"HEAD", "/v1/prospects"},
		{"HEAD", "/healthz"},
		{"GET", "/v1/prospects/" + pid},
	}
	f.Add(uint8(0), "application/json", false, "", "", []byte(`{"name":"Acme Wealth","clientCount":900}`))

	f.Fuzz(func(t *testing.T, route uint8, contentType string, sendKey bool, key, query string, body []byte) {
		s := *srv // the same server, checked and failed through this input's t
		s.t = t
		r := routes[int(route)%len(routes)]
		if strings.Contains(r.path, "{fresh}") {
			// An outcome decided by an earlier input would make every later one
			// 409 before its body reached the insert.
			o := a
			o.C = s.client(a.Key)
			_, call := fixture(t, o, intp(900), client.CallCreateStatusInProgress)
			r.path = strings.Replace(r.path, "{fresh}", call.Id.String(), 1)
		}
		u, err := url.Parse(srv.URL + r.path)
		if err != nil {
			t.Fatal(err)
		}
		u.RawQuery = query
		req, err := http.NewRequest(r.method, u.String(), strings.NewReader(string(body)))
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Authorization", "Bearer "+a.Key)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if sendKey {
			req.Header["Idempotency-Key"] = []string{key}
		}
		before := s.snapshot()
		res, err := s.httpClient().Do(req)
		var uerr *url.Error
		if errors.As(err, &uerr) && strings.Contains(err.Error(), "invalid header field") {
			return // net/http would not send it either
		}
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, u, err)
		}
		answer := readAll(t, res)
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s (Content-Type %q, Idempotency-Key %q) body %q: %d %s", r.method, u, contentType, key, body, res.StatusCode, answer)
		}
		if res.StatusCode >= 400 {
			if after := s.snapshot(); !equalMaps(before, after) {
				t.Fatalf("%s %s body %q: %d changed data: %v -> %v", r.method, u, body, res.StatusCode, before, after)
			}
		}
	})
}
