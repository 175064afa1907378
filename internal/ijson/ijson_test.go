package ijson

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	for name, tc := range map[string]struct {
		body, field, reason string // field "" means accepted
	}{
		"Object":              {`{"name":"x","clientCount":5}`, "", ""},
		"Scalar":              {` "x" `, "", ""},
		"Nested":              {`{"a":[1,{"b":[true,null]}],"c":{}}`, "", ""},
		"SurrogatePair":       {`{"a":"\ud83d\ude00"}`, "", ""},
		"EscapedBackslashU":   {`{"a":"\\u0000"}`, "", ""},
		"Zeros":               {`[0, -0, 0.0, 0e-1000000, -0E+99999]`, "", ""},
		"DoubleLimits":        {`[1.7976931348623157e308, 2.2250738585072014e-308, -1e308]`, "", ""},
		"AtMaxDepth":          {strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), "", ""},
		"Empty":               {``, "body", "a JSON value is required"},
		"Whitespace":          {" \n", "body", "a JSON value is required"},
		"Truncated":           {`{"name":`, "body", "unexpected end of input"},
		"TrailingGarbage":     {`{"name":"x"}garbage`, "body", "unexpected data after the JSON value"},
		"TwoValues":           {`{"name":"x"} {"name":"y"}`, "body", "unexpected data after the JSON value"},
		"DuplicateName":       {`{"name":"a","name":"b"}`, "name", "duplicate member name"},
		"DuplicateDeep":       {`{"a":[1,{"b":2,"b":3}]}`, "a.1.b", "duplicate member name"},
		"DuplicateEscaped":    {`{"a":1,"\u0061":2}`, "a", "duplicate member name"},
		"LoneSurrogate":       {`{"qualificationFlags":{"a":"\ud800"}}`, "qualificationFlags.a", "surrogate"},
		"LoneSurrogateName":   {`{"qualificationFlags":{"\udc00":1}}`, "qualificationFlags", "surrogate"},
		"InvalidUTF8":         {"{\"qualificationFlags\":{\"a\":\"\xff\"}}", "qualificationFlags.a", "UTF-8"},
		"InvalidUTF8Name":     {"{\"\xff\":1}", "body", "UTF-8"},
		"NUL":                 {`{"name":"a\u0000b"}`, "name", "NUL"},
		"NULName":             {`{"a\u0000":1}`, "a\x00", "NUL"},
		"Huge":                {`{"qualificationFlags":{"a":1e1000000}}`, "qualificationFlags.a", "out of range"},
		"Tiny":                {`{"qualificationFlags":{"a":1e-1000000}}`, "qualificationFlags.a", "out of range"},
		"Subnormal":           {`[1e-310]`, "0", "out of range"},
		"JustAboveMax":        {`[1.8e308]`, "0", "out of range"},
		"TooDeep":             {deep, strings.TrimSuffix(strings.Repeat("0.", MaxDepth), "."), "nested deeper"},
		"DuplicateEmptyName":  {`{"":1,"":2}`, `""`, "duplicate"},
		"NonStringName":       {`{1:2}`, "body", "malformed JSON"},
		"LongNameIsShortened": {`{"` + strings.Repeat("n", 500) + `":1,"` + strings.Repeat("n", 500) + `":2}`, strings.Repeat("n", 64) + "…", "duplicate"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := Check([]byte(tc.body))
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var e *Error
			require.True(t, errors.As(err, &e), "got %v", err)
			require.Equal(t, tc.field, e.Field(), "reason %q", e.Reason)
			require.Contains(t, e.Reason, tc.reason)
		})
	}
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	same := []string{
		`{"b":5,"a":[1,"x"]}`,
		"{ \"a\" : [ 1.0 , \"\\u0078\" ] ,\n \"b\" : 5e0 }",
		`{"a":[10e-1,"x"],"b":0.5E1}`,
	}
	want, err := Canonical([]byte(same[0]))
	require.NoError(t, err)
	require.Equal(t, `{"a":[1,"x"],"b":5}`, string(want))
	for _, s := range same[1:] {
		got, err := Canonical([]byte(s))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), s)
	}
	other, err := Canonical([]byte(`{"a":["x",1],"b":5}`))
	require.NoError(t, err)
	require.NotEqual(t, string(want), string(other), "array order matters")
	_, err = Canonical([]byte(`{"a":1,"a":1}`))
	require.Error(t, err)
}

func TestCompact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{ "a" : [ 1 , 2.50 ] }`:             `{"a":[1,2.50]}`,
		`[1e3, 1.5e2, 1E-3, -12.5e-1]`:       `[1000,150,0.001,-1.25]`,
		`[1.50e1, 0.0001e4, 123e-1]`:         `[15.0,1,12.3]`,
		`[0e99999999999999999999, -0e5]`:     `[0,0]`,
		`[0.00000000000000000000001e23]`:     `[1]`,
		`[12345678901234567890123e-3]`:       `[12345678901234567890.123]`,
		`{"s":"\u00e9\n","t":true,"n":null}`: `{"s":"é\n","t":true,"n":null}`,
		`[1e300]`:                            `[1` + strings.Repeat("0", 300) + `]`,
	} {
		got, err := Compact([]byte(in))
		require.NoError(t, err, in)
		require.Equal(t, want, string(got), in)
	}
	_, err := Compact([]byte(`{"a":1e400}`))
	require.Error(t, err)
}
