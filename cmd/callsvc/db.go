package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"

	"github.com/callsvc/callsvc/internal/pooler"
)

// connectTimeout bounds one connection attempt: an unreachable database fails
// fast at startup, and a request during an outage gets 503 instead of hanging.
const connectTimeout = 5 * time.Second

// errTransactionPooler is the one clear line for the statement cache behind a
// transaction pooler, instead of 42P05 on the first busy minute.
var errTransactionPooler = errors.New("DATABASE_URL leads to a transaction pooler that shares server sessions between clients " +
	"(PgBouncer in transaction mode before 1.21, or without max_prepared_statements), where pgx's statement cache fails " +
	"with 42P05 \"prepared statement already exists\": set CALLSVC_QUERY_EXEC_MODE=exec (docs/operations.md)")

// openPool connects to the database and checks that it answers, so a bad URL
// or a database that is down is one clear error at startup. With the statement
// cache it first makes sure no transaction pooler is in between
// (pooler.SharesSessions). tracer, when not nil, sees every statement
// (telemetry.Tracing.PgxTracer).
func openPool(ctx context.Context, cfg config, maxConns int32, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL %s: %w", redact(cfg.DatabaseURL), err)
	}
	pcfg.MaxConns = maxConns
	pcfg.ConnConfig.Tracer = tracer
	pcfg.ConnConfig.ConnectTimeout = connectTimeout
	// google/uuid values are a driver.Valuer and an sql.Scanner, which pgx
	// honours by formatting every id as text and parsing it back (8 % of the
	// server's CPU at 32 clients); registered, they go over the wire as the 16
	// bytes they are.
	pcfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		pgxuuid.Register(conn.TypeMap())
		return nil
	}
	pcfg.ConnConfig.DefaultQueryExecMode = cfg.QueryExecMode
	pingCtx, cancel := context.WithTimeout(ctx, 2*connectTimeout)
	defer cancel()
	if cfg.QueryExecMode == pgx.QueryExecModeCacheStatement {
		shared, err := pooler.SharesSessions(pingCtx, pcfg.ConnConfig)
		if err != nil {
			return nil, fmt.Errorf("database %s does not answer: %w", redact(cfg.DatabaseURL), err)
		}
		if shared {
			return nil, fmt.Errorf("database %s: %w", redact(cfg.DatabaseURL), errTransactionPooler)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redact(cfg.DatabaseURL), err)
	}
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s does not answer: %w", redact(cfg.DatabaseURL), err)
	}
	return pool, nil
}
