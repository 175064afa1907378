package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
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
	outcome := "/v1/calls/" + cid + "/outcome"
	withFlags := func(flags string) string {
		return `{"outcomeType":"Meeting_Booked","qualificationFlags":` + flags + `}`
	}
	// 250 numbers of 131072 digits in 4.3 KB: PostgreSQL would build ~33 MB, then fail.
	var manyExponents []string
	for i := range 250 {
		manyExponents = append(manyExponents, fmt.Sprintf(`"k%03d":1e131071`, i))
	}
	hugeFlags := withFlags("{" + strings.Join(manyExponents, ",") + "}")
	// The cursor format before cursors were signed, holding a time PostgreSQL refuses.
	var oldCursor [25]byte
	oldCursor[0] = 1
	binary.BigEndian.PutUint64(oldCursor[1:9], math.MaxInt64)
	outOfRangeCursor := base64.RawURLEncoding.EncodeToString(oldCursor[:])
	fixture(t, a, intp(900), client.CallCreateStatusScheduled) // a second page of prospects
	page, body := srv.raw("GET", "/v1/prospects?limit=1", "", "", a.Key)
	var list client.ProspectList
	if err := json.Unmarshal(body, &list); err != nil || page.StatusCode != http.StatusOK || list.NextCursor.IsNull() {
		t.Fatalf("first page: %d %s", page.StatusCode, body)
	}
	cursor := list.NextCursor.MustGet()
	tampered := cursor[:len(cursor)-2] + map[bool]string{true: "AA", false: "BA"}[strings.HasSuffix(cursor, "AA")]
	idemKey := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }

	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		code, field                           string
		header                                map[string]string
	}{
		{"MalformedJSON", "POST", "/v1/prospects", js, `{"name":`, 400, "invalid_request", "body", nil},
		{"NotAnObject", "POST", "/v1/prospects", js, `[1]`, 400, "invalid_request", "body", nil},
		{"EmptyBody", "POST", "/v1/prospects", js, ``, 400, "invalid_request", "body", nil},
		{"WrongType", "POST", "/v1/prospects", js, `{"name":5}`, 400, "invalid_request", "name", nil},
		{"WrongTypeClientCount", "POST", "/v1/prospects", js, `{"name":"x","clientCount":"many"}`, 400, "invalid_request", "clientCount", nil},
		{"MissingField", "POST", "/v1/prospects", js, `{"clientCount":1}`, 400, "invalid_request", "name", nil},
		{"UnknownField", "POST", "/v1/prospects", js, `{"name":"x","color":"red"}`, 400, "invalid_request", "color", nil},
		{"UnknownFieldInPatch", "PATCH", "/v1/prospects/" + pid, js, `{"nmae":"x"}`, 400, "invalid_request", "nmae", nil},
		{"NullName", "PATCH", "/v1/prospects/" + pid, js, `{"name":null}`, 400, "invalid_request", "name", nil},
		{"EmptyName", "POST", "/v1/prospects", js, `{"name":""}`, 400, "invalid_request", "name", nil},
		{"BlankName", "POST", "/v1/prospects", js, `{"name":"   "}`, 400, "invalid_request", "name", nil},
		{"NameTooLong", "POST", "/v1/prospects", js, `{"name":"` + strings.Repeat("n", 201) + `"}`, 400, "invalid_request", "name", nil},
		{"NegativeClientCount", "POST", "/v1/prospects", js, `{"name":"x","clientCount":-1}`, 400, "invalid_request", "clientCount", nil},
		{"HugeClientCount", "POST", "/v1/prospects", js, `{"name":"x","clientCount":2147483648}`, 400, "invalid_request", "clientCount", nil},
		{"FractionalClientCount", "POST", "/v1/prospects", js, `{"name":"x","clientCount":1.5}`, 400, "invalid_request", "clientCount", nil},
		{"BadUUIDInPath", "GET", "/v1/calls/not-a-uuid", "", "", 400, "invalid_request", "callId", nil},
		{"BadUUIDInPathOfPost", "POST", "/v1/calls/123/outcome", js, `{"outcomeType":"Meeting_Booked"}`, 400, "invalid_request", "callId", nil},
		{"BadUUIDInBody", "POST", "/v1/calls", js, `{"prospectId":"nope"}`, 400, "invalid_request", "prospectId", nil},
		{"BadUUIDInQuery", "GET", "/v1/calls?prospectId=nope", "", "", 400, "invalid_request", "prospectId", nil},
		{"BadEnumInBody", "POST", "/v1/calls/" + cid + "/outcome", js, `{"outcomeType":"Sold"}`, 400, "invalid_request", "outcomeType", nil},
		{"CompletedIsNotACreateStatus", "POST", "/v1/calls", js, `{"prospectId":"` + pid + `","status":"completed"}`, 400, "invalid_request", "status", nil},
		{"BadEnumInQuery", "GET", "/v1/calls?status=done", "", "", 400, "invalid_request", "status", nil},
		{"ObjectionEmpty", "POST", "/v1/calls/" + cid + "/objections", js, `{"objection":"","outcome":"Resolved"}`, 400, "invalid_request", "objection", nil},
		{"ObjectionTooLong", "POST", "/v1/calls/" + cid + "/objections", js, `{"objection":"` + strings.Repeat("o", 2001) + `","outcome":"Resolved"}`, 400, "invalid_request", "objection", nil},
		{"ResponseTooLong", "POST", "/v1/calls/" + cid + "/objections", js, `{"objection":"x","response":"` + strings.Repeat("r", 4001) + `","outcome":"Resolved"}`, 400, "invalid_request", "response", nil},
		{"ReasonTooLong", "POST", "/v1/calls/" + cid + "/outcome", js, `{"outcomeType":"Disqualified","disqualificationReason":"` + strings.Repeat("r", 2001) + `"}`, 400, "invalid_request", "disqualificationReason", nil},
		{"FlagsNotObject", "POST", "/v1/calls/" + cid + "/outcome", js, `{"outcomeType":"Meeting_Booked","qualificationFlags":"yes"}`, 400, "invalid_request", "qualificationFlags", nil},
		{"FlagsOver16KiB", "POST", "/v1/calls/" + cid + "/outcome", js, bigFlags, 400, "invalid_request", "qualificationFlags", nil},
		{"LimitZero", "GET", "/v1/prospects?limit=0", "", "", 400, "invalid_request", "limit", nil},
		{"Limit101", "GET", "/v1/calls?limit=101", "", "", 400, "invalid_request", "limit", nil},
		{"LimitNotANumber", "GET", "/v1/prospects?limit=ten", "", "", 400, "invalid_request", "limit", nil},
		{"ForgedCursor", "GET", "/v1/prospects?cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", "", 400, "invalid_request", "cursor", nil},
		{"GarbageCursor", "GET", "/v1/calls/" + cid + "/objections?cursor=%25%25", "", "", 400, "invalid_request", "cursor", nil},
		{"IdempotencyKeyTooLong", "POST", "/v1/prospects", js, `{"name":"x"}`, 400, "invalid_request", "Idempotency-Key", idemKey(strings.Repeat("k", 256))},
		{"BodyOver64KiB", "POST", "/v1/prospects", js, big, 413, "request_too_large", "", nil},
		{"TextPlain", "POST", "/v1/prospects", "text/plain", `{"name":"x"}`, 415, "unsupported_media_type", "", nil},
		{"FormEncoded", "PATCH", "/v1/prospects/" + pid, "application/x-www-form-urlencoded", `name=x`, 415, "unsupported_media_type", "", nil},
		{"NoContentType", "POST", "/v1/calls/" + cid + "/objections", "", `{"objection":"x","outcome":"Resolved"}`, 415, "unsupported_media_type", "", nil},
		{"UnknownRoute", "GET", "/v1/nothing-here", "", "", 404, "not_found", "", nil},
		{"UnknownRouteOutsideV1", "GET", "/favicon.ico", "", "", 404, "not_found", "", nil},
		{"WrongMethod", "DELETE", "/v1/prospects/" + pid, "", "", 405, "method_not_allowed", "", nil},
		{"WrongMethodOnCollection", "PUT", "/v1/calls", js, `{}`, 405, "method_not_allowed", "", nil},

		// Issue 12: hostile and sloppy input, each refused before any SQL.
		{"TrailingGarbage", "POST", "/v1/prospects", js, `{"name":"x"}garbage`, 400, "invalid_request", "body", nil},
		{"TwoValues", "POST", "/v1/prospects", js, `{"name":"x"} {"name":"y"}`, 400, "invalid_request", "body", nil},
		{"DuplicateName", "POST", "/v1/prospects", js, `{"name":"a","name":"b"}`, 400, "invalid_request", "name", nil},
		{"DuplicateNameDeep", "POST", outcome, js, withFlags(`{"a":[{"b":1,"b":2}]}`), 400, "invalid_request", "qualificationFlags.a.0.b", nil},
		{"FlagsLoneSurrogate", "POST", outcome, js, withFlags(`{"a":"\ud800"}`), 400, "invalid_request", "qualificationFlags.a", nil},
		{"FlagsLoneSurrogateKey", "POST", outcome, js, withFlags(`{"\udc00":1}`), 400, "invalid_request", "qualificationFlags", nil},
		{"FlagsRawFFByte", "POST", outcome, js, withFlags("{\"a\":\"\xff\"}"), 400, "invalid_request", "qualificationFlags.a", nil},
		{"FlagsNUL", "POST", outcome, js, withFlags(`{"a":"\u0000"}`), 400, "invalid_request", "qualificationFlags.a", nil},
		{"NameNUL", "POST", "/v1/prospects", js, `{"name":"a\u0000b"}`, 400, "invalid_request", "name", nil},
		{"FlagsNumberTooBig", "POST", outcome, js, withFlags(`{"a":1e1000000}`), 400, "invalid_request", "qualificationFlags.a", nil},
		{"FlagsNumberTooSmall", "POST", outcome, js, withFlags(`{"a":1e-1000000}`), 400, "invalid_request", "qualificationFlags.a", nil},
		{"FlagsManyHugeExponents", "POST", outcome, js, hugeFlags, 400, "invalid_request", "qualificationFlags.k000", nil},
		{"CursorOutOfRange", "GET", "/v1/prospects?cursor=" + outOfRangeCursor, "", "", 400, "invalid_request", "cursor", nil},
		{"CursorTampered", "GET", "/v1/prospects?limit=1&cursor=" + tampered, "", "", 400, "invalid_request", "cursor", nil},
		{"CursorOfAnotherList", "GET", "/v1/calls?cursor=" + cursor, "", "", 400, "invalid_request", "cursor", nil},
		{"IdempotencyKeyNotUTF8", "POST", "/v1/prospects", js, `{"name":"x"}`, 400, "invalid_request", "Idempotency-Key", idemKey("\xff\xfe")},
		{"IdempotencyKeyNotASCII", "POST", "/v1/prospects", js, `{"name":"x"}`, 400, "invalid_request", "Idempotency-Key", idemKey(strings.Repeat("é", 200))},
		{"IdempotencyKeyEmpty", "POST", "/v1/prospects", js, `{"name":"x"}`, 400, "invalid_request", "Idempotency-Key", idemKey("")},
		{"IdempotencyKeyTab", "POST", "/v1/prospects", js, `{"name":"x"}`, 400, "invalid_request", "Idempotency-Key", idemKey("a\tb")},
		{"CharsetLatin1", "POST", "/v1/prospects", "application/json; charset=latin1", "{\"name\":\"Caf\xe9\"}", 415, "unsupported_media_type", "", nil},
		{"CharsetQuotedUpperCase", "POST", "/v1/prospects", `application/json; charset="ISO-8859-1"`, `{"name":"x"}`, 415, "unsupported_media_type", "", nil},
		{"CharsetOnMergePatch", "PATCH", "/v1/prospects/" + pid, "application/merge-patch+json; charset=utf-16", `{"name":"x"}`, 415, "unsupported_media_type", "", nil},
		{"ClientCountOneDotZero", "POST", "/v1/prospects", js, `{"name":"x","clientCount":1.0}`, 400, "invalid_request", "clientCount", nil},
		{"ClientCountExponent", "POST", "/v1/prospects", js, `{"name":"x","clientCount":1e3}`, 400, "invalid_request", "clientCount", nil},
		{"ClientCountExponentInPatch", "PATCH", "/v1/prospects/" + pid, js, `{"clientCount":5e2}`, 400, "invalid_request", "clientCount", nil},
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
			for k, v := range tc.header {
				req.Header[k] = []string{v} // as given, even empty
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
		if got := res.Header.Get("Allow"); got != "GET, HEAD, PATCH" {
			t.Fatalf("Allow %q, want GET, HEAD, PATCH", got)
		}
		res, _ = srv.raw("OPTIONS", "/v1/calls", "", "", a.Key)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD, POST" {
			t.Fatalf("OPTIONS: %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
		}
	})
}

