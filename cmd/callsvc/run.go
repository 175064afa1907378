package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// usageError is a mistake in the command line; main exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + " (run `callsvc help`)" }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

const usage = `callsvc — sales calls and their outcomes, decided exactly once.

Usage:
  callsvc serve [--addr HOST:PORT] [--migrate] [--role all|api|workers]
                                                 serve the HTTP API (default :8080) and
                                                 deliver webhooks (--role: only one of them)
  callsvc migrate [up|status|rollback]           apply, list or revert migrations (default up)
  callsvc org create --name NAME                 create an organization and its first API key
  callsvc key create --org ORGANIZATION_ID       issue another API key
  callsvc key revoke --id KEY_ID                 revoke a key (refused within 1 s)
  callsvc version                                this build: module version, commit, API version
  callsvc help                                   this text

Environment:
`

// usageText is usage with the settings and their defaults.
func usageText() string {
	var b strings.Builder
	b.WriteString(usage)
	for _, s := range settings {
		def := "unset"
		if s.def != "" {
			def = "default " + s.def
		}
		fmt.Fprintf(&b, "  %-34s %s (%s)\n", s.name, s.help, def)
	}
	return b.String()
}

// run is the whole program with its inputs made explicit, so tests drive the
// real thing: arguments, environment, output streams, and a context whose end
// means SIGINT or SIGTERM.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command given")
	}
	// help and version need no configuration: they work whatever the environment says.
	switch args[0] {
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usageText())
		return err
	case "version", "--version":
		return versionCmd(args[1:], stdout)
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
		return migrateCmd(ctx, cfg, rest, stdout)
	case "org":
		return orgCmd(ctx, cfg, rest, stdout)
	case "key":
		return keyCmd(ctx, cfg, rest, stdout)
	}
	return usagef("unknown command %q", cmd)
}
