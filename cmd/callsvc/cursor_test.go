package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/callsvc/callsvc/client"
)

// TestCursorsAcrossServers: a cursor one server issued works on another server
// of the same database with no setting (they share the key the migrations
// stored); a server given its own CALLSVC_CURSOR_KEY refuses it (400, nothing
// changed) and pages with its own.
func TestCursorsAcrossServers(t *testing.T) {
	t.Parallel()
	one := startServer(t)
	two := startServerWith(t, serverOptions{databaseURL: one.DBURL})
	rotated := startServerWith(t, serverOptions{databaseURL: one.DBURL, env: map[string]string{"CALLSVC_CURSOR_KEY": "an operator's key, 32 characters or more"}})
	a := one.newOrg("Acme")
	for range 3 {
		fixture(t, a, intp(900), client.CallCreateStatusScheduled)
	}
	page := func(srv *testServer, cursor string) (*http.Response, client.ProspectList, []byte) {
		t.Helper()
		path := "/v1/prospects?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res, body := srv.raw("GET", path, "", "", a.Key)
		var list client.ProspectList
		if res.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, &list); err != nil {
				t.Fatal(err)
			}
		}
		return res, list, body
	}
	_, first, _ := page(one, "")
	cursor := first.NextCursor.MustGet()

	res, second, body := page(two, cursor)
	if res.StatusCode != http.StatusOK || len(second.Items) != 1 || second.Items[0].Id == first.Items[1].Id {
		t.Fatalf("the other server's cursor: %d %s", res.StatusCode, body)
	}

	snap := one.snapshot()
	res, _, body = page(rotated, cursor)
	problemOf(t, res, body, http.StatusBadRequest, "invalid_request")
	if got := one.snapshot(); !equalMaps(snap, got) {
		t.Fatalf("a refused cursor changed data: %v -> %v", snap, got)
	}
	_, own, _ := page(rotated, "")
	if res, next, body := page(rotated, own.NextCursor.MustGet()); res.StatusCode != http.StatusOK || len(next.Items) != 1 {
		t.Fatalf("its own cursor: %d %s", res.StatusCode, body)
	}
}
