package service

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/ijson"
)

// FuzzFingerprint: two bodies get the same fingerprint exactly when they are the
// same JSON value (the same canonical form), whatever their spelling; bytes that
// are not JSON are compared as bytes; nothing panics. The seed corpus
// (testdata/fuzz/FuzzFingerprint) holds the pairs of issue 12.
func FuzzFingerprint(f *testing.F) {
	f.Add([]byte(`{"name":"x"}`), []byte(` { "name" : "x" } `))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		fa := requestFingerprint(IdempotentRequest{Key: "k", Method: "POST", Path: "/v1/prospects", Body: a})
		fb := requestFingerprint(IdempotentRequest{Key: "k", Method: "POST", Path: "/v1/prospects", Body: b})
		ca, errA := ijson.Canonical(a)
		cb, errB := ijson.Canonical(b)
		switch {
		case len(a) == 0 || len(b) == 0:
			require.Equal(t, len(a) == 0 && len(b) == 0, fa == fb)
		case errA == nil && errB == nil:
			require.Equal(t, string(ca) == string(cb), fa == fb, "%s / %s", ca, cb)
			compact, err := ijson.Compact(a)
			require.NoError(t, err)
			require.Equal(t, fa, requestFingerprint(IdempotentRequest{Method: "POST", Path: "/v1/prospects", Body: compact}))
		case errA != nil && errB != nil:
			require.Equal(t, string(a) == string(b), fa == fb)
		default:
			require.NotEqual(t, fa, fb, "JSON and not JSON")
		}
		other := requestFingerprint(IdempotentRequest{Method: "POST", Path: "/v1/calls", Body: a})
		require.NotEqual(t, fa, other, "the path is part of it")
	})
}
