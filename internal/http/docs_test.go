package httpapi

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTakesGzip(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]bool{
		"":                     true, // no Accept-Encoding: any coding will do
		"gzip":                 true,
		"gzip, deflate, br":    true,
		"br;q=1.0, GZIP;q=0.5": true,
		"*":                    true,
		"identity":             false,
		"gzip;q=0":             false,
		"br, gzip; q=0":        false,
		"deflate":              false,
	} {
		var values []string
		if header != "" {
			values = []string{header}
		}
		require.Equal(t, want, takesGzip(values), "Accept-Encoding: %q", header)
	}
}

// TestDocsScriptIsTheBundle: the embedded gzip holds the Redoc bundle, whole.
func TestDocsScriptIsTheBundle(t *testing.T) {
	t.Parallel()
	zr, err := gzip.NewReader(bytes.NewReader(docsScriptGzip))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, plain, docsScript())
	require.Contains(t, string(plain[:100]), "redoc.standalone.js.LICENSE.txt")
}
