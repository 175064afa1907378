package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// supply hands out calls to decide, each one once, in a fixed random order. A
// step that uses them all up has the table reset (refill) and starts over.
type supply struct {
	ids  [][16]byte
	next atomic.Int64
}

func newSupply(ids [][16]byte) *supply { return &supply{ids: ids} }

func (s *supply) take() ([16]byte, bool) {
	i := s.next.Add(1) - 1
	if i >= int64(len(s.ids)) {
		return [16]byte{}, false
	}
	return s.ids[i], true
}

func (s *supply) exhausted() bool { return s.next.Load() >= int64(len(s.ids)) }
func (s *supply) rewind()         { s.next.Store(0) }

// client is one of a step's concurrent clients: an HTTP client or a PostgreSQL
// connection. do decides call id (or ignores it, for reads) and returns the HTTP
// status, or the status the service would answer for an SQL transaction.
type client interface {
	do(ctx context.Context, id [16]byte) (status int, err error)
	close()
}

// step is one measurement: clients concurrent clients, each sending its next
// request as soon as the last one is answered (a closed loop), for duration after
// a warm-up whose requests are not counted.
type step struct {
	clients   int
	warmup    time.Duration
	duration  time.Duration
	newClient func(ctx context.Context, i int) (client, error)
	supply    *supply                         // nil when requests need no call
	refill    func(ctx context.Context) error // when supply runs out: reset the table
	expect    int                             // the status of a success: 201, 200
	// onMeasure, when set, runs for as long as the measured part of the step does
	// (the server's memory sampler).
	onMeasure func(ctx context.Context)
	// dbStats, when set, reads PostgreSQL's counters before and after the
	// measured part, for the WAL written per request and the checkpoints.
	dbStats func(ctx context.Context) (dbCounters, error)
}

// dbCounters are PostgreSQL's server-wide counters that explain a step's cost.
type dbCounters struct {
	WALBytes    int64  // pg_current_wal_lsn() as a byte position
	WALLSN      string // the same, as PostgreSQL writes it, for pg_walinspect
	Checkpoints int64  // timed and requested
}

// stepResult is what a step measured.
type stepResult struct {
	Ops       int            `json:"ops"` // answered requests, whatever their status
	OK        int            `json:"ok"`  // answered with the expected status
	Seconds   float64        `json:"seconds"`
	PerSecond float64        `json:"perSecond"`
	Latency   latency        `json:"latency"`
	Statuses  map[string]int `json:"statuses"`
	Errors    int            `json:"errors"`
	FirstErr  string         `json:"firstError,omitempty"`
	Refills   int            `json:"refills"`
	// WALPerOp is the WAL PostgreSQL wrote per successful request (bytes), and
	// Checkpoints how many began while the step was measured: a bigger table
	// costs more because each write touches pages the last checkpoint has not
	// seen, which go to the WAL whole.
	WALPerOp    int64 `json:"walBytesPerOp"`
	Checkpoints int64 `json:"checkpoints"`
	// WALRecords says what the WAL of the measured part was made of, per
	// record type, when the server has pg_walinspect.
	WALRecords []walRecord `json:"walRecords,omitempty"`

	samples        []time.Duration // every answered request's latency, sorted
	walBytes       int64
	walFrom, walTo string // LSNs around the measured part
}

// mergeSteps adds up steps of the same work, measured in turns.
func mergeSteps(steps ...stepResult) stepResult {
	m := stepResult{Statuses: map[string]int{}}
	var seconds float64
	for _, r := range steps {
		m.Ops += r.Ops
		m.OK += r.OK
		m.Errors += r.Errors
		m.Refills += r.Refills
		m.Checkpoints += r.Checkpoints
		m.walBytes += r.walBytes
		seconds += r.Seconds
		m.samples = append(m.samples, r.samples...)
		for k, v := range r.Statuses {
			m.Statuses[k] += v
		}
		if m.FirstErr == "" {
			m.FirstErr = r.FirstErr
		}
	}
	m.Seconds = seconds
	if seconds > 0 {
		m.PerSecond = math.Round(float64(m.OK) / seconds)
	}
	if m.OK > 0 {
		m.WALPerOp = m.walBytes / int64(m.OK)
	}
	m.Latency = summarize(m.samples)
	return m
}

// latency summarises exact samples: nearest-rank percentiles of the sorted
// durations, in milliseconds.
type latency struct {
	P50 float64 `json:"p50Ms"`
	P95 float64 `json:"p95Ms"`
	P99 float64 `json:"p99Ms"`
	Max float64 `json:"maxMs"`
}

