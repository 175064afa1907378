// Command callbench measures how fast callsvc decides outcomes, side by side
// with what PostgreSQL alone does with the same transaction, in one run.
//
// It creates a scratch database (dropped at the end, also on failure or Ctrl-C),
// migrates it, bulk-loads in-progress calls with COPY, starts the real `callsvc
// serve` on a free loopback port, and drives POST /v1/calls/{id}/outcome over
// HTTP keep-alive with C concurrent clients on distinct calls; then the same C
// clients run the transaction straight against PostgreSQL. It prints a Markdown
// table and writes bench/results.json. bench/README.md explains the numbers.
//
//	go run ./cmd/callbench [-mode throughput,contention,scale] [-duration 8s] ...
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
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "callbench: interrupted:", err) // what was set up is undone and logged above
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "callbench:", err)
		os.Exit(1)
	}
}

// config is the run's settings, from flags.
type config struct {
	DatabaseURL       string        `json:"-"`
	Modes             []string      `json:"modes"`
	Calls             int           `json:"calls"`
	Prospects         int           `json:"prospects"`
	Clients           []int         `json:"clients"`
	Forms             []string      `json:"forms"`
	Duration          time.Duration `json:"-"`
	Warmup            time.Duration `json:"-"`
	DurationText      string        `json:"duration"`
	WarmupText        string        `json:"warmup"`
	ContentionClients int           `json:"contentionClients"`
	Rounds            int           `json:"contentionRounds"`
	ScaleRows         []int         `json:"scaleRows"`
	ScaleClients      int           `json:"scaleClients"`
	PoolMaxConns      int           `json:"serverPoolMaxConns"` // 0: the server's default
	ReferenceDir      string        `json:"-"`
	Server            string        `json:"-"`
	ServerEnv         []string      `json:"serverEnv,omitempty"`
	Out               string        `json:"-"`
	Strict            bool          `json:"-"`
}

const (
	modeThroughput = "throughput"
	modeContention = "contention"
	modeScale      = "scale"
	formService    = "service"
)

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("callbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DatabaseURL, "database-url", cmp.Or(getenv("DATABASE_URL"), "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server to make the scratch database on (its database name is ignored; default $DATABASE_URL)")
	modes := fs.String("mode", "throughput,contention,scale", "modes to run, comma-separated: throughput, contention, scale")
	fs.IntVar(&cfg.Calls, "calls", 200_000, "in-progress calls loaded for throughput and contention")
	fs.IntVar(&cfg.Prospects, "prospects", 4, "prospects the calls belong to (clientCount >= 500 each)")
	clients := fs.String("clients", "1,8,32,64", "concurrent clients of the throughput steps")
	forms := fs.String("forms", "service,pgbench-ref,sql-6,sql-2,sql-1",
		"what throughput measures: the service over HTTP, the fixed yardstick (pgbench-ref: pgbench running bench/reference/tx5.sql), and the service's statements as SQL (sql-6, sql-2, sql-1)")
	fs.StringVar(&cfg.ReferenceDir, "reference-dir", "bench/reference", "the yardstick's schema.sql, seed.sql and tx5.sql")
	fs.DurationVar(&cfg.Duration, "duration", 6*time.Second, "measured time of each step (scale mode gives each size two turns of half of it)")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured warm-up before each step")
	fs.IntVar(&cfg.ContentionClients, "contention-clients", 32, "clients racing for one call in contention mode")
	fs.IntVar(&cfg.Rounds, "rounds", 100, "contention rounds (one call each)")
	scale := fs.String("scale-rows", "10000,1000000", "table sizes scale mode compares, smallest first")
	fs.IntVar(&cfg.ScaleClients, "scale-clients", 32, "concurrent clients of the scale steps")
	fs.IntVar(&cfg.PoolMaxConns, "pool-max-conns", 0, "CALLSVC_POOL_MAX_CONNS for the server (0: its default)")
	fs.Func("server-env", "KEY=VALUE added to the server's environment, e.g. LOG_LEVEL=warn (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		cfg.ServerEnv = append(cfg.ServerEnv, v)
		return nil
	})
	fs.StringVar(&cfg.Server, "server", "", "callsvc binary to run (default: go build ./cmd/callsvc into a temporary directory)")
	fs.StringVar(&cfg.Out, "out", "bench/results.json", "where to write the results as JSON (empty: nowhere)")
	fs.BoolVar(&cfg.Strict, "strict", false, "exit 1 when a target is missed")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var err error
	cfg.Modes = splitList(*modes)
	for _, m := range cfg.Modes {
		if m != modeThroughput && m != modeContention && m != modeScale {
			return cfg, fmt.Errorf("-mode: unknown mode %q", m)
		}
	}
	cfg.Forms = splitList(*forms)
	for _, f := range cfg.Forms {
		if f != formService && roundTrips[f] == 0 {
			return cfg, fmt.Errorf("-forms: unknown form %q", f)
		}
	}
	if cfg.Clients, err = intList(*clients); err != nil {
		return cfg, fmt.Errorf("-clients: %w", err)
	}
	if cfg.ScaleRows, err = intList(*scale); err != nil || len(cfg.ScaleRows) != 2 || cfg.ScaleRows[0] >= cfg.ScaleRows[1] {
		return cfg, fmt.Errorf("-scale-rows: want two sizes, smallest first")
	}
	if cfg.Calls < 1 || cfg.Prospects < 1 || cfg.Rounds < 1 || cfg.ContentionClients < 2 || cfg.ScaleClients < 1 {
		return cfg, errors.New("-calls, -prospects, -rounds, -scale-clients must be at least 1, -contention-clients at least 2")
	}
	cfg.DurationText, cfg.WarmupText = cfg.Duration.String(), cfg.Warmup.String()
	return cfg, nil
}

