package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

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
	// tracer makes a span per write operation; nil when tracing is off.
	tracer trace.Tracer
	// lockWait is told how long each outcome's locking statement took.
	lockWait func(ctx context.Context, d time.Duration)
	// cursors holds the key that signs list cursors (page.go).
	cursors cursorKeys
	// secrets seals webhook signing secrets (and the stored answers that show
	// them); nil until WithWebhooks.
	secrets *secretbox.Box
	guard   *webhook.Guard
}

// hooks let tests act at a point inside an operation's transaction: pause it, or
// run a statement in it. Production code never sets them.
type hooks struct {
	afterOutcomeLock      func(ctx context.Context, tx *Tx) error
	beforeIdempotentStore func() error
}

// Option is a Service setting besides its pool and logger.
type Option func(*Service)

// WithTracer makes a span per write operation ("service.CreateOutcome") with
// tracer, under the span in the operation's context.
func WithTracer(tracer trace.Tracer) Option {
	return func(s *Service) { s.tracer = tracer }
}

// WithLockWaitObserver has observe told, for each try of an outcome, how long
// its locking statements (TryLockCallForOutcome and WaitForCallWriters) took,
// as PostgreSQL measured it: under contention, the wait for the call's writers.
// An outcome run again (it shared a call left in progress with other waiters,
// see CreateOutcome) is told once per run.
func WithLockWaitObserver(observe func(ctx context.Context, d time.Duration)) Option {
	return func(s *Service) { s.lockWait = observe }
}

// WithWebhooks gives the service what webhook endpoints need: the box that seals
// their secrets (its key is configuration, the same on every server) and the
// guard that checks their URLs.
func WithWebhooks(secrets *secretbox.Box, guard *webhook.Guard) Option {
	return func(s *Service) {
		s.secrets = secrets
		s.guard = guard
	}
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

// startSpan starts the span of the write operation op. The function it returns
// ends the span, recording *errp when the operation failed (a refusal such as
// outcome_exists included: the HTTP span's status tells a refusal from a
// failure). Without a tracer it does nothing.
func (s *Service) startSpan(ctx context.Context, op string) (context.Context, func(errp *error)) {
	if s.tracer == nil {
		return ctx, endNothing
	}
	ctx, span := s.tracer.Start(ctx, "service."+op)
	return ctx, func(errp *error) {
		if err := *errp; err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

func endNothing(*error) {}
