// Command callsvc serves callsvc's HTTP API and administers its database:
// migrations, organizations and API keys. Run `callsvc help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// main stays tiny (benbjohnson/wtf): everything testable lives in run.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// One line, whatever the error carries: no stack, no multi-line driver text.
		fmt.Fprintln(os.Stderr, "callsvc: "+strings.Join(strings.Fields(err.Error()), " "))
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
