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
	httpapi "github.com/callsvc/callsvc/internal/http"
	"github.com/callsvc/callsvc/internal/migrate"
	"github.com/callsvc/callsvc/internal/service"
	"github.com/callsvc/callsvc/internal/telemetry"
)

// shutdownTimeout bounds how long in-flight requests may finish after SIGINT or
// SIGTERM before their connections are closed.
const shutdownTimeout = 10 * time.Second

// idempotencyCleanupInterval is how often expired Idempotency-Keys are deleted.
const idempotencyCleanupInterval = time.Minute

// tracingFlushTimeout bounds sending the spans still buffered at exit.
const tracingFlushTimeout = 5 * time.Second

func serveCmd(ctx context.Context, cfg config, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "address to listen on, HOST:PORT")
	doMigrate := fs.Bool("migrate", false, "create the database if missing and apply pending migrations first")
	if err := parseFlags(fs, args); err != nil {
		return err
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
	pool, err := openPool(ctx, cfg, cfg.PoolMaxConns, tracing.PgxTracer())
	if err != nil {
		return err
	}
	defer pool.Close()

	var opts []service.Option
	if cfg.CursorKey != nil {
		opts = append(opts, service.WithCursorKey(cfg.CursorKey))
	}
	var shuttingDown atomic.Bool
	handler, svc, err := newAPI(pool, log, tracing, shuttingDown.Load, opts...)
	if err != nil {
		return err
	}
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	defer stopCleanup()
	go svc.RunIdempotencyCleanup(cleanupCtx, idempotencyCleanupInterval)
	srv := &http.Server{
		Handler:           closeWhenShuttingDown(handler, &shuttingDown),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return serveUntilDone(ctx, srv, ln, log, drain{cfg.ShutdownDrain, &shuttingDown})
}

// newAPI is what serve serves on pool: the service and the HTTP handler in
// front of it, with their metrics, traced when tracing is on (nil: off).
// shuttingDown, when not nil, turns /readyz to 503 (the drain).
func newAPI(pool *pgxpool.Pool, log *slog.Logger, tracing *telemetry.Tracing, shuttingDown func() bool, opts ...service.Option) (http.Handler, *service.Service, error) {
	lockWait := dbmetrics.NewLockWait()
	svc := service.New(pool, log, append([]service.Option{
		service.WithTracer(tracing.Tracer("github.com/callsvc/callsvc/internal/service")),
		service.WithLockWaitObserver(lockWait.Observe),
	}, opts...)...)
	e, err := httpapi.New(httpapi.Config{
		Service:      svc,
		Logger:       log,
		Collectors:   []prometheus.Collector{dbmetrics.NewPoolCollector(pool), lockWait},
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
