package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// formReference is the fixed yardstick: PostgreSQL's own pgbench running
// bench/reference/tx5.sql, the textbook five-round-trip outcome transaction, on a
// fixed schema (bench/reference/schema.sql) in a scratch database of its own,
// seeded with as many calls as the service's table and checkpointed the same
// way. Unlike the sql-N forms it does not move when the service's schema or SQL
// change, so service / pgbench-ref says what the whole service costs.
const formReference = "pgbench-ref"

// reference is the yardstick's database.
type reference struct {
	name, url string
	admin     *pgx.Conn
	dir       string // bench/reference
	pgbench   string
	calls     int
}

// newReference creates the reference database and seeds it with calls calls
// (psql runs the reference's own schema.sql and seed.sql). The caller drops it.
func newReference(ctx context.Context, adminURL, dir string, calls int) (*reference, error) {
	pgbench, err := serverTool("pgbench")
	if err != nil {
		return nil, err
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	var suffix [6]byte
	_, _ = crand.Read(suffix[:])
	r := &reference{name: scratchPrefix + "ref_" + hex.EncodeToString(suffix[:]), admin: admin, dir: dir, pgbench: pgbench, calls: calls}
	if r.url, err = withDatabase(adminURL, r.name); err != nil {
		return r, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{r.name}.Sanitize()); err != nil {
		return r, fmt.Errorf("create reference database: %w", err)
	}
	for _, args := range [][]string{
		{"-f", filepath.Join(dir, "schema.sql")},
		{"-v", fmt.Sprintf("n_calls=%d", calls), "-f", filepath.Join(dir, "seed.sql")},
	} {
		cmd := exec.CommandContext(ctx, "psql", append([]string{"-X", "-q", "-v", "ON_ERROR_STOP=1", r.url}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return r, fmt.Errorf("reference: psql %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return r, nil
}

// drop removes the reference database, also after Ctrl-C.
func (r *reference) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := r.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{r.name}.Sanitize()+" WITH (FORCE)")
	_ = r.admin.Close(ctx)
	if err != nil {
		return fmt.Errorf("drop reference database %s: %w", r.name, err)
	}
	return nil
}

// reset puts every call back in progress and ends with a CHECKPOINT, as the
// service's table is reset before each of its steps (scratch.reset).
func (r *reference) reset(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, r.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, sql := range []string{
		"TRUNCATE call_outcomes",
		"UPDATE call_sessions SET status = 'in_progress', ended_at = NULL WHERE status <> 'in_progress'",
		"ALTER SEQUENCE call_pick RESTART",
		"VACUUM call_sessions, call_outcomes",
		"CHECKPOINT",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("reference reset: %s: %w", sql, err)
		}
	}
	return nil
}

// step runs pgbench with clients clients: warmup unmeasured, then duration
// measured, with the WAL written in between. Each transaction takes a call of
// its own from the sequence call_pick, so the calls must outnumber what the
// two runs can decide; a step that used them all up reports it.
func (r *reference) step(ctx context.Context, clients int, warmup, duration time.Duration, stats func(context.Context) (dbCounters, error)) (stepResult, error) {
	if err := r.reset(ctx); err != nil {
		return stepResult{}, err
	}
	if warmup > 0 {
		if _, _, err := r.pgbenchRun(ctx, clients, warmup); err != nil {
			return stepResult{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	before, err := stats(ctx)
	if err != nil {
		return stepResult{}, err
	}
	res, took, err := r.pgbenchRun(ctx, clients, duration)
	if err != nil {
		return stepResult{}, err
	}
	after, err := stats(ctx)
	if err != nil {
		return stepResult{}, err
	}
	res.Seconds = took.Seconds()
	res.walBytes = after.WALBytes - before.WALBytes
	res.walFrom, res.walTo = before.WALLSN, after.WALLSN
	if res.OK > 0 {
		res.WALPerOp = res.walBytes / int64(res.OK)
		res.PerSecond = math.Round(float64(res.OK) / res.Seconds)
	}
	res.Checkpoints = after.Checkpoints - before.Checkpoints
	var drawn int
	conn, err := pgx.Connect(ctx, r.url)
	if err != nil {
		return res, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, "SELECT last_value FROM call_pick").Scan(&drawn); err != nil {
		return res, err
	}
	if drawn >= r.calls {
		return res, fmt.Errorf("pgbench drew all %d calls: load more (-calls)", r.calls)
	}
	return res, nil
}

var tpsLine = regexp.MustCompile(`number of transactions actually processed: (\d+)`)

// pgbenchRun runs pgbench for d and reads its per-transaction log: every
// transaction's latency, and how many committed (the script rolls back a call
// its checks refuse, which the seed never makes).
func (r *reference) pgbenchRun(ctx context.Context, clients int, d time.Duration) (stepResult, time.Duration, error) {
	logDir, err := os.MkdirTemp("", "callbench-pgbench-")
	if err != nil {
		return stepResult{}, 0, err
	}
	defer os.RemoveAll(logDir)
	threads := min(clients, 2)
	args := []string{"-n", "-M", "prepared", "-c", strconv.Itoa(clients), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(int(math.Ceil(d.Seconds()))), "-l", "--log-prefix", filepath.Join(logDir, "tx"),
		"-f", filepath.Join(r.dir, "tx5.sql"), r.url}
	start := time.Now()
	out, err := exec.CommandContext(ctx, r.pgbench, args...).CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return stepResult{}, took, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return stepResult{}, took, fmt.Errorf("pgbench printed no transaction count: %s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	samples, err := readPgbenchLogs(logDir)
	if err != nil {
		return stepResult{}, took, err
	}
	// pgbench's -T counts from its clients' start; the log's span is the
	// measured time, without connecting.
	res := stepResult{Ops: n, OK: n, Statuses: map[string]int{"201": n}, samples: samples, Latency: summarize(samples)}
	return res, d, nil
}

// readPgbenchLogs reads the latency (third field, microseconds) of every
// transaction in pgbench's per-client logs.
func readPgbenchLogs(dir string) ([]time.Duration, error) {
	files, err := filepath.Glob(filepath.Join(dir, "tx*"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("pgbench wrote no transaction log in %s", dir)
	}
	var samples []time.Duration
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil {
				continue
			}
			samples = append(samples, time.Duration(us)*time.Microsecond)
		}
		_ = fh.Close()
	}
	return samples, nil
}

// serverTool finds a PostgreSQL program: on PATH, or in the newest of Debian's
// /usr/lib/postgresql/N/bin.
func serverTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	slices.Sort(dirs)
	if len(dirs) == 0 {
		return "", fmt.Errorf("%s not found: install PostgreSQL's server package (Debian: postgresql)", name)
	}
	return dirs[len(dirs)-1], nil
}
