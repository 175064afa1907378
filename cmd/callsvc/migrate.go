package main

import (
	"fmt"
	"io"

	"github.com/callsvc/callsvc/internal/migrate"
)

func migrateCmd(cfg config, args []string, stdout io.Writer) error {
	action := "up"
	if len(args) > 1 {
		return usagef("migrate: one action at most, up, status or rollback")
	}
	if len(args) == 1 {
		action = args[0]
	}
	m, err := migrate.New(cfg.DatabaseURL, stdout)
	if err != nil {
		return err
	}
	switch action {
	case "up":
		err = m.Up()
	case "rollback":
		err = m.Rollback()
	case "status":
		var pending int
		if pending, err = m.Status(); err == nil {
			_, err = fmt.Fprintf(stdout, "%d pending\n", pending)
		}
	default:
		return usagef("migrate: unknown action %q, want up, status or rollback", action)
	}
	if err != nil {
		return fmt.Errorf("database %s: %w", redact(cfg.DatabaseURL), err)
	}
	return nil
}