func (c config) has(mode string) bool { return slices.Contains(c.Modes, mode) }

// needsServer reports whether a mode talks HTTP: all do but a throughput run of
// SQL forms alone.
func (c config) needsServer() bool {
	return c.has(modeContention) || c.has(modeScale) || slices.Contains(c.Forms, formService)
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	adminURL, err := withDatabase(cfg.DatabaseURL, "postgres")
	if err != nil {
		return err
	}
	b := &bench{
		cfg:      cfg,
		adminURL: adminURL,
		logf:     func(format string, a ...any) { fmt.Fprintf(stderr, "callbench: "+format+"\n", a...) },
	}
	defer func() { err = errors.Join(err, b.close()) }()

	// The main database serves throughput, contention and the scale mode's large
	// table; the small table of scale mode has a database and server of its own,
	// so the two sizes can be measured in turns.
	if b.main, err = b.newTarget(ctx); err != nil {
		return err
	}
	b.res = &results{StartedAt: time.Now().UTC().Truncate(time.Second), Config: cfg, Machine: describeMachine(ctx, b.main.sc.admin)}
	first := cfg.ScaleRows[1]
	if cfg.has(modeThroughput) || cfg.has(modeContention) {
		first = cfg.Calls
	}
	if err := b.load(ctx, b.main, first); err != nil {
		return err
	}
	if cfg.needsServer() {
		if err := b.serve(ctx, b.main); err != nil {
			return err
		}
	}
	if cfg.has(modeThroughput) {
		if err := b.throughput(ctx); err != nil {
			return err
		}
	}
	if cfg.has(modeContention) {
		if err := b.contention(ctx); err != nil {
			return err
		}
	}
	if cfg.has(modeScale) {
		if err := b.scale(ctx); err != nil {
			return err
		}
	}
	for _, t := range []*target{b.main, b.small} {
		if t != nil && t.srv != nil && !t.srv.alive() {
			return fmt.Errorf("callsvc serve exited during the run: %v\n%s", t.srv.waitErr, t.srv.logTail(20))
		}
	}

	b.res.evaluate()
	if err := b.res.markdown(stdout); err != nil {
		return err
	}
	if cfg.Out != "" {
		if err := b.res.writeJSON(cfg.Out); err != nil {
			return err
		}
		abs, _ := filepath.Abs(cfg.Out)
		b.logf("wrote %s", abs)
	}
	if cfg.Strict && !b.res.passed() {
		return errors.New("a target was missed (see Targets)")
	}
	return nil
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
