package httpapi

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, on a registry of its own so two
// servers in one process (tests) never collide.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	outcomes *prometheus.CounterVec
}

func newMetrics(pool *pgxpool.Pool) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "Count of HTTP requests, by method, route template and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time from request to answer, by method, route template and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "code"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callsvc_outcomes_total",
			Help: `Outcome requests that reached the service: result is "created" or the problem code that refused it.`,
		}, []string{"result"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.outcomes,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pool != nil {
		m.registry.MustRegister(newPoolCollector(pool))
	}
	return m
}

// poolCollector exports pgxpool's statistics at scrape time.
type poolCollector struct {
	pool  *pgxpool.Pool
	descs map[string]*prometheus.Desc
}

func newPoolCollector(pool *pgxpool.Pool) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("callsvc_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{pool: pool, descs: map[string]*prometheus.Desc{
		"acquired": d("acquired_conns", "Connections in use by requests."),
		"idle":     d("idle_conns", "Idle connections."),
		"total":    d("total_conns", "Open connections."),
		"max":      d("max_conns", "Largest pool size allowed."),
		"acquires": d("acquires_total", "Connections acquired from the pool."),
		"empty":    d("empty_acquires_total", "Acquires that had to wait for or open a connection."),
		"canceled": d("canceled_acquires_total", "Acquires given up because their context ended."),
		"wait":     d("acquire_wait_seconds_total", "Time spent waiting for connections."),
		"newconns": d("new_conns_total", "Connections opened."),
	}}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(key string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[key], prometheus.GaugeValue, v)
	}
	counter := func(key string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[key], prometheus.CounterValue, v)
	}
	gauge("acquired", float64(s.AcquiredConns()))
	gauge("idle", float64(s.IdleConns()))
	gauge("total", float64(s.TotalConns()))
	gauge("max", float64(s.MaxConns()))
	counter("acquires", float64(s.AcquireCount()))
	counter("empty", float64(s.EmptyAcquireCount()))
	counter("canceled", float64(s.CanceledAcquireCount()))
	counter("wait", s.AcquireDuration().Seconds())
	counter("newconns", float64(s.NewConnsCount()))
}
