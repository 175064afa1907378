package httpapi

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/service"
)

// TestRoutesMatchSpec: every route the server answers is an operation of the
// spec, and every operation of the spec is served.
func TestRoutesMatchSpec(t *testing.T) {
	t.Parallel()
	e, err := New(Config{Service: service.New(nil, slog.New(slog.DiscardHandler)), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	served := Routes(e)
	spec, err := SpecRoutes()
	require.NoError(t, err)
	for _, r := range served {
		// HEAD is served wherever GET is, as HTTP has it; the spec lists the GET.
		mirrored, isHead := strings.CutPrefix(r, "HEAD ")
		if isHead {
			require.Contains(t, spec, "GET "+mirrored, "HEAD without GET")
			continue
		}
		require.Contains(t, spec, r, "served but not in the spec")
	}
	for _, r := range spec {
		require.Contains(t, served, r, "in the spec but not served")
		if path, isGet := strings.CutPrefix(r, "GET "); isGet {
			require.Contains(t, served, "HEAD "+path, "GET without HEAD")
		}
	}
	require.Len(t, spec, 24, "operations in the spec")
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
		require.Equal(t, want, validRequestID(id), "validRequestID(%q)", id)
	}
}
