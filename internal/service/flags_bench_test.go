package service

import (
	"bytes"
	"encoding/json"
	"testing"
)

// BenchmarkQualificationFlags: what the flags of a typical outcome cost before
// they reach SQL. "Before" is the check normalizeFlags replaced (json.Valid and
// a search for \u0000); "After" is normalizeFlags (checked and written out).
func BenchmarkQualificationFlags(b *testing.B) {
	flags := json.RawMessage(`{"budgetConfirmed":true,"decisionMaker":"CFO","seats":120,"score":4.5,"tags":["q3","renewal"]}`)
	b.Run("Before", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f := bytes.TrimSpace(flags)
			if f[0] != '{' || !json.Valid(f) || bytes.Contains(f, []byte(`\u0000`)) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("After", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := normalizeFlags(flags); err != nil {
				b.Fatal(err)
			}
		}
	})
}