// TestHeadIsGetWithoutBody: HEAD answers wherever GET does, with GET's status and
// headers and no body, and changes nothing; where GET is not served it is 405.
func TestHeadIsGetWithoutBody(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	p, c := fixture(t, a, intp(900), client.CallCreateStatusInProgress)
	before := srv.snapshot()
	for _, tc := range []struct {
		path, key string
		status    int
	}{
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/openapi.json", "", 200},
		{"/docs", "", 200},
		{"/v1/prospects", a.Key, 200},
		{"/v1/prospects?limit=1", a.Key, 200},
		{"/v1/prospects/" + p.Id.String(), a.Key, 200},
		{"/v1/prospects/" + uuid.NewString(), a.Key, 404},
		{"/v1/prospects", "", 401},
		{"/v1/calls?status=done", a.Key, 400},
		{"/v1/calls/" + c.Id.String(), a.Key, 200},
		{"/v1/calls/" + c.Id.String() + "/objections", a.Key, 200},
		{"/v1/calls/" + c.Id.String() + "/outcome", a.Key, 404},
		{"/v1/nothing-here", a.Key, 404},
	} {
		t.Run(tc.path, func(t *testing.T) {
			get, getBody := srv.raw("GET", tc.path, "", "", tc.key)
			head, headBody := srv.raw("HEAD", tc.path, "", "", tc.key)
			if get.StatusCode != tc.status || head.StatusCode != tc.status {
				t.Fatalf("GET %d, HEAD %d, want %d", get.StatusCode, head.StatusCode, tc.status)
			}
			if len(headBody) != 0 || len(getBody) == 0 {
				t.Fatalf("HEAD body %d bytes, GET body %d bytes", len(headBody), len(getBody))
			}
			for name := range get.Header {
				switch name {
				case "Date", "X-Request-Id", "Content-Length":
					continue // per request; HEAD may leave Content-Length out
				}
				if got, want := head.Header.Values(name), get.Header.Values(name); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("%s: HEAD %q, GET %q", name, got, want)
				}
			}
			if n := head.Header.Get("Content-Length"); n != "" && n != get.Header.Get("Content-Length") {
				t.Errorf("Content-Length: HEAD %s, GET %s", n, get.Header.Get("Content-Length"))
			}
			if head.Header.Get("X-Request-Id") == "" {
				t.Error("HEAD answer without X-Request-Id")
			}
		})
	}
	t.Run("NotWhereGetIsNot", func(t *testing.T) {
		res, body := srv.raw("HEAD", "/v1/calls/"+c.Id.String()+"/start", "", "", a.Key)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" || len(body) != 0 {
			t.Fatalf("HEAD on a POST route: %d Allow %q body %q", res.StatusCode, res.Header.Get("Allow"), body)
		}
	})
	if after := srv.snapshot(); !equalMaps(before, after) {
		t.Fatalf("HEAD changed data: before %v after %v", before, after)
	}
}
