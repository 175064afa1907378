package main

import (
	"os"
	"testing"

	"github.com/callsvc/callsvc/internal/dbtest"
)

// TestMain runs the real main when CALLSVC_TEST_RUN_MAIN is set, so CLI tests can
// execute this test binary as the callsvc program and see its exit code and
// stderr; otherwise it runs the tests against a fresh database per test.
func TestMain(m *testing.M) {
	if os.Getenv("CALLSVC_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	dbtest.Main(m)
}
