package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callsvc/callsvc/internal/db"
)

// Service runs callsvc's operations against one PostgreSQL pool.
type Service struct {
	pool  *pgxpool.Pool
	q     *db.Queries
	log   *slog.Logger
	keys  *keyCache
	hooks hooks
	// cursors holds the key that signs list cursors (page.go).
	cursors cursorKeys
}

// hooks let tests act at a point inside an operation's transaction: pause it, or
// run a statement in it. Production code never sets them.
type hooks struct {
	afterOutcomeLock      func(ctx context.Context, tx batchSender) error
	beforeIdempotentStore func() error
}

// New returns a Service on pool, logging unexpected events to log.
func New(pool *pgxpool.Pool, log *slog.Logger, opts ...Option) *Service {
	s := &Service{
		pool: pool,
		q:    db.New(pool),
		log:  log,
		keys: newKeyCache(keyCacheTTL),
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// maxTxAttempts bounds retries of a transaction that failed with a serialization
// failure or a deadlock; no other error is retried.
const maxTxAttempts = 3

// txKey carries a transaction the caller already opened (see WithTx).
type txKey struct{}

// WithTx returns a ctx whose operations run inside tx instead of a transaction of
// their own: the caller commits or rolls back. The idempotency layer uses it to
// store a request's answer in the same transaction as its writes.
func WithTx(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// queries returns the queries for a single statement: in the caller's transaction
// (WithTx) when there is one, else on the pool, where one statement is its own
// transaction and costs one round trip.
func (s *Service) queries(ctx context.Context) *db.Queries {
	if tx, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return s.q.WithTx(tx)
	}
	return s.q
}

// inTx runs fn in one transaction: begin, fn, commit; rolled back when fn fails.
// Serialization failures and deadlocks are retried a bounded number of times.
func (s *Service) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if tx, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return fn(tx)
	}
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = s.runTx(ctx, fn)
		if !retryable(err) {
			return err
		}
		s.log.WarnContext(ctx, "retrying transaction", "attempt", attempt, "err", err)
	}
	return err
}

func (s *Service) runTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer rollback(ctx, tx)
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// rollback rolls tx back on a context that a cancelled request cannot cancel
// (pgx#2557); after a commit it is a no-op.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// pgCode returns err's SQLSTATE, or "" when err does not come from PostgreSQL.
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// Ping reports whether the database answers.
func (s *Service) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}
