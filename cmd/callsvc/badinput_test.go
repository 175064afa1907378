package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/callsvc/callsvc/client"
)

// TestBadInput runs every case of the contract's "Bad input" section: each gets
// its status and code, a 400 names the field, and no case changes any data.
func TestBadInput(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	p, c := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	pid, cid := p.Id.String(), c.Id.String()
	const js = "application/json"
	big := `{"name":"` + strings.Repeat("x", 70<<10) + `"}`
	bigFlags := `{"outcomeType":"Meeting_Booked","qualificationFlags":{"k":"` + strings.Repeat("x", 17<<10) + `"}}`

	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		code, field                           string
	}{
		{"MalformedJSON", "POST", "/v1/prospects", js, `{"name":`, 400, "invalid_request", "body"},
		{"NotAnObject", "POST", "/v1/prospects", js, `[1]`, 400, "invalid_request", "body"},
		{"EmptyBody", "POST", "/v1/prospects", js, ``, 400, "invalid_request", "body"},
		{"WrongType", "POST", "/v1/prospects", js, `{"name":5}`, 400, "invalid_request", "name"},
		{"WrongTypeClientCount", "POST", "/v1/prospects", js, `{"name":"x","clientCount":"many"}`, 400, "invalid_request", "clientCount"},
		{"MissingField", "POST", "/v1/prospects", js, `{"clientCount":1}`, 400, "invalid_request", "name"},
		{"UnknownField", "POST", "/v1/prospects", js, `{"name":"x","color":"red"}`, 400, "invalid_request", "color"},
		{"UnknownFieldInPatch", "PATCH", "/v1/prospects/" + pid, js, `{"nmae":"x"}`, 400, "invalid_request", "nmae"},
		{"NullName", "PATCH", "/v1/prospects/" + pid, js, `{"name":null}`, 400, "invalid_request", "name"},
		{"EmptyName", "POST", "/v1/prospects", js, `{"name":""}`, 400, "invalid_request", "name"},
		{"BlankName", "POST", "/v1/prospects", js, `{"name":"   "}`, 400, "invalid_request", "name"},
		{"NameTooLong", "POST", "/v1/prospects", js, `{"name":"` + strings.Repeat("n", 201) + `"}`, 400, "invalid_request", "name"},
		{"NegativeClientCount", "POST", "/v1/prospects", js, `{"name":"x","clientCount":-1}`, 400, "invalid_request", "clientCount"},
		{"HugeClientCount", "POST", "/v1/prospects", js, `{"name":"x","clientCount":2147483648}`, 400, "invalid_request", "clientCount"},
		{"FractionalClientCount", "POST", "/v1/prospects", js, `{"name":"x","clientCount":1.5}`, 400, "invalid_request", "clientCount"},
		{"BadUUIDInPath", "GET", "/v1/calls/not-a-uuid", "", "", 400, "invalid_request", "callId"},
		{"BadUUIDInPathOfPost", "POST", "/v1/calls/123/outcome", js, `{"outcomeType":"Meeting_Booked"}`, 400, "invalid_request", "callId"},
		{"BadUUIDInBody", "POST", "/v1/calls", js, `{"prospectId":"nope"}`, 400, "invalid_request", "prospectId"},
		{"BadUUIDInQuery", "GET", "/v1/calls?prospectId=nope", "", "", 400, "invalid_request", "prospectId"},
		{"BadEnumInBody", "POST", "/v1/calls/" + cid + "/outcome", js, `{"outcomeType":"Sold"}`, 400, "invalid_request", "outcomeType"},
		{"CompletedIsNotACreateStatus", "POST", "/v1/calls", js, `{"prospectId":"` + pid + `","status":"completed"}`, 400, "invalid_request", "status"},
		{"BadEnumInQuery", "GET", "/v1/calls?status=done", "", "", 400, "invalid_request", "status"},
		{"ObjectionEmpty", "POST", "/v1/calls/" + cid + "/objections", js, `{"objection":"","outcome":"Resolved"}`, 400, "invalid_request", "objection"},
		{"ObjectionTooLong", "POST", "/v1/calls/" + cid + "/objections", js, `{"objection":"` + strings.Repeat("o", 2001) + `","outcome":"Resolved"}`, 400, "invalid_request", "objection"},
		{"ResponseTooLong", "POST", "/v1/calls/" + cid + "/objections", js, `{"objection":"x","response":"` + strings.Repeat("r", 4001) + `","outcome":"Resolved"}`, 400, "invalid_request", "response"},
		{"ReasonTooLong", "POST", "/v1/calls/" + cid + "/outcome", js, `{"outcomeType":"Disqualified","disqualificationReason":"` + strings.Repeat("r", 2001) + `"}`, 400, "invalid_request", "disqualificationReason"},
		{"FlagsNotObject", "POST", "/v1/calls/" + cid + "/outcome", js, `{"outcomeType":"Meeting_Booked","qualificationFlags":"yes"}`, 400, "invalid_request", "qualificationFlags"},
		{"FlagsOver16KiB", "POST", "/v1/calls/" + cid + "/outcome", js, bigFlags, 400, "invalid_request", "qualificationFlags"},
		{"LimitZero", "GET", "/v1/prospects?limit=0", "", "", 400, "invalid_request", "limit"},
		{"Limit101", "GET", "/v1/calls?limit=101", "", "", 400, "invalid_request", "limit"},
		{"LimitNotANumber", "GET", "/v1/prospects?limit=ten", "", "", 400, "invalid_request", "limit"},
		{"ForgedCursor", "GET", "/v1/prospects?cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", "", 400, "invalid_request", "cursor"},
		{"GarbageCursor", "GET", "/v1/calls/" + cid + "/objections?cursor=%25%25", "", "", 400, "invalid_request", "cursor"},
		{"IdempotencyKeyTooLong", "POST", "/v1/prospects", js, `{"name":"x"}`, 400, "invalid_request", "Idempotency-Key"},
		{"BodyOver64KiB", "POST", "/v1/prospects", js, big, 413, "request_too_large", ""},
		{"TextPlain", "POST", "/v1/prospects", "text/plain", `{"name":"x"}`, 415, "unsupported_media_type", ""},
		{"FormEncoded", "PATCH", "/v1/prospects/" + pid, "application/x-www-form-urlencoded", `name=x`, 415, "unsupported_media_type", ""},
		{"NoContentType", "POST", "/v1/calls/" + cid + "/objections", "", `{"objection":"x","outcome":"Resolved"}`, 415, "unsupported_media_type", ""},
		{"UnknownRoute", "GET", "/v1/nothing-here", "", "", 404, "not_found", ""},
		{"UnknownRouteOutsideV1", "GET", "/favicon.ico", "", "", 404, "not_found", ""},
		{"WrongMethod", "DELETE", "/v1/prospects/" + pid, "", "", 405, "method_not_allowed", ""},
		{"WrongMethodOnCollection", "PUT", "/v1/calls", js, `{}`, 405, "method_not_allowed", ""},
	}
	before := srv.snapshot()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+a.Key)
			if tc.name == "IdempotencyKeyTooLong" {
				req.Header.Set("Idempotency-Key", strings.Repeat("k", 256))
			}
			res, err := srv.httpClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, res)
			prob := problemOf(t, res, body, tc.status, tc.code)
			t.Logf("detail: %s", prob.Detail)
			if tc.field != "" && !strings.HasPrefix(prob.Detail, tc.field+":") {
				t.Errorf("detail %q does not name %s", prob.Detail, tc.field)
			}
			if tc.status == http.StatusMethodNotAllowed && res.Header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
		})
	}
	if after := srv.snapshot(); !equalMaps(before, after) {
		t.Fatalf("bad input changed data: before %v after %v", before, after)
	}

	t.Run("AllowListsTheSpecMethods", func(t *testing.T) {
		res, _ := srv.raw("DELETE", "/v1/prospects/"+uuid.NewString(), "", "", a.Key)
		if got := res.Header.Get("Allow"); got != "GET, PATCH" {
			t.Fatalf("Allow %q, want GET, PATCH", got)
		}
		res, _ = srv.raw("OPTIONS", "/v1/calls", "", "", a.Key)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, POST" {
			t.Fatalf("OPTIONS: %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
		}
	})
}
