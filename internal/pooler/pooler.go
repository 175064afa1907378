// Package pooler tells whether a PostgreSQL address gives each connection a
// session of its own, or leads to a transaction pooler — PgBouncer in
// transaction mode — that hands one server session to many clients in turn.
//
// Behind such a pooler what lives in a session leaks between clients and goes
// missing between transactions: pgx's statement cache fails with 42P05
// ("prepared statement already exists") or 26000, and a session-level advisory
// lock is held by whichever client's transaction took it. PgBouncer 1.21 and
// later with max_prepared_statements keeps prepared statements per client, so
// the cache works there, and this package says so.
package pooler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// probes is how many times SharesSessions tries. One try finds an idle
// PgBouncer (it hands out the server connection used last); under load another
// client may take that connection between the steps, so it tries again.
const probes = 3

// SharesSessions reports whether connections made with cfg share server
// sessions: a prepared statement made on one connection is seen by another, or
// is gone on its own connection a moment later. A direct connection to
// PostgreSQL never does either, so it never reports true for one; a busy pooler
// can go unnoticed (a false negative), never the other way round.
//
// It opens two connections of its own and closes them.
func SharesSessions(ctx context.Context, cfg *pgx.ConnConfig) (bool, error) {
	cfg = cfg.Copy()
	// The probe's own statements must not be prepared: they are what is tested.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	a, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer a.Close(context.WithoutCancel(ctx))
	b, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return false, err
	}
	defer b.Close(context.WithoutCancel(ctx))

	for range probes {
		shared, err := probe(ctx, a, b)
		if shared || err != nil {
			return shared, err
		}
	}
	return false, nil
}

// probe prepares a statement on a, looks for it from b, and runs it on a.
func probe(ctx context.Context, a, b *pgx.Conn) (bool, error) {
	var r [8]byte
	_, _ = rand.Read(r[:])
	name := "callsvc_session_probe_" + hex.EncodeToString(r[:])
	if _, err := a.PgConn().Prepare(ctx, name, "SELECT 1", nil); err != nil {
		return false, fmt.Errorf("session probe: prepare: %w", err)
	}
	var seen bool
	if err := b.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = $1)", name).Scan(&seen); err != nil {
		return false, fmt.Errorf("session probe: look from another connection: %w", err)
	}
	if seen {
		return true, nil
	}
	// Run it on a, then drop it: on a connection of its own, both find it.
	_, err := a.PgConn().ExecPrepared(ctx, name, nil, nil, nil).Close()
	if err == nil {
		_, err = a.Exec(ctx, "DEALLOCATE "+pgx.Identifier{name}.Sanitize())
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "26000" { // invalid_sql_statement_name: not prepared here
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("session probe: %w", err)
	}
	return false, nil
}
