package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/ijson"
)

// TestQualificationFlagsRefusedBeforeSQL: every flags value PostgreSQL would
// refuse, or would blow up past the column's CHECK, is invalid input naming the
// field, and no outcome is written.
func TestQualificationFlagsRefusedBeforeSQL(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	c := b.call(t, ptr[int32](900), CallInProgress)
	// 250 numbers of 131072 digits each: PostgreSQL would build ~33 MB, then fail the CHECK.
	var huge strings.Builder
	huge.WriteString("{")
	for i := range 250 {
		if i > 0 {
			huge.WriteString(",")
		}
		fmt.Fprintf(&huge, `"k%03d":1e131071`, i)
	}
	huge.WriteString("}")
	// Within double range, but 1e300 written out is 301 digits: 60 of them are 18 KiB.
	var long strings.Builder
	long.WriteString("{")
	for i := range 60 {
		if i > 0 {
			long.WriteString(",")
		}
		fmt.Fprintf(&long, `"k%d":1e300`, i)
	}
	long.WriteString("}")

	for name, tc := range map[string]struct{ flags, field string }{
		"LoneSurrogate":     {`{"a":"\ud800"}`, "qualificationFlags.a"},
		"LoneSurrogateName": {`{"\udc00":1}`, "qualificationFlags"},
		"InvalidUTF8":       {"{\"a\":\"\xff\"}", "qualificationFlags.a"},
		"NUL":               {`{"a":"\u0000"}`, "qualificationFlags.a"},
		"Huge":              {`{"a":1e1000000}`, "qualificationFlags.a"},
		"Tiny":              {`{"a":1e-1000000}`, "qualificationFlags.a"},
		"ManyBigExponents":  {huge.String(), "qualificationFlags.k000"},
		"LongWrittenOut":    {long.String(), "qualificationFlags"},
		"Duplicate":         {`{"a":1,"a":2}`, "qualificationFlags.a"},
		"Trailing":          {`{"a":1} x`, "qualificationFlags"},
		"NotAnObject":       {`[1]`, "qualificationFlags"},
		"TooDeep":           {strings.Repeat(`{"a":`, ijson.MaxDepth+1) + "1" + strings.Repeat("}", ijson.MaxDepth+1), "qualificationFlags." + strings.TrimSuffix(strings.Repeat("a.", ijson.MaxDepth), ".")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked, QualificationFlags: json.RawMessage(tc.flags)})
			var inv *InvalidInputError
			require.True(t, errors.As(err, &inv), "%v", err)
			require.Equal(t, tc.field, inv.Field, inv.Reason)
		})
	}
	require.Zero(t, b.outcomeRows(t, c.ID))

	// Large exponents on values a double holds are written out first, and stored.
	out, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked, QualificationFlags: json.RawMessage(`{"zero": 0e5000, "one": 0.` + strings.Repeat("0", 1499) + `1e1500}`)})
	require.NoError(t, err)
	require.JSONEq(t, `{"zero": 0, "one": 1}`, string(out.QualificationFlags))
}

// TestCompactNumbersArePostgresNumbers: ijson.Compact writes a number the way
// PostgreSQL's jsonb prints it, digit for digit, so the size checked before SQL
// is the size stored.
func TestCompactNumbersArePostgresNumbers(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	for _, n := range []string{
		"0", "7", "-12", "1.50", "1e3", "1E+3", "-1.5e2", "1.50e1", "123e-1", "1e-3", "-2.5E-7",
		"0.0001e4", "0.000e3", "12345678901234567890123e-3", "1e300", "1.7976931348623157e308",
		"2.2250738585072014e-308", "0.00000000000000000000001e23", "0e-7",
	} {
		compact, err := ijson.Compact([]byte("[" + n + "]"))
		require.NoError(t, err, n)
		var stored string
		require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT ($1::text)::jsonb::text", string(compact)).Scan(&stored))
		require.Equal(t, stored, string(compact), n)
	}
}
