package ijson

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/require"
)

// FuzzCheck holds the body reader to its promise whatever the bytes: it never
// panics; what it refuses is an *Error that names a field; what it accepts is
// one valid JSON value in UTF-8 whose canonical and compact forms exist, are
// accepted again, and mean the same value. The seed corpus
// (testdata/fuzz/FuzzCheck) holds the bodies of issue 12.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"name":"Acme","clientCount":900,"qualificationFlags":{"a":[1,2.5e3,"x",null,true]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Check(b)
		if err != nil {
			var e *Error
			require.True(t, errors.As(err, &e), "%T %v", err, err)
			require.NotEmpty(t, e.Field())
			require.NotEmpty(t, e.Reason)
			require.True(t, utf8.ValidString(e.Error()))
			return
		}
		require.True(t, json.Valid(b), "accepted, but not JSON to encoding/json")
		require.True(t, utf8.Valid(b))
		require.NotContains(t, string(b), "\x00")

		canonical, err := Canonical(b)
		require.NoError(t, err)
		again, err := Canonical(canonical)
		require.NoError(t, err)
		require.Equal(t, string(canonical), string(again), "canonical form is stable")

		compact, err := Compact(b)
		require.NoError(t, err)
		require.NoError(t, Check(compact), "the written-out form is accepted too")
		viaCompact, err := Canonical(compact)
		require.NoError(t, err)
		require.Equal(t, string(canonical), string(viaCompact), "writing numbers out keeps the value")

		indented := jsontext.Value(bytes.Clone(b))
		require.NoError(t, indented.Indent())
		viaIndent, err := Canonical(indented)
		require.NoError(t, err)
		require.Equal(t, string(canonical), string(viaIndent), "whitespace does not matter")
	})
}
