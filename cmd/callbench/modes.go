package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"
)

// bench runs the modes. Each target is a scratch database with its own callsvc
// serve; close stops the servers and drops the databases, whatever happened.
type bench struct {
	cfg      config
	adminURL string
	res      *results
	logf     func(format string, a ...any)

	main  *target    // throughput, contention, scale's large table
	small *target    // scale's small table
	ref   *reference // the yardstick, made on first use

	tmp, bin string // the server binary, built once
	closers  []func() error
}

type target struct {
	sc  *scratch
	srv *server
	api *api
}

// newTarget creates, migrates and seeds a scratch database.
func (b *bench) newTarget(ctx context.Context) (*target, error) {
	sc, err := newScratch(ctx, b.adminURL)
	if sc != nil {
		b.closers = append(b.closers, func() error {
			err := sc.drop()
			if err == nil {
				b.logf("dropped scratch database %s", sc.name)
			}
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	b.logf("scratch database %s, migrated", sc.name)
	if err := sc.seed(ctx, b.cfg.Prospects); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return &target{sc: sc}, nil
}

// load grows t's table to rows calls.
func (b *bench) load(ctx context.Context, t *target, rows int) error {
	l, err := t.sc.loadTo(ctx, rows)
	if err != nil {
		return err
	}
	if l.Added > 0 {
		b.res.Loads = append(b.res.Loads, l)
		b.logf("loaded %d calls in %.1fs (COPY %.1fs, indexes %.1fs; %d rows/s), %d in %s",
			l.Added, l.Seconds, l.CopySeconds, l.IndexSeconds, l.RowsPerSecond, rows, t.sc.name)
	}
	return nil
}

// serve starts callsvc serve on t's database, building the binary first unless
// -server named one.
func (b *bench) serve(ctx context.Context, t *target) error {
	if b.tmp == "" {
		tmp, err := os.MkdirTemp("", "callbench-")
		if err != nil {
			return err
		}
		b.tmp = tmp
		b.closers = append(b.closers, func() error { return os.RemoveAll(tmp) })
	}
	if b.bin == "" {
		b.bin = b.cfg.Server
	}
	if b.bin == "" {
		start := time.Now()
		bin, err := buildServer(ctx, ".", b.tmp)
		if err != nil {
			return err
		}
		b.bin = bin
		b.logf("built callsvc in %.1fs", time.Since(start).Seconds())
	}
	env := []string{"DATABASE_URL=" + t.sc.url}
	if b.cfg.PoolMaxConns > 0 {
		env = append(env, fmt.Sprintf("CALLSVC_POOL_MAX_CONNS=%d", b.cfg.PoolMaxConns))
	}
	env = append(env, b.cfg.ServerEnv...)
	srv, err := startServer(ctx, b.bin, b.tmp, t.sc.name, env)
	if err != nil {
		return err
	}
	b.closers = append(b.closers, func() error {
		if err := srv.stop(); err != nil {
			return fmt.Errorf("callsvc serve: %w\n%s", err, srv.logTail(20))
		}
		return nil
	})
	maxClients := slices.Max(append(slices.Clone(b.cfg.Clients), b.cfg.ContentionClients, b.cfg.ScaleClients))
	t.srv, t.api = srv, newAPI(srv.base, t.sc.apiKey, maxClients)
	b.closers = append(b.closers, func() error { t.api.close(); return nil })
	b.logf("callsvc serve ready on %s (pid %d) for %s", srv.base, srv.cmd.Process.Pid, t.sc.name)
	return nil
}

// close undoes what the run set up, newest first: servers stop before their
// databases are dropped.
func (b *bench) close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	return errors.Join(errs...)
}

// outcomeStep measures form (the service, or an SQL form) deciding distinct calls
// of t with clients concurrent clients, from a freshly reset table.
func (b *bench) outcomeStep(ctx context.Context, t *target, form string, clients int, duration time.Duration, sampleMemory *memory) (stepResult, error) {
	if form == formReference {
		return b.referenceStep(ctx, t, clients, duration)
	}
	if err := t.sc.reset(ctx); err != nil {
		return stepResult{}, err
	}
	st := step{
		clients:  clients,
		warmup:   b.cfg.Warmup,
		duration: duration,
		supply:   newSupply(t.sc.calls),
		refill:   t.sc.reset,
		expect:   http.StatusCreated,
		dbStats:  t.sc.counters,
	}
	if form == formService {
		st.newClient = func(context.Context, int) (client, error) { return outcomeClient{t.api}, nil }
	} else {
		st.newClient = func(ctx context.Context, _ int) (client, error) {
			return newSQLClient(ctx, t.sc.url, form, t.sc.org)
		}
	}
	if sampleMemory != nil {
		st.onMeasure = func(ctx context.Context) { t.srv.sampleMemory(ctx, sampleMemory) }
	}
	res, err := st.run(ctx)
	if err != nil {
		return res, fmt.Errorf("%s with %d clients: %w", form, clients, err)
	}
	t.sc.walRecords(ctx, &res)
	return res, nil
}

// referenceStep measures the yardstick with clients clients, on a table as big
// as t's, made the first time.
func (b *bench) referenceStep(ctx context.Context, t *target, clients int, duration time.Duration) (stepResult, error) {
	if b.ref == nil {
		start := time.Now()
		ref, err := newReference(ctx, b.adminURL, b.cfg.ReferenceDir, len(t.sc.calls))
		if ref != nil {
			b.closers = append(b.closers, ref.drop)
		}
		if err != nil {
			return stepResult{}, err
		}
		b.ref = ref
		b.logf("reference database %s seeded with %d calls in %.1fs", ref.name, ref.calls, time.Since(start).Seconds())
	}
	res, err := b.ref.step(ctx, clients, b.cfg.Warmup, duration, t.sc.counters)
	if err != nil {
		return res, fmt.Errorf("%s with %d clients: %w", formReference, clients, err)
	}
	t.sc.walRecords(ctx, &res)
	return res, nil
}

// listStep measures GET /v1/calls?limit=20 on t.
func (b *bench) listStep(ctx context.Context, t *target, duration time.Duration) (stepResult, error) {
	return step{
		clients:   b.cfg.ScaleClients,
		warmup:    b.cfg.Warmup,
		duration:  duration,
		newClient: func(context.Context, int) (client, error) { return listClient{t.api}, nil },
		expect:    http.StatusOK,
		dbStats:   t.sc.counters,
	}.run(ctx)
}

func (b *bench) throughput(ctx context.Context) error {
	maxC := slices.Max(b.cfg.Clients)
	for _, c := range b.cfg.Clients {
		for _, form := range b.cfg.Forms {
			var mem *memory
			if form == formService && c == maxC {
				mem = &memory{}
			}
			if form != formService {
				// pgbench and the SQL forms open a connection per client beside
				// the server's pools, all of them on the same PostgreSQL.
				if free, err := b.main.sc.freeConnections(ctx); err == nil && free < c {
					b.logf("throughput C=%-2d %-7s skipped: %d connections free on the server, the form needs %d", c, form, free, c)
					continue
				}
			}
			r, err := b.outcomeStep(ctx, b.main, form, c, b.cfg.Duration, mem)
			if err != nil {
				return err
			}
			row := throughputRow{Clients: c, Form: form, RoundTrips: roundTrips[form], stepResult: r}
			if form == formService {
				row.RoundTrips = serviceRoundTrips
			}
			b.res.Throughput = append(b.res.Throughput, row)
			b.logf("throughput C=%-2d %-7s %6.0f/s  p50 %6.2f ms  p99 %6.2f ms  WAL %5d B/op %s", c, form, r.PerSecond, r.Latency.P50, r.Latency.P99, r.WALPerOp, r.problems(http.StatusCreated))
			for _, w := range r.WALRecords {
				b.logf("    WAL %-28s %5.2f/op %5d B/op (full pages %5d B/op)", w.Type, w.PerOp, w.BytesPerOp, w.FPIBytesPerOp)
			}
			if mem != nil {
				b.res.ServerMemory = &memoryResult{Clients: c, memory: *mem}
				b.logf("server memory during C=%d: max VmRSS %.1f MiB, VmHWM %.1f MiB", c, mem.SampledMaxRSSMiB, mem.PeakRSSMiB)
			}
		}
	}
	return nil
}

func (b *bench) contention(ctx context.Context) error {
	sc := b.main.sc
	if err := sc.reset(ctx); err != nil {
		return err
	}
	r, raced, err := runContention(ctx, b.main.api, newSupply(sc.calls), b.cfg.ContentionClients, b.cfg.Rounds)
	if err != nil {
		return err
	}
	ids := make([][16]byte, len(raced))
	copy(ids, raced)
	if r.OutcomesStored, err = sc.count(ctx, "SELECT count(*) FROM call_outcome WHERE call_session_id = ANY($1)", ids); err != nil {
		return fmt.Errorf("contention: count outcomes: %w", err)
	}
	b.res.Contention = &r
	b.logf("contention C=%d: %d rounds, %d exact, %d×201 %d×409 %d×5xx, losers wait p50 %.2f ms p99 %.2f ms, %d outcomes stored",
		r.Clients, r.Rounds, r.ExactRounds, r.Created, r.Conflicts, r.ServerErrors, r.Losers.P50, r.Losers.P99, r.OutcomesStored)
	return nil
}

// scaleTurns is how many turns each size gets in scale mode: the sizes are
// measured in turns (small, large, small, large), each for a share of
// -duration, so that noise from the rest of the machine falls on both alike.
const scaleTurns = 2

// scale measures the service's outcome throughput and the first list page on a
// small table (a database of its own) and a large one (the main database, grown).
func (b *bench) scale(ctx context.Context) error {
	var err error
	if b.small, err = b.newTarget(ctx); err != nil {
		return err
	}
	if err := b.load(ctx, b.small, b.cfg.ScaleRows[0]); err != nil {
		return err
	}
	if err := b.serve(ctx, b.small); err != nil {
		return err
	}
	if err := b.load(ctx, b.main, b.cfg.ScaleRows[1]); err != nil {
		return err
	}
	sizes := []*target{b.small, b.main}
	turn := b.cfg.Duration / scaleTurns
	outcomes := make([][]stepResult, len(sizes))
	lists := make([][]stepResult, len(sizes))
	for range scaleTurns {
		for i, t := range sizes {
			r, err := b.outcomeStep(ctx, t, formService, b.cfg.ScaleClients, turn, nil)
			if err != nil {
				return fmt.Errorf("scale %d rows: %w", len(t.sc.calls), err)
			}
			outcomes[i] = append(outcomes[i], r)
		}
		for i, t := range sizes {
			r, err := b.listStep(ctx, t, turn)
			if err != nil {
				return fmt.Errorf("scale %d rows: list: %w", len(t.sc.calls), err)
			}
			lists[i] = append(lists[i], r)
		}
	}
	for i, t := range sizes {
		outcome, list := mergeSteps(outcomes[i]...), mergeSteps(lists[i]...)
		rows := len(t.sc.calls)
		b.res.Scale = append(b.res.Scale, scaleRow{Rows: rows, Clients: b.cfg.ScaleClients, Outcome: outcome, List: list})
		b.logf("scale %7d rows: outcome %6.0f/s p99 %6.2f ms WAL %d B/op, %d checkpoints %s; list %6.0f/s p99 %6.2f ms %s", rows,
			outcome.PerSecond, outcome.Latency.P99, outcome.WALPerOp, outcome.Checkpoints, outcome.problems(http.StatusCreated),
			list.PerSecond, list.Latency.P99, list.problems(http.StatusOK))
	}
	return nil
}

// problems says what went wrong in a step, or nothing.
func (r stepResult) problems(expect int) string {
	s := ""
	if n := r.Ops - r.OK; n > 0 {
		s += fmt.Sprintf(" %d answers not %d %v", n, expect, r.Statuses)
	}
	if r.Errors > 0 {
		s += fmt.Sprintf(" %d errors (first: %s)", r.Errors, r.FirstErr)
	}
	return s
}
