package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")

	for name, header := range map[string]string{
		"Missing":    "",
		"NotBearer":  "Basic " + a.Key,
		"Unknown":    "Bearer csk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"NoPrefix":   "Bearer hello",
		"EmptyToken": "Bearer ",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/v1/prospects", nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			res, err := srv.httpClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			problemOf(t, res, readAll(t, res), http.StatusUnauthorized, "unauthorized")
			if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate %q", res.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("SchemeIsCaseInsensitive", func(t *testing.T) {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/prospects", nil)
		req.Header.Set("Authorization", "bearer "+a.Key)
		res, err := srv.httpClient().Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%v %v", err, res.Status)
		}
		res.Body.Close()
	})
	t.Run("UnauthorizedBeforeValidation", func(t *testing.T) {
		// A caller without a key learns nothing about its request.
		for _, tc := range []struct{ method, path, ct, body string }{
			{"POST", "/v1/prospects", "application/json", `{"bogus":`},
			{"POST", "/v1/prospects", "text/plain", `x`},
			{"POST", "/v1/prospects", "application/json", strings.Repeat(" ", 70<<10)},
			{"GET", "/v1/calls/not-a-uuid", "", ""},
			{"GET", "/v1/prospects?limit=1000", "", ""},
		} {
			res, body := srv.raw(tc.method, tc.path, tc.ct, tc.body, "")
			problemOf(t, res, body, http.StatusUnauthorized, "unauthorized")
		}
	})
	t.Run("RoutesOutsideV1NeedNoKey", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/redoc.standalone.js"} {
			res, _ := srv.raw("GET", path, "", "", "")
			if res.StatusCode != http.StatusOK {
				t.Errorf("%s: %d", path, res.StatusCode)
			}
		}
	})
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	get := func(id string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/prospects", nil) // 401: a problem with requestId
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		res, err := srv.httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res, readAll(t, res)
	}
	for name, tc := range map[string]struct {
		sent string
		echo bool
	}{
		"Echoed":         {"client-id-42 with spaces", true},
		"Longest":        {strings.Repeat("r", 200), true},
		"TooLong":        {strings.Repeat("r", 201), false},
		"NotPrintable":   {"tab\there", false},
		"NonASCII":       {"caf\u00e9", false},
		"NoneSentIsMade": {"", false},
	} {
		t.Run(name, func(t *testing.T) {
			res, body := get(tc.sent)
			p := problemOf(t, res, body, http.StatusUnauthorized, "unauthorized")
			got := res.Header.Get("X-Request-Id")
			if tc.echo && got != tc.sent {
				t.Fatalf("X-Request-Id %q, want %q echoed", got, tc.sent)
			}
			if !tc.echo && (got == tc.sent || len(got) != 36) {
				t.Fatalf("X-Request-Id %q, want a new UUID", got)
			}
			if p.RequestId != got {
				t.Fatalf("requestId %q, header %q", p.RequestId, got)
			}
		})
	}
}
