package service

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callsvc/callsvc/internal/db"
)

// Service runs callsvc's operations against one PostgreSQL pool.
type Service struct {
	pool  *pgxpool.Pool
	q     *db.Queries // single statements on the pool: reads
	log   *slog.Logger
	keys  *keyCache
	hooks hooks
}

// hooks let tests act at a point inside an operation's transaction: pause it, or
// run a statement in it. Production code never sets them.
type hooks struct {
	afterOutcomeLock      func(ctx context.Context, tx *Tx) error
	beforeIdempotentStore func() error
}

// New returns a Service on pool, logging unexpected events to log.
func New(pool *pgxpool.Pool, log *slog.Logger) *Service {
	return &Service{
		pool: pool,
		q:    db.New(pool),
		log:  log,
		keys: newKeyCache(keyCacheTTL),
	}
}

// Ping reports whether the database answers.
func (s *Service) Ping(ctx context.Context) error {
	return dbErr(s.pool.Ping(ctx), nil)
}
