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
	"time"

	httpapi "github.com/callsvc/callsvc/internal/http"
	"github.com/callsvc/callsvc/internal/migrate"
	"github.com/callsvc/callsvc/internal/service"
)

// shutdownTimeout bounds how long in-flight requests may finish after SIGINT or
// SIGTERM before their connections are closed.
const shutdownTimeout = 10 * time.Second

// idempotencyCleanupInterval is how often expired Idempotency-Keys are deleted.
const idempotencyCleanupInterval = time.Minute

func serveCmd(ctx context.Context, cfg config, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "address to listen on, HOST:PORT")
	doMigrate := fs.Bool("migrate", false, "create the database if missing and apply pending migrations first")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

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
		m, err := migrate.New(cfg.DatabaseURL, io.Discard)
		if err != nil {
			return err
		}
		if err := m.Up(); err != nil {
			return fmt.Errorf("database %s: %w", redact(cfg.DatabaseURL), err)
		}
		log.Info("migrated", "database", redact(cfg.DatabaseURL))
	}
	pool, err := openPool(ctx, cfg, cfg.PoolMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()

	var opts []service.Option
	if cfg.CursorKey != nil {
		opts = append(opts, service.WithCursorKey(cfg.CursorKey))
	}
	svc := service.New(pool, log, opts...)
	handler, err := httpapi.New(httpapi.Config{Service: svc, Pool: pool, Logger: log})
	if err != nil {
		return err
	}
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	defer stopCleanup()
	go svc.RunIdempotencyCleanup(cleanupCtx, idempotencyCleanupInterval)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return serveUntilDone(ctx, srv, ln, log)
}

// serveUntilDone serves on ln until ctx ends, then stops accepting, lets
// in-flight requests finish (bounded by shutdownTimeout) and returns nil.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
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
