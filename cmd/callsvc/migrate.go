package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/callsvc/callsvc/internal/migrate"
)

func migrateCmd(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	action := "up"
	if len(args) > 1 {
		return usagef("migrate: one action at most, up, status or rollback")
	}
	if len(args) == 1 {
		action = args[0]
	}
	m, err := migrate.New(cfg.DirectDatabaseURL, stdout)
	if err != nil {
		return err
	}
	switch action {
	case "up":
		_, err = m.Up(ctx)
	case "rollback":
		err = m.Rollback(ctx)
	case "status":
		var pending int
		if pending, err = m.Status(); err == nil {
			_, err = fmt.Fprintf(stdout, "%d pending\n", pending)
		}
	default:
		return usagef("migrate: unknown action %q, want up, status or rollback", action)
	}
	return migrationErr(cfg, err)
}

// migrationErr names the database a migration failed on, and the setting to
// change when it went through a transaction pooler.
func migrationErr(cfg config, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, migrate.ErrNeedsSession):
		return fmt.Errorf("database %s: %w: set CALLSVC_DIRECT_DATABASE_URL to PostgreSQL's own address", redact(cfg.DirectDatabaseURL), err)
	}
	return fmt.Errorf("database %s: %w", redact(cfg.DirectDatabaseURL), err)
}
