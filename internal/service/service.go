package service

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callsvc/callsvc/internal/db"
	"github.com/callsvc/callsvc/internal/secretbox"
	"github.com/callsvc/callsvc/internal/webhook"
)

// Service runs callsvc's operations against one PostgreSQL pool.
type Service struct {
	pool  *pgxpool.Pool
	q     *db.Queries // single statements on the pool: reads
	log   *slog.Logger
	keys  *keyCache
	hooks hooks
	// secrets seals webhook signing secrets (and the stored answers that show
	// them); nil until WithWebhooks.
	secrets *secretbox.Box
	guard   *webhook.Guard
}

// Option configures a Service.
type Option func(*Service)

// WithWebhooks gives the service what webhook endpoints need: the box that seals
// their secrets (its key is configuration, the same on every server) and the
// guard that checks their URLs.
func WithWebhooks(secrets *secretbox.Box, guard *webhook.Guard) Option {
	return func(s *Service) {
		s.secrets = secrets
		s.guard = guard
	}
}

// hooks let tests act at a point inside an operation's transaction: pause it, or
// run a statement in it. Production code never sets them.
type hooks struct {
	afterOutcomeLock      func(ctx context.Context, tx *Tx) error
	beforeIdempotentStore func() error
}

// New returns a Service on pool, logging unexpected events to log. Without
// WithWebhooks it refuses to create webhook endpoints, and every URL is checked
// as if CALLSVC_WEBHOOK_ALLOW_PRIVATE were off.
func New(pool *pgxpool.Pool, log *slog.Logger, opts ...Option) *Service {
	s := &Service{
		pool:  pool,
		q:     db.New(pool),
		log:   log,
		keys:  newKeyCache(keyCacheTTL),
		guard: &webhook.Guard{},
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Ping reports whether the database answers.
func (s *Service) Ping(ctx context.Context) error {
	return dbErr(s.pool.Ping(ctx), nil)
}
