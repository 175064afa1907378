// Package delivery carries webhook events to their endpoints with River
// (github.com/riverqueue/river), a job queue on PostgreSQL. The service writes a
// River job for every delivery in the transaction of the change (see
// service.InsertWebhookEvent's query); a Runner works them: each job makes one
// attempt at a time (service.AttemptDelivery, with a webhook.Sender) and snoozes
// until the next one while the delivery is pending. River locks a job while it
// runs, so one server at a time attempts a delivery; a server that dies
// mid-attempt leaves its job to River's rescuer, which hands it to another.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/callsvc/callsvc/internal/service"
	"github.com/callsvc/callsvc/internal/webhook"
)

const (
	// jobTimeout bounds one job: an attempt (webhook.AttemptTimeout) and the
	// transaction around it.
	jobTimeout = webhook.AttemptTimeout + 10*time.Second
	// rescueAfter is how long a job may stay running before River's rescuer
	// (every 30 s, on the leader) takes it back from a server that died: longer
	// than jobTimeout, after which a live server has given the job up itself.
	rescueAfter = jobTimeout + 10*time.Second
	// fetchPollInterval is how often a server looks for jobs. The service
	// inserts jobs without NOTIFY (a NOTIFY serializes the commits of the
	// transactions that send one, and the outcome's path is the hot one), so a
	// new delivery waits for the next poll.
	fetchPollInterval = 250 * time.Millisecond
	// stopTimeout is how long a stopping server lets attempts in flight end
	// before it cancels them (their jobs run again elsewhere).
	stopTimeout = webhook.AttemptTimeout
)

// Config is what a Runner needs.
type Config struct {
	// Pool is River's, and the attempts' transactions run on it: at least
	// Workers + ExtraConns connections. With LISTEN/NOTIFY (not PollOnly) it must
	// reach PostgreSQL directly, not through a transaction-pooling bouncer.
	Pool *pgxpool.Pool
	// Service runs the attempts' transactions; it must be on Pool, so that
	// deliveries never take the API's connections.
	Service *service.Service
	Sender  *webhook.Sender
	// Workers is how many attempts this server makes at once.
	Workers int
	// PollOnly makes River poll for everything, issuing no LISTEN (for a
	// connection through PgBouncer in transaction mode).
	PollOnly bool
	Retry    service.RetryPolicy
	Logger   *slog.Logger
	Metrics  *Metrics
}

// ExtraConns is how many connections River needs besides the workers' (fetching,
// completing, leader election, LISTEN, maintenance).
const ExtraConns = 5

// Runner works the delivery jobs.
type Runner struct {
	client  *river.Client[pgx.Tx]
	log     *slog.Logger
	metrics *Metrics
}

// deliveryArgs are a delivery job's arguments, as InsertWebhookEvent writes them.
type deliveryArgs struct {
	DeliveryID uuid.UUID `json:"deliveryId"`
}

func (deliveryArgs) Kind() string { return service.DeliveryJobKind }

// New returns a Runner that has not started.
func New(cfg Config) (*Runner, error) {
	if cfg.Pool == nil || cfg.Service == nil || cfg.Sender == nil || cfg.Logger == nil || cfg.Metrics == nil {
		return nil, errors.New("delivery: Pool, Service, Sender, Logger and Metrics are required")
	}
	if cfg.Workers < 1 {
		return nil, errors.New("delivery: Workers must be at least 1")
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{
		svc:     cfg.Service,
		sender:  cfg.Sender,
		retry:   cfg.Retry,
		log:     cfg.Logger,
		metrics: cfg.Metrics,
	}); err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		Queues:               map[string]river.QueueConfig{service.DeliveryJobQueue: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		PollOnly:             cfg.PollOnly,
		FetchPollInterval:    fetchPollInterval,
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: rescueAfter,
		MaxAttempts:          service.DeliveryJobMaxAttempts,
		SoftStopTimeout:      stopTimeout,
		// River reports at Info what callsvc logs itself (an attempt that failed);
		// its warnings and errors are worth seeing.
		Logger: slog.New(minLevel{cfg.Logger.Handler(), slog.LevelWarn}),
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: river client: %w", err)
	}
	return &Runner{client: client, log: cfg.Logger, metrics: cfg.Metrics}, nil
}

// Metrics returns the Runner's metrics.
func (r *Runner) Metrics() *Metrics { return r.metrics }

// Start starts working jobs, until Stop.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("delivery: start river: %w", err)
	}
	r.log.Info("delivering webhooks")
	return nil
}

// Stop stops fetching jobs and waits for the attempts in flight, cancelling
// those still running after stopTimeout (their jobs are run again, here or
// elsewhere), or until ctx ends.
func (r *Runner) Stop(ctx context.Context) error {
	if err := r.client.Stop(ctx); err != nil {
		return fmt.Errorf("delivery: stop river: %w", err)
	}
	return nil
}

// worker makes a delivery's attempts.
type worker struct {
	river.WorkerDefaults[deliveryArgs]
	svc     *service.Service
	sender  *webhook.Sender
	retry   service.RetryPolicy
	log     *slog.Logger
	metrics *Metrics
}

func (w *worker) Timeout(*river.Job[deliveryArgs]) time.Duration { return jobTimeout }

// NextRetry is when River runs a job again after Work returned an error: the
// attempt could not be recorded (the database was lost), or the job was rescued
// from a server that died. A failed attempt snoozes the job instead, for the
// wait the service computed.
func (w *worker) NextRetry(job *river.Job[deliveryArgs]) time.Time {
	return time.Now().Add(w.retry.Wait(job.Attempt))
}

// Work makes one attempt (or none, when the delivery is finished or its endpoint
// deleted) and tells River when to run the job again.
func (w *worker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	id := job.Args.DeliveryID
	var endpoint, event uuid.UUID
	started := time.Now()
	report, err := w.svc.AttemptDelivery(ctx, id, w.retry, func(ctx context.Context, a service.DeliveryAttempt) webhook.Result {
		endpoint, event = a.EndpointID, a.Event.ID
		return w.sender.Send(ctx, webhook.Attempt{URL: a.URL, Key: a.Key, Event: a.Event})
	})
	if report.Attempted {
		w.metrics.attempted(report.Result, time.Since(started))
		if !report.Result.OK() {
			attrs := []any{
				"delivery", id, "endpoint", endpoint, "event", event,
				"attempt", report.Attempts, "status", report.Result.Status, "error", report.Result.Error,
			}
			switch {
			case err != nil:
			case report.Status == service.DeliveryPending:
				attrs = append(attrs, "next_attempt_in", report.Wait.String())
			default:
				attrs = append(attrs, "gave_up", true)
			}
			w.log.WarnContext(ctx, "webhook attempt failed", attrs...)
		}
	}
	if err != nil {
		w.log.WarnContext(ctx, "webhook attempt not recorded; River runs it again", "delivery", id, "err", err)
		return err
	}
	if report.Finished {
		w.metrics.finished(report.Status)
	}
	switch report.Status {
	case service.DeliveryPending:
		return river.JobSnooze(report.Wait)
	case service.DeliverySucceeded:
		return nil
	default:
		return river.JobCancel(fmt.Errorf("delivery %s failed", id))
	}
}

// minLevel is a slog handler that drops records below a level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
