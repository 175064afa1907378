package httpapi

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/callsvc/callsvc/internal/service"
)

// TestRoutesMatchSpec: every route the server answers is an operation of the
// spec, and every operation of the spec is served.
func TestRoutesMatchSpec(t *testing.T) {
	t.Parallel()
	e, err := New(Config{Service: service.New(nil, slog.New(slog.DiscardHandler)), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	served := Routes(e)
	spec, err := SpecRoutes()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(served)
	slices.Sort(spec)
	for _, r := range served {
		// HEAD is served wherever GET is, as HTTP has it; the spec lists the GET.
		mirrored, isHead := strings.CutPrefix(r, "HEAD ")
		if isHead && slices.Contains(spec, "GET "+mirrored) {
			continue
		}
		if !slices.Contains(spec, r) {
			t.Errorf("served but not in the spec: %s", r)
		}
	}
	for _, r := range spec {
		if path, isGet := strings.CutPrefix(r, "GET "); isGet && !slices.Contains(served, "HEAD "+path) {
			t.Errorf("GET without HEAD: %s", r)
		}
	}
	for _, r := range spec {
		if !slices.Contains(served, r) {
			t.Errorf("in the spec but not served: %s", r)
		}
	}
	if len(spec) != 19 {
		t.Errorf("%d operations in the spec, this test expected 19: %v", len(spec), spec)
	}
}

func TestValidRequestID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"":                        false,
		"a":                       true,
		"with space":              true,
		"tab\t":                   false,
		"caf\u00e9":               false,
		string(make([]byte, 201)): false,
	} {
		if got := validRequestID(id); got != want {
			t.Errorf("validRequestID(%q) = %v", id, got)
		}
	}
}
