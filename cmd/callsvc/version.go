package main

import (
	"fmt"
	"io"

	httpapi "github.com/callsvc/callsvc/internal/http"
	"github.com/callsvc/callsvc/internal/version"
)

// versionCmd prints which build this is and which API contract it serves.
func versionCmd(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usagef("version: unexpected argument %q", args[0])
	}
	spec, err := httpapi.GetSpec()
	if err != nil {
		return fmt.Errorf("version: read the embedded spec: %w", err)
	}
	_, err = io.WriteString(stdout, version.Get().Text(spec.Info.Version))
	return err
}
