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
	Server            string        `json:"-"`
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
	forms := fs.String("forms", "service,sql-5,sql-2,sql-1", "what throughput measures: the service over HTTP and the SQL forms (sql-5, sql-2, sql-1)")
	fs.DurationVar(&cfg.Duration, "duration", 8*time.Second, "measured time of each step")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured warm-up before each step")
	fs.IntVar(&cfg.ContentionClients, "contention-clients", 32, "clients racing for one call in contention mode")
	fs.IntVar(&cfg.Rounds, "rounds", 100, "contention rounds (one call each)")
	scale := fs.String("scale-rows", "10000,1000000", "table sizes scale mode compares, smallest first")
	fs.IntVar(&cfg.ScaleClients, "scale-clients", 32, "concurrent clients of the scale steps")
	fs.IntVar(&cfg.PoolMaxConns, "pool-max-conns", 0, "CALLSVC_POOL_MAX_CONNS for the server (0: its default)")
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
	if cfg.has(modeScale) && cfg.ScaleRows[0] > cfg.Calls && (cfg.has(modeThroughput) || cfg.has(modeContention)) {
		return cfg, errors.New("-scale-rows: the small size must not exceed -calls")
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
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "callbench: "+format+"\n", a...) }

	adminURL, err := withDatabase(cfg.DatabaseURL, "postgres")
	if err != nil {
		return err
	}
	sc, err := newScratch(ctx, adminURL)
	if sc != nil {
		defer func() {
			if dropErr := sc.drop(); dropErr != nil {
				err = errors.Join(err, dropErr)
			} else {
				logf("dropped scratch database %s", sc.name)
			}
		}()
	}
	if err != nil {
		return err
	}
	logf("scratch database %s, migrated", sc.name)
	res := &results{StartedAt: time.Now().UTC().Truncate(time.Second), Config: cfg, Machine: describeMachine(ctx, sc.admin)}
	if err := sc.seed(ctx, cfg.Prospects); err != nil {
		return fmt.Errorf("seed: %w", err)
	}

	load := func(rows int) error {
		l, err := sc.loadTo(ctx, rows)
		if err != nil {
			return err
		}
		if l.Added > 0 {
			res.Loads = append(res.Loads, l)
			logf("loaded %d calls in %.1fs (COPY %.1fs, indexes %.1fs; %d rows/s), %d in the table",
				l.Added, l.Seconds, l.CopySeconds, l.IndexSeconds, l.RowsPerSecond, rows)
		}
		return nil
	}
	first := cfg.Calls
	if cfg.has(modeScale) {
		first = cfg.ScaleRows[0]
	}
	if err := load(first); err != nil {
		return err
	}

	b := &bench{cfg: cfg, sc: sc, res: res, logf: logf}
	if cfg.needsServer() {
		tmp, err := os.MkdirTemp("", "callbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		bin := cfg.Server
		if bin == "" {
			start := time.Now()
			if bin, err = buildServer(ctx, ".", tmp); err != nil {
				return err
			}
			logf("built callsvc in %.1fs", time.Since(start).Seconds())
		}
		env := []string{"DATABASE_URL=" + sc.url}
		if cfg.PoolMaxConns > 0 {
			env = append(env, fmt.Sprintf("CALLSVC_POOL_MAX_CONNS=%d", cfg.PoolMaxConns))
		}
		srv, err := startServer(ctx, bin, tmp, env)
		if err != nil {
			return err
		}
		defer func() {
			if stopErr := srv.stop(); stopErr != nil {
				logf("callsvc serve: %v\n%s", stopErr, srv.logTail(20))
			}
		}()
		logf("callsvc serve ready on %s (pid %d)", srv.base, srv.cmd.Process.Pid)
		maxClients := slices.Max(append(slices.Clone(cfg.Clients), cfg.ContentionClients, cfg.ScaleClients))
		b.srv, b.api = srv, newAPI(srv.base, sc.apiKey, maxClients)
		defer b.api.close()
	}

	if cfg.has(modeScale) {
		if err := b.scalePoint(ctx); err != nil {
			return err
		}
	}
	if cfg.has(modeThroughput) || cfg.has(modeContention) {
		if err := load(cfg.Calls); err != nil {
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
		if err := load(cfg.ScaleRows[1]); err != nil {
			return err
		}
		if err := b.scalePoint(ctx); err != nil {
			return err
		}
	}
	if b.srv != nil && !b.srv.alive() {
		return fmt.Errorf("callsvc serve exited during the run: %v\n%s", b.srv.waitErr, b.srv.logTail(20))
	}

	res.evaluate()
	if err := res.markdown(stdout); err != nil {
		return err
	}
	if cfg.Out != "" {
		if err := res.writeJSON(cfg.Out); err != nil {
			return err
		}
		abs, _ := filepath.Abs(cfg.Out)
		logf("wrote %s", abs)
	}
	if cfg.Strict && !res.passed() {
		return errors.New("a target was missed (see Checks)")
	}
	return nil
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
