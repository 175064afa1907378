package main

import (
	"context"
	"fmt"
	"io"
)

// usageError is a mistake in the command line; main exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + " (run `callsvc help`)" }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

const usage = `callsvc — sales calls and their outcomes, decided exactly once.

Usage:
  callsvc serve [--addr HOST:PORT] [--migrate]   serve the HTTP API (default :8080)
  callsvc migrate [up|status|rollback]           apply, list or revert migrations (default up)
  callsvc org create --name NAME                 create an organization and its first API key
  callsvc key create --org ORGANIZATION_ID       issue another API key
  callsvc key revoke --id KEY_ID                 revoke a key (refused within 1 s)

Environment:
  DATABASE_URL            PostgreSQL URL (default ` + defaultDatabaseURL + `)
  CALLSVC_POOL_MAX_CONNS  connection pool size for serve (default 16)
  LOG_LEVEL               debug, info, warn or error (default info)
  CALLSVC_CURSOR_KEY      key (32+ characters) that signs list cursors, the same on every
                          server (default: a random key the migrations keep in the database)
`

// run is the whole program with its inputs made explicit, so tests drive the
// real thing: arguments, environment, output streams, and a context whose end
// means SIGINT or SIGTERM.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command given")
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serveCmd(ctx, cfg, rest, stderr)
	case "migrate":
		return migrateCmd(cfg, rest, stdout)
	case "org":
		return orgCmd(ctx, cfg, rest, stdout)
	case "key":
		return keyCmd(ctx, cfg, rest, stdout)
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	}
	return usagef("unknown command %q", cmd)
}
