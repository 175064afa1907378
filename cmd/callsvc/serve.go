package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callsvc/callsvc/internal/dbmetrics"
	"github.com/callsvc/callsvc/internal/delivery"
	httpapi "github.com/callsvc/callsvc/internal/http"
	"github.com/callsvc/callsvc/internal/migrate"
	"github.com/callsvc/callsvc/internal/secretbox"
	"github.com/callsvc/callsvc/internal/service"
	"github.com/callsvc/callsvc/internal/telemetry"
	"github.com/callsvc/callsvc/internal/webhook"
)

// shutdownTimeout bounds how long in-flight requests may finish after SIGINT or
// SIGTERM before their connections are closed.
const shutdownTimeout = 10 * time.Second

// idempotencyCleanupInterval is how often expired Idempotency-Keys are deleted.
const idempotencyCleanupInterval = time.Minute

// tracingFlushTimeout bounds sending the spans still buffered at exit.
const tracingFlushTimeout = 5 * time.Second

// The roles of a serve process: the API, webhook delivery, or both.
const (
	roleAll     = "all"
	roleAPI     = "api"
	roleWorkers = "workers"
)

// riverStopTimeout bounds how long a stopping server waits for River, after the
// HTTP server has stopped: attempts in flight end or are cancelled (River's soft
// stop timeout), and River's own services stop.
const riverStopTimeout = 15 * time.Second

func serveCmd(ctx context.Context, cfg config, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "address to listen on, HOST:PORT")
	doMigrate := fs.Bool("migrate", false, "create the database if missing and apply pending migrations first")
	role := fs.String("role", roleAll, "all (the API and webhook delivery), api, or workers (webhook delivery, with /healthz, /readyz and /metrics only)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *role != roleAll && *role != roleAPI && *role != roleWorkers {
		return usagef("serve: --role must be all, api or workers, got %q", *role)
	}
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))
	tracing, err := telemetry.Start(ctx, cfg.Tracing, log)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracingFlushTimeout)
		defer cancel()
		if err := tracing.Shutdown(ctx); err != nil {
			log.Warn("tracing: spans not flushed", "err", err)
		}
	}()

	// Listen first: a port in use is reported at once, before any database work.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()

	if cfg.PprofAddr != "" {
		_, stop, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	if *doMigrate {
		// Directly, never through a transaction pooler: several servers started
		// at once take turns on a session-level lock (internal/migrate).
		m, err := migrate.New(cfg.DirectDatabaseURL, io.Discard)
		if err != nil {
			return err
		}
		applied, err := m.Up(ctx)
		if err != nil {
			return migrationErr(cfg, err)
		}
		log.Info("migrated", "database", redact(cfg.DirectDatabaseURL), "applied", len(applied), "files", applied)
	}
	hooks, err := newWebhooks(cfg.Webhooks)
	if err != nil {
		return err
	}
	opts := []service.Option{hooks.option}
	if cfg.CursorKey != nil {
		opts = append(opts, service.WithCursorKey(cfg.CursorKey))
	}
	var shuttingDown atomic.Bool
	var (
		handler http.Handler
		runner  *delivery.Runner
	)
	if *role != roleAPI {
		// Deliveries have a pool of their own: an attempt holds a connection for
		// as long as the receiver takes to answer, and must not take the API's.
		pool, err := openPool(ctx, cfg, int32(cfg.Webhooks.Workers+delivery.ExtraConns), tracing.PgxTracer())
		if err != nil {
			return err
		}
		defer pool.Close()
		workerSvc := service.New(pool, log, opts...)
		runner, err = delivery.New(delivery.Config{
			Pool:    pool,
			Service: workerSvc,
			Sender:  webhook.NewSender(hooks.guard),
			Workers: cfg.Webhooks.Workers,
			// LISTEN needs a session of its own: behind a transaction pooler
			// (DATABASE_URL is not PostgreSQL itself) River polls.
			PollOnly: cfg.Webhooks.PollOnly || cfg.DirectDatabaseURL != cfg.DatabaseURL,
			Retry:    hooks.retry,
			Logger:   log,
			Metrics:  delivery.NewMetrics(workerSvc, log),
		})
		if err != nil {
			return err
		}
		if *role == roleWorkers {
			handler, err = httpapi.NewOps(httpapi.Config{
				Service:      workerSvc,
				Logger:       log,
				Collectors:   append(runner.Metrics().Collectors(), dbmetrics.NewPoolCollector(pool)),
				ShuttingDown: shuttingDown.Load,
			})
			if err != nil {
				return err
			}
		}
	}
	if *role != roleWorkers {
		pool, err := openPool(ctx, cfg, cfg.PoolMaxConns, tracing.PgxTracer())
		if err != nil {
			return err
		}
		defer pool.Close()
		var webhookMetrics *delivery.Metrics
		if runner != nil {
			webhookMetrics = runner.Metrics()
		} else {
			webhookMetrics = delivery.NewMetrics(service.New(pool, log, opts...), log)
		}
		var svc *service.Service
		handler, svc, err = newAPI(pool, log, tracing, shuttingDown.Load, webhookMetrics.Collectors(), opts...)
		if err != nil {
			return err
		}
		cleanupCtx, stopCleanup := context.WithCancel(ctx)
		defer stopCleanup()
		go svc.RunIdempotencyCleanup(cleanupCtx, idempotencyCleanupInterval)
	}
	cfg.Webhooks.warn(log)
	if runner != nil {
		// River stops when serve says so (below), not when ctx ends: the HTTP
		// server first stops taking requests.
		if err := runner.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           closeWhenShuttingDown(handler, &shuttingDown),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	err = serveUntilDone(ctx, srv, ln, log, drain{cfg.ShutdownDrain, &shuttingDown})
	if runner != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), riverStopTimeout)
		defer cancel()
		if stopErr := runner.Stop(stopCtx); stopErr != nil {
			log.Warn("webhook delivery did not stop in time", "err", stopErr)
		}
	}
	return err
}

