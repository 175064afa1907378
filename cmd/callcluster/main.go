// Command callcluster starts and stops callsvc's local cluster (internal/cluster):
// PgBouncer on 127.0.0.1:6432 in transaction pooling mode, N `callsvc serve`
// replicas behind it, HAProxy on 127.0.0.1:8088 balancing them on /readyz.
// `make cluster-up` and `make cluster-down` run it (scripts/cluster.sh).
//
//	callcluster up   [-dir D] [-replicas N] [-callsvc BIN] ...
//	callcluster down [-dir D]
//	callcluster status [-dir D]
//	callcluster bench [-replicas 1,2,3] [-clients 32] ...
//
// bench starts a cluster of its own per setup, on a scratch database each, and
// measures outcome throughput: PostgreSQL directly with the statement cache,
// directly in exec mode, through PgBouncer, then HAProxy in front of 1, 2, 3
// replicas. It prints a Markdown table of ratios to the first setup.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/callsvc/callsvc/internal/cluster"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/callsvc?sslmode=disable"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "callcluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want up, down, status or bench")
	}
	fs := flag.NewFlagSet("callcluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", cmp.Or(getenv("CLUSTER_DIR"), ".cluster"), "folder for configuration, logs and state ($CLUSTER_DIR)")
	switch args[0] {
	case "up":
		return up(ctx, fs, dir, args[1:], getenv, stdout)
	case "down":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return down(*dir, stdout)
	case "status":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return status(*dir, stdout)
	case "bench":
		return bench(ctx, fs, args[1:], getenv, stdout, stderr)
	}
	return fmt.Errorf("unknown command %q: want up, down, status or bench", args[0])
}

func up(ctx context.Context, fs *flag.FlagSet, dir *string, args []string, getenv func(string) string, stdout io.Writer) error {
	var cfg cluster.Config
	fs.StringVar(&cfg.DatabaseURL, "database-url", cmp.Or(getenv("DATABASE_URL"), defaultDatabaseURL), "PostgreSQL itself, on loopback ($DATABASE_URL); created and migrated when missing")
	fs.StringVar(&cfg.Callsvc, "callsvc", "bin/callsvc", "the callsvc binary")
	fs.IntVar(&cfg.Replicas, "replicas", envInt(getenv, "CLUSTER_REPLICAS", 3), "how many callsvc serve ($CLUSTER_REPLICAS)")
	fs.IntVar(&cfg.HTTPPort, "http-port", envInt(getenv, "CLUSTER_HTTP_PORT", 8088), "HAProxy's port on 127.0.0.1 ($CLUSTER_HTTP_PORT)")
	fs.IntVar(&cfg.PgBouncerPort, "pgbouncer-port", envInt(getenv, "CLUSTER_PGBOUNCER_PORT", 6432), "PgBouncer's port on 127.0.0.1 ($CLUSTER_PGBOUNCER_PORT)")
	first := fs.Int("replica-port", envInt(getenv, "CLUSTER_REPLICA_PORT", 8091), "the first replica's port on 127.0.0.1; the others follow ($CLUSTER_REPLICA_PORT)")
	fs.IntVar(&cfg.PgBouncerPoolSize, "pgbouncer-pool", envInt(getenv, "CLUSTER_PGBOUNCER_POOL", 20), "PostgreSQL connections PgBouncer opens ($CLUSTER_PGBOUNCER_POOL)")
	fs.IntVar(&cfg.ReplicaPoolMaxConns, "replica-pool", envInt(getenv, "CLUSTER_REPLICA_POOL", 32), "each replica's CALLSVC_POOL_MAX_CONNS ($CLUSTER_REPLICA_POOL)")
	fs.DurationVar(&cfg.ShutdownDrain, "drain", 2*time.Second, "the replicas' CALLSVC_SHUTDOWN_DRAIN")
	fs.StringVar(&cfg.LogLevel, "log-level", cmp.Or(getenv("LOG_LEVEL"), "info"), "the replicas' LOG_LEVEL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Replicas < 1 || cfg.Replicas > 16 {
		return fmt.Errorf("-replicas must be 1 to 16, got %d", cfg.Replicas)
	}
	for i := range cfg.Replicas {
		cfg.ReplicaPorts = append(cfg.ReplicaPorts, *first+i)
	}
	cfg.Dir, cfg.Detach = *dir, true
	if _, err := cluster.Load(cfg.Dir, nil); err == nil {
		return fmt.Errorf("a cluster started from %s may still run: make cluster-down first", cfg.Dir)
	}
	c, err := cluster.Start(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster: up: %s (HAProxy) -> %d replicas -> PgBouncer 127.0.0.1:%d -> PostgreSQL; logs in %s\n",
		c.URL(), len(c.Nodes), c.Config.PgBouncerPort, c.Config.Dir)
	return nil
}

func down(dir string, stdout io.Writer) error {
	c, err := cluster.Load(dir, stdout)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdout, "cluster: nothing to stop (no state in %s)\n", dir)
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.Stop(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster: down; nothing listens on its ports; logs kept in %s\n", c.Config.Dir)
	return nil
}

func status(dir string, stdout io.Writer) error {
	c, err := cluster.Load(dir, stdout)
	if err != nil {
		return fmt.Errorf("no cluster in %s: %w", dir, err)
	}
	states, err := c.Backends()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "%s %s\n", n, states[n])
	}
	return nil
}

func envInt(getenv func(string) string, name string, def int) int {
	if v, err := strconv.Atoi(getenv(name)); err == nil {
		return v
	}
	return def
}
