package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/callsvc/callsvc/internal/ijson"
)

// outcomeBodies are typical POST /v1/calls/{id}/outcome bodies: what make bench
// sends, and one with the spec's example flags.
var outcomeBodies = []struct{ name, body string }{
	{"Bench", `{"outcomeType":"Meeting_Booked"}`},
	{"WithFlags", `{"outcomeType":"Follow_up_Scheduled","qualificationFlags":{"budgetConfirmed":true,"decisionMaker":"CFO","seats":120,"score":4.5,"tags":["q3","renewal"]}}`},
}

// BenchmarkOutcomeBody compares what reading an outcome body costs before and
// after the strict reader: "Before" is the binder it replaced (encoding/json's
// Decoder, which took trailing data and duplicate names); "After" is the strict
// check (ijson.Check) plus the binder now used (encoding/json/v2 semantics).
// Buffering, the validator and the handler are the same in both.
func BenchmarkOutcomeBody(b *testing.B) {
	e := echo.New()
	for _, tc := range outcomeBodies {
		body := []byte(tc.body)
		b.Run(tc.name+"/Before", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var v CreateOutcomeJSONRequestBody
				if err := json.NewDecoder(bytes.NewReader(body)).Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/After", func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/", nil)
			c := e.NewContext(req, nil)
			b.ReportAllocs()
			for b.Loop() {
				if err := ijson.Check(body); err != nil {
					b.Fatal(err)
				}
				req.Body = io.NopCloser(bytes.NewReader(body))
				var v CreateOutcomeJSONRequestBody
				if err := (jsonBodyBinder{}).Bind(&v, c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/CheckOnly", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := ijson.Check(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