// webhooks is what every part of serve shares about webhooks.
type webhooks struct {
	option service.Option
	guard  *webhook.Guard
	retry  service.RetryPolicy
}

func newWebhooks(cfg webhookConfig) (webhooks, error) {
	secrets, err := secretbox.New(cfg.SecretKey)
	if err != nil {
		return webhooks{}, fmt.Errorf("CALLSVC_WEBHOOK_SECRET_KEY: %w", err)
	}
	guard := &webhook.Guard{AllowPrivate: cfg.AllowPrivate}
	retry := service.DefaultRetryPolicy
	retry.Min = cfg.RetryMin
	return webhooks{option: service.WithWebhooks(secrets, guard), guard: guard, retry: retry}, nil
}

// warn logs the settings that are fine for development only.
func (cfg webhookConfig) warn(log *slog.Logger) {
	if cfg.DevKey {
		log.Warn("CALLSVC_WEBHOOK_SECRET_KEY is unset: webhook secrets are sealed with the built-in development key, which is public; set it in production")
	}
	if cfg.AllowPrivate {
		log.Warn("CALLSVC_WEBHOOK_ALLOW_PRIVATE is true: webhooks may reach loopback, private and link-local addresses; for development and tests only")
	}
}

// newAPI is what serve serves on pool: the service and the HTTP handler in
// front of it, with their metrics, traced when tracing is on (nil: off).
// shuttingDown, when not nil, turns /readyz to 503 (the drain); extra are more
// metrics for /metrics.
func newAPI(pool *pgxpool.Pool, log *slog.Logger, tracing *telemetry.Tracing, shuttingDown func() bool, extra []prometheus.Collector, opts ...service.Option) (http.Handler, *service.Service, error) {
	lockWait := dbmetrics.NewLockWait()
	svc := service.New(pool, log, append([]service.Option{
		service.WithTracer(tracing.Tracer("github.com/callsvc/callsvc/internal/service")),
		service.WithLockWaitObserver(lockWait.Observe),
	}, opts...)...)
	e, err := httpapi.New(httpapi.Config{
		Service:      svc,
		Logger:       log,
		Collectors:   append([]prometheus.Collector{dbmetrics.NewPoolCollector(pool), lockWait}, extra...),
		ShuttingDown: shuttingDown,
	})
	if err != nil {
		return nil, nil, err
	}
	return tracing.Handler(e), svc, nil
}

// drain is what serve does between SIGTERM and closing its listener: /readyz
// answers 503 (shuttingDown) for wait while requests are still served, so a
// load balancer polling /readyz takes the server out before it stops accepting.
type drain struct {
	wait         time.Duration
	shuttingDown *atomic.Bool
}

// closeWhenShuttingDown asks clients to close their connection after each
// answer once shutdown has begun, so their next request opens a new one, which
// a load balancer sends to another server; idle connections are closed only
// when the listener is, after the drain.
func closeWhenShuttingDown(next http.Handler, shuttingDown *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if shuttingDown.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// serveUntilDone serves on ln until ctx ends, then drains, stops accepting,
// lets in-flight requests finish (bounded by shutdownTimeout) and returns nil.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger, d drain) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	d.shuttingDown.Store(true)
	if d.wait > 0 {
		log.Info("draining: /readyz answers 503, requests are still served", "for", d.wait.String())
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-time.After(d.wait):
		}
	}
	log.Info("shutting down", "timeout", shutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running after the bound are cut off; that is the bound.
		log.Warn("shutdown incomplete, closing connections", "err", err)
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// servePprof serves the runtime profiles on addr, apart from the API, so a
// profile of the server under load can be taken (make bench, by hand).
func servePprof(addr string, log *slog.Logger) (net.Addr, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on CALLSVC_PPROF_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("pprof listening", "addr", ln.Addr().String())
	return ln.Addr(), func() { _ = srv.Close() }, nil
}
