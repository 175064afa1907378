// Package dbmetrics exports what the database side of callsvc measures as
// Prometheus metrics — the pgx connection pool's statistics, and the time
// outcomes wait for their call's row lock — so the HTTP layer can serve them
// without knowing the driver.
package dbmetrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector exports pgxpool's statistics at scrape time.
type poolCollector struct {
	pool  *pgxpool.Pool
	descs map[string]*prometheus.Desc
}

// NewPoolCollector returns a collector of pool's statistics, read at each
// scrape, as callsvc_db_pool_* metrics.
func NewPoolCollector(pool *pgxpool.Pool) prometheus.Collector {
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
