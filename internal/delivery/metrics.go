package delivery

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callsvc/callsvc/internal/service"
	"github.com/callsvc/callsvc/internal/webhook"
)

// Metrics are the webhook deliveries' Prometheus metrics: what this server's
// attempts did, and (read from the database at each scrape, the same on every
// server) how many deliveries wait and for how long the oldest has.
type Metrics struct {
	attempts   *prometheus.CounterVec
	duration   prometheus.Histogram
	deliveries *prometheus.CounterVec
	queue      *queueCollector
}

// NewMetrics returns the metrics; svc reads the queue's depth and age.
func NewMetrics(svc *service.Service, log *slog.Logger) *Metrics {
	return &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callsvc_webhook_attempts_total",
			Help: `Delivery attempts this server made, by result: "succeeded" (a 2xx answer) or "failed".`,
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "callsvc_webhook_attempt_duration_seconds",
			Help:    "Time from the start of a delivery attempt to the endpoint's answer (or the failure).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callsvc_webhook_deliveries_total",
			Help: `Deliveries this server finished, by result: "succeeded", or "failed" (retries exhausted after 24 h, or the endpoint deleted).`,
		}, []string{"result"}),
		queue: &queueCollector{
			svc: svc,
			log: log,
			pending: prometheus.NewDesc("callsvc_webhook_deliveries_pending",
				"Deliveries waiting for a successful attempt (all servers: read from the database).", nil, nil),
			oldest: prometheus.NewDesc("callsvc_webhook_oldest_pending_seconds",
				"Age of the oldest pending delivery's event, 0 when none waits (all servers: read from the database).", nil, nil),
		},
	}
}

// Collectors lists the metrics, for the HTTP layer's /metrics.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.attempts, m.duration, m.deliveries, m.queue}
}

func (m *Metrics) attempted(r webhook.Result, took time.Duration) {
	result := "succeeded"
	if !r.OK() {
		result = "failed"
	}
	m.attempts.WithLabelValues(result).Inc()
	m.duration.Observe(took.Seconds())
}

func (m *Metrics) finished(status service.DeliveryStatus) {
	m.deliveries.WithLabelValues(string(status)).Inc()
}

// scrapeTimeout bounds the query behind the queue's gauges.
const scrapeTimeout = 2 * time.Second

// queueCollector reads the delivery queue's depth and age at each scrape.
type queueCollector struct {
	svc             *service.Service
	log             *slog.Logger
	pending, oldest *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.oldest
}

// Collect reports nothing when the database does not answer: a missing series
// is better than a wrong zero.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	n, age, err := c.svc.PendingDeliveries(ctx)
	if err != nil {
		c.log.Warn("webhook queue metrics unavailable", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age.Seconds())
}
