// Package migrate applies callsvc's embedded dbmate migrations (sql/schema) to a
// database, so the binary carries its own schema and needs no migration files on disk.
package migrate

import (
	"fmt"
	"io"
	"net/url"

	"github.com/amacneil/dbmate/v2/pkg/dbmate"
	_ "github.com/amacneil/dbmate/v2/pkg/driver/postgres" // registers postgres://

	"github.com/callsvc/callsvc/sql/schema"
)

// Migrator runs dbmate against one database URL.
type Migrator struct {
	db *dbmate.DB
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
	return &Migrator{db: db}, nil
}

// Up creates the database when it is missing and applies every pending migration.
func (m *Migrator) Up() error {
	if err := m.db.CreateAndMigrate(); err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// Rollback reverts the most recently applied migration.
func (m *Migrator) Rollback() error {
	if err := m.db.Rollback(); err != nil {
		return fmt.Errorf("migrate rollback: %w", err)
	}
	return nil
}

// Status prints each migration and whether it is applied, and returns how many are pending.
func (m *Migrator) Status() (pending int, err error) {
	pending, err = m.db.Status(false)
	if err != nil {
		return 0, fmt.Errorf("migrate status: %w", err)
	}
	return pending, nil
}
