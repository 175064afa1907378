package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// serviceRoundTrips is what CreateOutcome costs on the uncontended path, as
// internal/service/doc.go states and TestCreateOutcomeRoundTrips asserts.
const serviceRoundTrips = 2

// The targets (issues 6 and 13).
const (
	minServiceOverReference = 0.75 // outcomes/s at C = targetClients, same run
	maxWALOverReference     = 1.2  // WAL bytes per outcome, same table size
	maxP99Ms                = 50.0 // service p99 at C = targetClients
	maxLoserP99Ms           = 25.0 // contention: how long a loser waits for its 409
	targetClients           = 32
	maxScaleCost            = 1.3 // large-table cost over small-table cost
	maxServerRSSMiB         = 100.0
)

type results struct {
	StartedAt    time.Time         `json:"startedAt"`
	Machine      machine           `json:"machine"`
	Config       config            `json:"config"`
	Loads        []loadResult      `json:"loads"`
	Throughput   []throughputRow   `json:"throughput,omitempty"`
	Ratios       []ratioRow        `json:"ratios,omitempty"`
	ServerMemory *memoryResult     `json:"serverMemory,omitempty"`
	Contention   *contentionResult `json:"contention,omitempty"`
	Scale        []scaleRow        `json:"scale,omitempty"`
	Checks       []checkRow        `json:"checks"`
}

type loadResult struct {
	Rows          int     `json:"rows"` // in the table after the load
	Added         int     `json:"added"`
	Seconds       float64 `json:"seconds"`      // all of it: copy, indexes, vacuum, checkpoint
	CopySeconds   float64 `json:"copySeconds"`  // the COPY alone
	IndexSeconds  float64 `json:"indexSeconds"` // building indexes and keys again
	RowsPerSecond int     `json:"rowsPerSecond"`
}

type throughputRow struct {
	Clients    int    `json:"clients"`
	Form       string `json:"form"`
	RoundTrips int    `json:"roundTrips"` // to PostgreSQL, per outcome
	stepResult
}

// ratioRow compares the service with the yardstick and the SQL forms at one
// client count.
type ratioRow struct {
	Clients        int      `json:"clients"`
	OverReference  *float64 `json:"serviceOverPgbenchRef,omitempty"`
	OverSQL6       *float64 `json:"serviceOverSql6,omitempty"`
	OverPipelined  *float64 `json:"serviceOverSql2,omitempty"`
	OverSingleStmt *float64 `json:"serviceOverSql1,omitempty"`
}

type memoryResult struct {
	Clients int `json:"clients"`
	memory
}

type scaleRow struct {
	Rows    int        `json:"rows"`
	Clients int        `json:"clients"`
	Outcome stepResult `json:"outcome"`
	List    stepResult `json:"list"`
}

type checkRow struct {
	Target string `json:"target"`
	Value  string `json:"value"`
	Pass   bool   `json:"pass"`
}

func (r *results) find(clients int, form string) *throughputRow {
	for i := range r.Throughput {
		if t := &r.Throughput[i]; t.Clients == clients && t.Form == form {
			return t
		}
	}
	return nil
}

