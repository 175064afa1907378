package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/callsvc/callsvc/internal/cluster"
)

// setup is one way of running callsvc the bench compares.
type setup struct {
	Name     string
	Replicas int
	Direct   bool   // replicas connect to PostgreSQL itself, not PgBouncer
	ExecMode string // the replicas' CALLSVC_QUERY_EXEC_MODE
	Balancer bool   // clients go through HAProxy, else straight to replica 1
}

// setups are the hops added one at a time: exec mode alone, PgBouncer, HAProxy,
// then more replicas behind them.
func setups(replicas []int) []setup {
	out := []setup{
		{"1 replica, PostgreSQL directly, cache_statement (the make bench setup)", 1, true, "cache_statement", false},
		{"1 replica, PostgreSQL directly, exec", 1, true, "exec", false},
		{"1 replica, PgBouncer, exec", 1, false, "exec", false},
	}
	for _, n := range replicas {
		out = append(out, setup{fmt.Sprintf("HAProxy, %d replica(s), PgBouncer, exec", n), n, false, "exec", true})
	}
	return out
}

type benchResult struct {
	Setup     string  `json:"setup"`
	Round     int     `json:"round"`
	PerSecond float64 `json:"outcomesPerSecond"`
	Failed    int     `json:"failed"`
	P50ms     float64 `json:"p50ms"`
	P99ms     float64 `json:"p99ms"`
}

// bench measures outcome throughput through each setup, on a scratch database
// each, in rounds that alternate the setups so a machine's drift hits all alike.
func bench(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	admin := fs.String("database-url", cmp.Or(getenv("DATABASE_URL"), defaultDatabaseURL), "PostgreSQL to make the scratch databases on (loopback; its database name is ignored)")
	callsvc := fs.String("callsvc", "bin/callsvc", "the callsvc binary")
	replicaList := fs.String("replicas", "1,2,3", "replica counts behind HAProxy")
	clients := fs.Int("clients", 32, "concurrent clients, each on its own keep-alive connection")
	duration := fs.Duration("duration", 8*time.Second, "measured time per setup")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured time before it")
	rounds := fs.Int("rounds", 2, "rounds over all setups")
	bouncerPool := fs.Int("pgbouncer-pool", 32, "PgBouncer's PostgreSQL connections")
	replicaPool := fs.Int("replica-pool", 32, "each replica's CALLSVC_POOL_MAX_CONNS")
	out := fs.String("out", "", "write the results as JSON there too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var replicas []int
	for _, f := range strings.Split(*replicaList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-replicas: %q", *replicaList)
		}
		replicas = append(replicas, n)
	}
	var results []benchResult
	for round := 1; round <= *rounds; round++ {
		for _, s := range setups(replicas) {
			r, err := benchSetup(ctx, s, benchParams{
				admin: *admin, callsvc: *callsvc, clients: *clients, duration: *duration, warmup: *warmup,
				bouncerPool: *bouncerPool, replicaPool: *replicaPool,
			}, stderr)
			if err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
			r.Round = round
			fmt.Fprintf(stderr, "bench: round %d: %s: %.0f outcomes/s, p50 %.1f ms, p99 %.1f ms, %d failed\n", round, s.Name, r.PerSecond, r.P50ms, r.P99ms, r.Failed)
			results = append(results, r)
		}
	}
	report(stdout, results, *clients, *duration)
	if *out != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		return os.WriteFile(*out, b, 0o644)
	}
	return nil
}

// report prints a Markdown table: each setup's mean over the rounds, and its
// ratio to the first setup's (the machine is shared: ratios travel, absolutes do not).
func report(w io.Writer, results []benchResult, clients int, d time.Duration) {
	var order []string
	by := map[string][]benchResult{}
	for _, r := range results {
		if _, ok := by[r.Setup]; !ok {
			order = append(order, r.Setup)
		}
		by[r.Setup] = append(by[r.Setup], r)
	}
	mean := func(rs []benchResult, f func(benchResult) float64) float64 {
		var s float64
		for _, r := range rs {
			s += f(r)
		}
		return s / float64(len(rs))
	}
	base := mean(by[order[0]], func(r benchResult) float64 { return r.PerSecond })
	fmt.Fprintf(w, "\nOutcome POSTs on distinct calls, %d clients, %s measured per round, mean of %d rounds.\n\n", clients, d, len(by[order[0]]))
	fmt.Fprintln(w, "| setup | outcomes/s | per round | vs first | p50 ms | p99 ms | failed |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|")
	for _, name := range order {
		rs := by[name]
		var each []string
		failed := 0
		for _, r := range rs {
			each = append(each, fmt.Sprintf("%.0f", r.PerSecond))
			failed += r.Failed
		}
		ps := mean(rs, func(r benchResult) float64 { return r.PerSecond })
		fmt.Fprintf(w, "| %s | %.0f | %s | %.2f | %.1f | %.1f | %d |\n", name, ps, strings.Join(each, ", "), ps/base,
			mean(rs, func(r benchResult) float64 { return r.P50ms }), mean(rs, func(r benchResult) float64 { return r.P99ms }), failed)
	}
}