func summarize(samples []time.Duration) latency {
	if len(samples) == 0 {
		return latency{}
	}
	slices.Sort(samples)
	return latency{
		P50: ms(percentile(samples, 0.50)),
		P95: ms(percentile(samples, 0.95)),
		P99: ms(percentile(samples, 0.99)),
		Max: ms(samples[len(samples)-1]),
	}
}

// percentile returns the nearest-rank p-quantile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// tally is one client's record; tallies are merged when the step ends.
type tally struct {
	samples  []time.Duration
	statuses map[int]int
	errors   int
	firstErr error
}

func (t *tally) add(took time.Duration, status int, err error) {
	if err != nil {
		t.errors++
		if t.firstErr == nil {
			t.firstErr = err
		}
		return
	}
	t.samples = append(t.samples, took)
	t.statuses[status]++
}

// run measures the step.
func (s step) run(ctx context.Context) (stepResult, error) {
	clients := make([]client, s.clients)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	}()
	for i := range clients {
		c, err := s.newClient(ctx, i)
		if err != nil {
			return stepResult{}, err
		}
		clients[i] = c
	}
	if _, _, _, err := s.runFor(ctx, clients, s.warmup); err != nil {
		return stepResult{}, fmt.Errorf("warm-up: %w", err)
	}

	var before, after dbCounters
	if s.dbStats != nil {
		var err error
		if before, err = s.dbStats(ctx); err != nil {
			return stepResult{}, err
		}
	}
	measureCtx, stopMeasure := context.WithCancel(ctx)
	var sampler sync.WaitGroup
	if s.onMeasure != nil {
		sampler.Go(func() { s.onMeasure(measureCtx) })
	}
	tallies, took, refills, err := s.runFor(ctx, clients, s.duration)
	stopMeasure()
	sampler.Wait()
	if err != nil {
		return stepResult{}, err
	}
	if s.dbStats != nil {
		if after, err = s.dbStats(ctx); err != nil {
			return stepResult{}, err
		}
	}

	res := stepResult{Statuses: map[string]int{}, Refills: refills}
	var all []time.Duration
	for _, t := range tallies {
		all = append(all, t.samples...)
		for st, n := range t.statuses {
			res.Statuses[fmt.Sprint(st)] += n
		}
		res.Errors += t.errors
		if t.firstErr != nil && res.FirstErr == "" {
			res.FirstErr = t.firstErr.Error()
		}
	}
	res.Ops = len(all)
	res.OK = res.Statuses[fmt.Sprint(s.expect)]
	res.Seconds = took.Seconds()
	if took > 0 {
		res.PerSecond = math.Round(float64(res.OK) / took.Seconds())
	}
	res.Latency = summarize(all)
	res.samples = all
	res.walBytes = after.WALBytes - before.WALBytes
	res.walFrom, res.walTo = before.WALLSN, after.WALLSN
	if res.OK > 0 {
		res.WALPerOp = res.walBytes / int64(res.OK)
	}
	res.Checkpoints = after.Checkpoints - before.Checkpoints
	return res, nil
}

// runFor keeps every client busy for d of clock time, not counting the pauses
// to refill the supply, and returns each client's tally, the clock time counted
// and how many refills it took.
func (s step) runFor(ctx context.Context, clients []client, d time.Duration) ([]*tally, time.Duration, int, error) {
	tallies := make([]*tally, len(clients))
	for i := range tallies {
		tallies[i] = &tally{statuses: map[int]int{}, samples: make([]time.Duration, 0, 4096)}
	}
	if s.supply != nil && len(s.supply.ids) == 0 {
		return nil, 0, 0, fmt.Errorf("no calls to decide")
	}
	refills := 0
	var elapsed time.Duration
	for elapsed < d {
		if s.supply != nil && s.supply.exhausted() {
			if err := s.refill(ctx); err != nil {
				return nil, 0, refills, err
			}
			s.supply.rewind()
			refills++
		}
		start := time.Now()
		deadline := start.Add(d - elapsed)
		var wg sync.WaitGroup
		for i, c := range clients {
			t := tallies[i]
			wg.Go(func() {
				for ctx.Err() == nil {
					t0 := time.Now()
					if !t0.Before(deadline) {
						return
					}
					var id [16]byte
					if s.supply != nil {
						var ok bool
						if id, ok = s.supply.take(); !ok {
							return
						}
					}
					status, err := c.do(ctx, id)
					t.add(time.Since(t0), status, err)
				}
			})
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return nil, 0, refills, err
		}
		elapsed += time.Since(start)
	}
	return tallies, elapsed, refills, nil
}