// evaluate works out the ratios and checks the targets that the run measured.
func (r *results) evaluate() {
	r.Ratios, r.Checks = nil, nil
	for _, c := range r.Config.Clients {
		svc := r.find(c, formService)
		if svc == nil {
			continue
		}
		ratio := func(form string) *float64 {
			if o := r.find(c, form); o != nil && o.PerSecond > 0 {
				v := round2(svc.PerSecond / o.PerSecond)
				return &v
			}
			return nil
		}
		r.Ratios = append(r.Ratios, ratioRow{Clients: c, OverReference: ratio(formReference), OverSQL6: ratio(sqlEach), OverPipelined: ratio(sqlPipelined), OverSingleStmt: ratio(sqlOne)})
	}
	check := func(target string, pass bool, format string, a ...any) {
		r.Checks = append(r.Checks, checkRow{Target: target, Value: fmt.Sprintf(format, a...), Pass: pass})
	}
	if svc := r.find(targetClients, formService); svc != nil {
		if ref := r.find(targetClients, formReference); ref != nil && ref.PerSecond > 0 {
			q := svc.PerSecond / ref.PerSecond
			check(fmt.Sprintf("C=%d service ≥ %.2f × %s", targetClients, minServiceOverReference, formReference), q >= minServiceOverReference,
				"%.2f (%.0f/s vs %.0f/s)", q, svc.PerSecond, ref.PerSecond)
			if ref.WALPerOp > 0 {
				w := float64(svc.WALPerOp) / float64(ref.WALPerOp)
				check(fmt.Sprintf("C=%d service WAL per outcome ≤ %.1f × %s", targetClients, maxWALOverReference, formReference), w <= maxWALOverReference,
					"%.2f (%d vs %d B)", w, svc.WALPerOp, ref.WALPerOp)
			}
		}
		check(fmt.Sprintf("C=%d service p99 < %.0f ms", targetClients, maxP99Ms), svc.Latency.P99 < maxP99Ms && svc.OK > 0,
			"%.2f ms", svc.Latency.P99)
		check(fmt.Sprintf("C=%d service: every answer 201", targetClients), svc.OK == svc.Ops && svc.Errors == 0,
			"%d of %d, %d errors", svc.OK, svc.Ops, svc.Errors)
	}
	if m := r.ServerMemory; m != nil {
		check(fmt.Sprintf("server RSS during C=%d < %.0f MiB", m.Clients, maxServerRSSMiB), m.PeakRSSMiB < maxServerRSSMiB && m.Samples > 0,
			"max VmRSS %.1f MiB, VmHWM %.1f MiB", m.SampledMaxRSSMiB, m.PeakRSSMiB)
	}
	if c := r.Contention; c != nil {
		check(fmt.Sprintf("contention C=%d: one 201, every loser 409, no 5xx", c.Clients),
			c.ExactRounds == c.Rounds && c.ServerErrors == 0 && c.TransportErrors == 0 && c.OutcomesStored == c.Rounds,
			"%d/%d rounds exact, %d×5xx, %d outcomes stored", c.ExactRounds, c.Rounds, c.ServerErrors, c.OutcomesStored)
		check(fmt.Sprintf("contention C=%d: losers' p99 < %.0f ms", c.Clients, maxLoserP99Ms), c.Losers.P99 < maxLoserP99Ms && c.Conflicts > 0,
			"%.2f ms", c.Losers.P99)
	}
	if len(r.Scale) == 2 {
		small, large := r.Scale[0], r.Scale[1]
		cost := func(what string, s, l stepResult) {
			if s.PerSecond == 0 || l.PerSecond == 0 {
				check(fmt.Sprintf("scale %s: %d rows within %.1f× of %d", what, large.Rows, maxScaleCost, small.Rows), false, "no successful requests")
				return
			}
			q := s.PerSecond / l.PerSecond
			check(fmt.Sprintf("scale %s: %d rows within %.1f× of %d", what, large.Rows, maxScaleCost, small.Rows), q <= maxScaleCost,
				"%.2f× (%.0f/s vs %.0f/s; p50 %.2f vs %.2f ms)", q, l.PerSecond, s.PerSecond, l.Latency.P50, s.Latency.P50)
		}
		cost("outcome", small.Outcome, large.Outcome)
		cost("list", small.List, large.List)
	}
}

func (r *results) passed() bool {
	for _, c := range r.Checks {
		if !c.Pass {
			return false
		}
	}
	return true
}