type benchParams struct {
	admin, callsvc           string
	clients                  int
	duration, warmup         time.Duration
	bouncerPool, replicaPool int
}

func benchSetup(ctx context.Context, s setup, p benchParams, log io.Writer) (benchResult, error) {
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	name := "callsvc_bench_cluster_" + hex.EncodeToString(suffix[:])
	u, err := url.Parse(p.admin)
	if err != nil {
		return benchResult{}, err
	}
	dbu := *u
	dbu.Path = "/" + name
	dbURL := dbu.String()
	dbu.Path = "/postgres"
	defer dropDatabase(dbu.String(), name, log)

	dir, err := os.MkdirTemp("", "callsvc-bench-cluster-")
	if err != nil {
		return benchResult{}, err
	}
	defer os.RemoveAll(dir)
	c, err := cluster.Start(ctx, cluster.Config{
		Dir: dir, Callsvc: p.callsvc, DatabaseURL: dbURL, Replicas: s.Replicas, Direct: s.Direct, ExecMode: s.ExecMode,
		PgBouncerPoolSize: p.bouncerPool, ReplicaPoolMaxConns: p.replicaPool, LogLevel: "warn",
	}, nil)
	if err != nil {
		return benchResult{}, err
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(log, "bench: stop:", err)
		}
	}()

	key, calls, err := seed(ctx, p.callsvc, dbURL, int(float64(p.duration+p.warmup)/float64(time.Second)*4000))
	if err != nil {
		return benchResult{}, err
	}
	base := c.URL()
	if !s.Balancer {
		base = c.Nodes[0].URL()
	}
	r := drive(ctx, base, key, calls, p.clients, p.warmup, p.duration)
	r.Setup = s.Name
	if r.PerSecond == 0 {
		return r, errors.New("no outcome was decided")
	}
	return r, nil
}

// seed creates an organization (through the CLI, directly), a prospect with 900
// clients and n in-progress calls, and returns the key and the call ids.
func seed(ctx context.Context, callsvc, dbURL string, n int) (string, []string, error) {
	cmd := exec.CommandContext(ctx, callsvc, "org", "create", "--name", "Bench")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	out, err := cmd.Output()
	if err != nil {
		return "", nil, fmt.Errorf("org create: %w", err)
	}
	var o struct {
		OrganizationID string `json:"organizationId"`
		APIKey         string `json:"apiKey"`
	}
	if err := json.Unmarshal(out, &o); err != nil {
		return "", nil, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		WITH p AS (
			INSERT INTO prospect (organization_id, name, client_count) VALUES ($1, 'Bench', 900) RETURNING id
		)
		INSERT INTO call_session (organization_id, prospect_id, status, started_at)
		SELECT $1, p.id, 'in_progress', now() FROM p, generate_series(1, $2)
		RETURNING id::text`, o.OrganizationID, n)
	if err != nil {
		return "", nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", nil, err
	}
	_, err = conn.Exec(ctx, "VACUUM ANALYZE call_session")
	return o.APIKey, ids, err
}

// drive posts outcomes on distinct calls from clients goroutines for warmup
// plus d, and counts the 201s that finished within the measured d.
func drive(ctx context.Context, base, key string, calls []string, clients int, warmup, d time.Duration) benchResult {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var next atomic.Int64
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+d)
	var mu sync.Mutex
	var lat []time.Duration
	ok, failed := 0, 0
	body := []byte(`{"outcomeType":"Meeting_Booked"}`)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(calls)) || time.Now().After(end) {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/calls/"+calls[i]+"/outcome", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				res, err := hc.Do(req)
				status := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					status = res.StatusCode
				}
				t1 := time.Now()
				if t0.Before(measureFrom) || t1.After(end) {
					continue
				}
				mu.Lock()
				if status == http.StatusCreated {
					ok++
					lat = append(lat, t1.Sub(t0))
				} else {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))]) / 1e6
	}
	return benchResult{PerSecond: float64(ok) / d.Seconds(), Failed: failed, P50ms: pct(0.5), P99ms: pct(0.99)}
}

func dropDatabase(admin, name string, log io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err == nil {
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
	if err != nil {
		fmt.Fprintf(log, "bench: drop database %s: %v (drop it by hand)\n", name, err)
	}
}
