package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
)

// bench runs the modes against one scratch database and one server.
type bench struct {
	cfg  config
	sc   *scratch
	srv  *server
	api  *api
	res  *results
	logf func(format string, a ...any)
}

// outcomeStep measures form (the service, or an SQL form) deciding distinct calls
// with clients concurrent clients, from a freshly reset table.
func (b *bench) outcomeStep(ctx context.Context, form string, clients int, sampleMemory *memory) (stepResult, error) {
	if err := b.sc.reset(ctx); err != nil {
		return stepResult{}, err
	}
	st := step{
		clients:  clients,
		warmup:   b.cfg.Warmup,
		duration: b.cfg.Duration,
		supply:   newSupply(b.sc.calls),
		refill:   b.sc.reset,
		expect:   http.StatusCreated,
		dbStats:  b.sc.counters,
	}
	if form == formService {
		st.newClient = func(context.Context, int) (client, error) { return outcomeClient{b.api}, nil }
	} else {
		st.newClient = func(ctx context.Context, _ int) (client, error) {
			return newSQLClient(ctx, b.sc.url, form, b.sc.org)
		}
	}
	if sampleMemory != nil {
		st.onMeasure = func(ctx context.Context) { b.srv.sampleMemory(ctx, sampleMemory) }
	}
	res, err := st.run(ctx)
	if err != nil {
		return res, fmt.Errorf("%s with %d clients: %w", form, clients, err)
	}
	return res, nil
}

func (b *bench) throughput(ctx context.Context) error {
	maxC := slices.Max(b.cfg.Clients)
	for _, c := range b.cfg.Clients {
		for _, form := range b.cfg.Forms {
			var mem *memory
			if form == formService && c == maxC {
				mem = &memory{}
			}
			r, err := b.outcomeStep(ctx, form, c, mem)
			if err != nil {
				return err
			}
			row := throughputRow{Clients: c, Form: form, RoundTrips: roundTrips[form], stepResult: r}
			if form == formService {
				row.RoundTrips = serviceRoundTrips
			}
			b.res.Throughput = append(b.res.Throughput, row)
			b.logf("throughput C=%-2d %-7s %6.0f/s  p50 %6.2f ms  p99 %6.2f ms  WAL %5d B/op %s", c, form, r.PerSecond, r.Latency.P50, r.Latency.P99, r.WALPerOp, r.problems(http.StatusCreated))
			if mem != nil {
				b.res.ServerMemory = &memoryResult{Clients: c, memory: *mem}
				b.logf("server memory during C=%d: max VmRSS %.1f MiB, VmHWM %.1f MiB", c, mem.SampledMaxRSSMiB, mem.PeakRSSMiB)
			}
		}
	}
	return nil
}

func (b *bench) contention(ctx context.Context) error {
	if err := b.sc.reset(ctx); err != nil {
		return err
	}
	r, raced, err := runContention(ctx, b.api, newSupply(b.sc.calls), b.cfg.ContentionClients, b.cfg.Rounds)
	if err != nil {
		return err
	}
	ids := make([][16]byte, len(raced))
	copy(ids, raced)
	if r.OutcomesStored, err = b.sc.count(ctx, "SELECT count(*) FROM call_outcome WHERE call_session_id = ANY($1)", ids); err != nil {
		return fmt.Errorf("contention: count outcomes: %w", err)
	}
	b.res.Contention = &r
	b.logf("contention C=%d: %d rounds, %d exact, %d×201 %d×409 %d×5xx, losers wait p50 %.2f ms p99 %.2f ms, %d outcomes stored",
		r.Clients, r.Rounds, r.ExactRounds, r.Created, r.Conflicts, r.ServerErrors, r.Losers.P50, r.Losers.P99, r.OutcomesStored)
	return nil
}

// scalePoint measures the service's outcome throughput and the first list page
// at the table's current size.
func (b *bench) scalePoint(ctx context.Context) error {
	rows := len(b.sc.calls)
	outcome, err := b.outcomeStep(ctx, formService, b.cfg.ScaleClients, nil)
	if err != nil {
		return fmt.Errorf("scale %d rows: %w", rows, err)
	}
	if err := b.sc.reset(ctx); err != nil {
		return err
	}
	list, err := step{
		clients:   b.cfg.ScaleClients,
		warmup:    b.cfg.Warmup,
		duration:  b.cfg.Duration,
		newClient: func(context.Context, int) (client, error) { return listClient{b.api}, nil },
		expect:    http.StatusOK,
		dbStats:   b.sc.counters,
	}.run(ctx)
	if err != nil {
		return fmt.Errorf("scale %d rows: list: %w", rows, err)
	}
	b.res.Scale = append(b.res.Scale, scaleRow{Rows: rows, Clients: b.cfg.ScaleClients, Outcome: outcome, List: list})
	b.logf("scale %7d rows: outcome %6.0f/s p99 %6.2f ms WAL %d B/op, %d checkpoints %s; list %6.0f/s p99 %6.2f ms %s", rows,
		outcome.PerSecond, outcome.Latency.P99, outcome.WALPerOp, outcome.Checkpoints, outcome.problems(http.StatusCreated),
		list.PerSecond, list.Latency.P99, list.problems(http.StatusOK))
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
