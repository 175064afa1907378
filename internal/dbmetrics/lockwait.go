package dbmetrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callsvc/callsvc/internal/telemetry"
)

// LockWait is the histogram of how long outcomes waited for their call's
// writers, as callsvc_outcome_lock_wait_seconds. The service measures each wait
// with PostgreSQL's clock (service.WithLockWaitObserver); the buckets reach
// from an uncontended lock (well under a millisecond) to a queue of writers on
// one call.
type LockWait struct{ hist prometheus.Histogram }

// NewLockWait returns an empty LockWait; register it with the other collectors.
func NewLockWait() *LockWait {
	return &LockWait{hist: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "callsvc_outcome_lock_wait_seconds",
		Help:    "Time each outcome's locking statements (TryLockCallForOutcome, WaitForCallWriters) took, by PostgreSQL's clock: under contention, the wait for the call's writers. One observation per outcome, per run when one is run again (it shared a call left in progress with other waiters).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})}
}

// Observe records one wait, with the request's trace as exemplar when sampled.
func (l *LockWait) Observe(ctx context.Context, d time.Duration) {
	telemetry.Observe(ctx, l.hist, d.Seconds())
}

func (l *LockWait) Describe(ch chan<- *prometheus.Desc) { l.hist.Describe(ch) }
func (l *LockWait) Collect(ch chan<- prometheus.Metric) { l.hist.Collect(ch) }