func (r *results) writeJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// markdown prints the report: machine, throughput with ratios, contention, scale
// and the targets.
func (r *results) markdown(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "## callbench %s\n\n", r.StartedAt.Format(time.RFC3339))
	fmt.Fprintf(&b, "Machine: %d CPUs (%s), %d MiB memory, Linux %s, %s, PostgreSQL %s (shared_buffers %s, max_connections %s, synchronous_commit %s).\n",
		m.CPUs, m.CPUModel, m.MemoryMiB, m.Kernel, m.GoVersion, m.PostgreSQL,
		m.PGSettings["shared_buffers"], m.PGSettings["max_connections"], m.PGSettings["synchronous_commit"])
	pool := "its default"
	if r.Config.PoolMaxConns > 0 {
		pool = fmt.Sprint(r.Config.PoolMaxConns)
	}
	env := ""
	if len(r.Config.ServerEnv) > 0 {
		env = ", server environment " + strings.Join(r.Config.ServerEnv, " ")
	}
	fmt.Fprintf(&b, "Steps: %s measured after %s warm-up; distinct calls from %d in progress; server pool %s%s. An outcome costs the service %d round trips to PostgreSQL.\n\n",
		r.Config.DurationText, r.Config.WarmupText, r.Config.Calls, pool, env, serviceRoundTrips)

	if len(r.Loads) > 0 {
		b.WriteString("| COPY load | rows added | seconds | of which COPY | indexes | rows/s |\n|---|--:|--:|--:|--:|--:|\n")
		for _, l := range r.Loads {
			fmt.Fprintf(&b, "| to %d rows | %d | %.2f | %.2f | %.2f | %d |\n", l.Rows, l.Added, l.Seconds, l.CopySeconds, l.IndexSeconds, l.RowsPerSecond)
		}
		b.WriteString("\n")
	}

	if len(r.Throughput) > 0 {
		b.WriteString("### Throughput: POST /v1/calls/{id}/outcome vs pgbench on the reference, and the service's own SQL\n\n")
		b.WriteString("| C | form | round trips | outcomes/s | p50 ms | p95 ms | p99 ms | max ms | not 201 | errors | WAL B/op |\n")
		b.WriteString("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, t := range r.Throughput {
			fmt.Fprintf(&b, "| %d | %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %d | %d | %d |\n",
				t.Clients, t.Form, t.RoundTrips, t.PerSecond, t.Latency.P50, t.Latency.P95, t.Latency.P99, t.Latency.Max, t.Ops-t.OK, t.Errors, t.WALPerOp)
		}
		b.WriteString("\n| C | service / pgbench-ref (the yardstick) | service / sql-6 | service / sql-2 | service / sql-1 |\n|--:|--:|--:|--:|--:|\n")
		for _, q := range r.Ratios {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", q.Clients, fmtRatio(q.OverReference), fmtRatio(q.OverSQL6), fmtRatio(q.OverPipelined), fmtRatio(q.OverSingleStmt))
		}
		b.WriteString("\n")
	}
	if mem := r.ServerMemory; mem != nil {
		fmt.Fprintf(&b, "Server memory during the C=%d service step: max VmRSS %.1f MiB (%d samples), VmHWM %.1f MiB.\n\n",
			mem.Clients, mem.SampledMaxRSSMiB, mem.Samples, mem.PeakRSSMiB)
	}
	if c := r.Contention; c != nil {
		fmt.Fprintf(&b, "### Contention: %d clients race for one call, %d rounds\n\n", c.Clients, c.Rounds)
		b.WriteString("| rounds exact | 201 | 409 | 5xx | other | transport errors | winner p50 ms | loser wait p50 ms | p95 ms | p99 ms | max ms | outcomes stored |\n")
		b.WriteString("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		other := 0
		for _, n := range c.OtherStatuses {
			other += n
		}
		fmt.Fprintf(&b, "| %d/%d | %d | %d | %d | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %d |\n\n",
			c.ExactRounds, c.Rounds, c.Created, c.Conflicts, c.ServerErrors, other-c.ServerErrors, c.TransportErrors,
			c.Winner.P50, c.Losers.P50, c.Losers.P95, c.Losers.P99, c.Losers.Max, c.OutcomesStored)
	}
	if len(r.Scale) > 0 {
		b.WriteString("### Scale: the same work on a bigger table\n\n")
		b.WriteString("| calls in table | C | outcomes/s | p50 ms | p99 ms | WAL B/op | GET /v1/calls?limit=20 /s | p50 ms | p99 ms |\n")
		b.WriteString("|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, s := range r.Scale {
			fmt.Fprintf(&b, "| %d | %d | %.0f | %.2f | %.2f | %d | %.0f | %.2f | %.2f |\n", s.Rows, s.Clients,
				s.Outcome.PerSecond, s.Outcome.Latency.P50, s.Outcome.Latency.P99, s.Outcome.WALPerOp,
				s.List.PerSecond, s.List.Latency.P50, s.List.Latency.P99)
		}
		b.WriteString("\n")
	}
	if len(r.Checks) > 0 {
		b.WriteString("### Targets\n\n| target | measured | |\n|---|---|---|\n")
		for _, c := range r.Checks {
			mark := "pass"
			if !c.Pass {
				mark = "**MISS**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Target, c.Value, mark)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtRatio(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", *v)
}
