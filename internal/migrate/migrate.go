// Package migrate applies callsvc's embedded dbmate migrations (sql/schema) to a
// database, so the binary carries its own schema and needs no migration files on disk.
//
// Several servers may run `serve --migrate` at once. dbmate (v2.26) takes no
// lock of its own: two of them would both find a migration pending and the
// second would fail on it. Up and Rollback therefore hold a session-level
// advisory lock on the database while they work, so servers take turns and
// each migration is applied once. A session lock needs a session: the URL must
// reach PostgreSQL itself, not a transaction pooler (checked; ErrNeedsSession).
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/amacneil/dbmate/v2/pkg/dbmate"
	_ "github.com/amacneil/dbmate/v2/pkg/driver/postgres" // registers postgres://
	"github.com/jackc/pgx/v5"

	"github.com/callsvc/callsvc/internal/pooler"
	"github.com/callsvc/callsvc/sql/schema"
)

// ErrNeedsSession is returned when the database URL leads to a transaction
// pooler, where the migration lock would not be held by anyone in particular.
var ErrNeedsSession = errors.New("migrations hold a session-level lock, and this address leads to a transaction pooler (PgBouncer in transaction mode)")

// lockKey names the advisory lock migrations hold on the database they change.
const lockKey = "SELECT hashtextextended('callsvc.migrate', 0)"

// Migrator runs dbmate against one database URL.
type Migrator struct {
	url string
	db  *dbmate.DB
}

// New returns a Migrator for databaseURL that writes dbmate's progress to log.
// It never dumps a schema file: the committed sql/schema.sql is made by `make`.
func New(databaseURL string, log io.Writer) (*Migrator, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("database url: scheme %q is not postgres", u.Scheme)
	}
	u.Scheme = "postgres"
	db := dbmate.New(u)
	db.FS = schema.FS
	db.MigrationsDir = []string{"."}
	db.AutoDumpSchema = false
	db.Log = log
	return &Migrator{url: databaseURL, db: db}, nil
}

// Up creates the database when it is missing and applies every pending
// migration, holding the migration lock; it returns the files it applied (none
// when another server applied them first).
func (m *Migrator) Up(ctx context.Context) (applied []string, err error) {
	if err := m.createDatabase(); err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	err = m.locked(ctx, func() error {
		migrations, err := m.db.FindMigrations()
		if err != nil {
			return err
		}
		for _, mig := range migrations {
			if !mig.Applied {
				applied = append(applied, mig.FileName)
			}
		}
		if len(applied) == 0 {
			return nil
		}
		return m.db.Migrate()
	})
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	return applied, nil
}

// createDatabase creates the database when it is missing. Another server may
// create it at the same moment: a failure is only an error if it is still missing.
func (m *Migrator) createDatabase() error {
	drv, err := m.db.Driver()
	if err != nil {
		return err
	}
	// Unknown (no right to list databases): leave it to the connection to say.
	if exists, err := drv.DatabaseExists(); err != nil || exists {
		return nil
	}
	if err := drv.CreateDatabase(); err != nil {
		if exists, _ := drv.DatabaseExists(); !exists {
			return fmt.Errorf("create database: %w", err)
		}
	}
	return nil
}

// Rollback reverts the most recently applied migration, holding the migration lock.
func (m *Migrator) Rollback(ctx context.Context) error {
	if err := m.locked(ctx, m.db.Rollback); err != nil {
		return fmt.Errorf("migrate rollback: %w", err)
	}
	return nil
}

// locked runs fn while this process holds the migration lock of the database,
// on a connection of its own that lives as long as fn runs.
func (m *Migrator) locked(ctx context.Context, fn func() error) error {
	cfg, err := pgx.ParseConfig(m.url)
	if err != nil {
		return err
	}
	shared, err := pooler.SharesSessions(ctx, cfg)
	if err != nil {
		return err
	}
	if shared {
		return ErrNeedsSession
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	// Closing the session releases the lock, also when fn fails.
	defer conn.Close(context.WithoutCancel(ctx))
	if err := takeLock(ctx, conn); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	return fn()
}

// lockPoll is how often a waiting migrator asks for the lock again.
const lockPoll = 100 * time.Millisecond

// takeLock takes the migration lock on conn, asking again every lockPoll until
// it is free. It does not wait inside pg_advisory_lock: a statement waiting
// there holds a snapshot, and a migration that builds an index CONCURRENTLY in
// the lock holder's turn waits for every older snapshot to end, so the holder
// would wait for the waiter and the waiter for the holder, unseen by
// PostgreSQL's deadlock detector (the lock is held by an idle session).
func takeLock(ctx context.Context, conn *pgx.Conn) error {
	for {
		var got bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(("+lockKey+"))").Scan(&got); err != nil {
			return err
		}
		if got {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// Status prints each migration and whether it is applied, and returns how many are pending.
func (m *Migrator) Status() (pending int, err error) {
	pending, err = m.db.Status(false)
	if err != nil {
		return 0, fmt.Errorf("migrate status: %w", err)
	}
	return pending, nil
}
