package httpapi

import (
	"log/slog"
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
	require.ElementsMatch(t, spec, served, "served routes and spec operations")
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
