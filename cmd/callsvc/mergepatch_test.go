package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/callsvc/callsvc/client"
)

// TestPatchAcceptsMergePatchMediaType: PATCH takes RFC 7396's own media type as
// well as application/json, with the same merge semantics; other routes do not.
func TestPatchAcceptsMergePatchMediaType(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	p, _ := fixture(t, a, intp(900), client.CallCreateStatusScheduled)

	res, body := srv.raw(http.MethodPatch, "/v1/prospects/"+p.Id.String(), "application/merge-patch+json", `{"clientCount": null}`, a.Key)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PATCH merge-patch+json: %d %s", res.StatusCode, body)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got["clientCount"] != nil || got["advisoryMode"] != true || got["name"] != p.Name {
		t.Fatalf("merge patch gave %v", got)
	}

	snap := srv.snapshot()
	res, body = srv.raw(http.MethodPost, "/v1/prospects", "application/merge-patch+json", `{"name": "X"}`, a.Key)
	problemOf(t, res, body, http.StatusUnsupportedMediaType, "unsupported_media_type")
	res, body = srv.raw(http.MethodPatch, "/v1/prospects/"+p.Id.String(), "application/merge-patch+json", `{"name": null}`, a.Key)
	problemOf(t, res, body, http.StatusBadRequest, "invalid_request")
	if got := srv.snapshot(); !equalMaps(got, snap) {
		t.Fatalf("refused requests changed data: %v -> %v", snap, got)
	}
}
