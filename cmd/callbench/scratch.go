package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callsvc/callsvc/internal/migrate"
	"github.com/callsvc/callsvc/internal/service"
)

// scratch is the throw-away database a run works in: created and migrated at the
// start, dropped at the end whatever happens.
type scratch struct {
	name  string
	url   string
	admin *pgx.Conn     // connected to the server's maintenance database
	pool  *pgxpool.Pool // connected to the scratch database, for set-up and resets

	org       uuid.UUID
	apiKey    string
	prospects []uuid.UUID

	// calls are the ids of every loaded call in the order they were loaded,
	// which is their order in the table's heap and the order the load steps
	// decide them in: as the reference's pgbench draws its calls, so that after a
	// checkpoint both write about as many whole pages to the WAL per outcome
	// (a heap page holds some 60 calls).
	calls [][16]byte
}

// scratchPrefix starts every scratch database's name, so one left behind by a
// killed run is easy to find: SELECT datname FROM pg_database WHERE datname LIKE 'callbench_%'.
const scratchPrefix = "callbench_"

// newScratch creates and migrates a scratch database on the server adminURL
// points at. The caller must call drop, also on failure.
func newScratch(ctx context.Context, adminURL string) (*scratch, error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	var suffix [6]byte
	_, _ = crand.Read(suffix[:])
	s := &scratch{name: scratchPrefix + hex.EncodeToString(suffix[:]), admin: admin}
	if s.url, err = withDatabase(adminURL, s.name); err != nil {
		_ = admin.Close(ctx)
		return nil, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.name}.Sanitize()); err != nil {
		_ = admin.Close(ctx)
		return nil, fmt.Errorf("create scratch database: %w", err)
	}
	m, err := migrate.New(s.url, io.Discard)
	if err != nil {
		return s, err
	}
	if _, err := m.Up(ctx); err != nil {
		return s, err
	}
	cfg, err := pgxpool.ParseConfig(s.url)
	if err != nil {
		return s, err
	}
	cfg.MaxConns = 4
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return s, fmt.Errorf("connect to scratch database: %w", err)
	}
	return s, nil
}

// drop removes the scratch database, on a context of its own so that it also
// runs after Ctrl-C.
func (s *scratch) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.pool != nil {
		s.pool.Close()
	}
	_, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s.name}.Sanitize()+" WITH (FORCE)")
	_ = s.admin.Close(ctx)
	if err != nil {
		return fmt.Errorf("drop scratch database %s: %w", s.name, err)
	}
	return nil
}

// seed creates the organization and its API key through the service package (so
// the key is stored hashed, exactly as `callsvc org create` does) and a few
// prospects with clientCount >= 500, so Meeting_Booked is allowed on every call.
func (s *scratch) seed(ctx context.Context, prospects int) error {
	svc := service.New(s.pool, slog.New(slog.DiscardHandler))
	var org service.Organization
	var key service.NewAPIKey
	err := svc.InTx(ctx, func(tx *service.Tx) (err error) {
		org, key, err = svc.CreateOrganization(ctx, tx, "Bench")
		return err
	})
	if err != nil {
		return err
	}
	s.org, s.apiKey = org.ID, key.Secret
	for i := range prospects {
		n := int32(500 + 250*i)
		var p service.Prospect
		err := svc.InTx(ctx, func(tx *service.Tx) (err error) {
			p, err = svc.CreateProspect(ctx, tx, service.OrgID(org.ID), service.NewProspect{
				Name: fmt.Sprintf("Prospect %d", i+1), ClientCount: &n,
			})
			return err
		})
		if err != nil {
			return err
		}
		s.prospects = append(s.prospects, p.ID)
	}
	return nil
}

// loadTo adds in-progress calls with COPY until the scratch database holds total
// calls, and appends the new ids to s.calls. It loads as pg_restore does: in
// one transaction, the table's indexes and constraints are dropped, the rows
// copied with foreign-key triggers off (session_replication_role = replica:
// every row points at the organization and prospects seed made), and then
// everything is built again from the definitions the catalog held, which is
// several times faster than maintaining six indexes row by row.
func (s *scratch) loadTo(ctx context.Context, total int) (load loadResult, err error) {
	have := len(s.calls)
	if total <= have {
		return load, nil
	}
	n := total - have
	load = loadResult{Rows: total, Added: n}
	start := time.Now()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return load, err
	}
	defer conn.Release()
	// COPY encodes every column in binary, so pgx must know the enum type.
	statusType, err := conn.Conn().LoadType(ctx, "call_status")
	if err != nil {
		return load, fmt.Errorf("load calls: %w", err)
	}
	conn.Conn().TypeMap().RegisterType(statusType)

	// Random (version 4) ids like gen_random_uuid()'s, copied in ascending order
	// with created_at ascending too, which keeps the index builds' input nearly
	// sorted; no query reads ids and times together. One millisecond apart,
	// ending now: the first list page is the newest calls, as in production.
	ids := make([][16]byte, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	slices.SortFunc(ids, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	base := time.Now().Add(-time.Duration(n) * time.Millisecond)
	status := "in_progress"
	src := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		at := base.Add(time.Duration(i) * time.Millisecond)
		return []any{ids[i], s.org, s.prospects[i%len(s.prospects)], status, at, at, at}, nil
	})

	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, sql := range []string{
			"SET LOCAL session_replication_role = replica",
			"SET LOCAL maintenance_work_mem = '256MB'",
		} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		rebuild, err := dropIndexes(ctx, tx, "call_session")
		if err != nil {
			return err
		}
		copyStart := time.Now()
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"call_session"},
			[]string{"id", "organization_id", "prospect_id", "status", "started_at", "created_at", "updated_at"}, src); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		load.CopySeconds = round2(time.Since(copyStart).Seconds())
		defer func(start time.Time) { load.IndexSeconds = round2(time.Since(start).Seconds()) }(time.Now())
		for _, sql := range rebuild {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("%s: %w", sql, err)
			}
		}
		return nil
	})
	if err != nil {
		return load, fmt.Errorf("load calls: %w", err)
	}
	// Settle before measuring: statistics and visibility map up to date, and
	// the loaded pages written out now rather than by a checkpoint mid-step.
	for _, sql := range []string{"VACUUM ANALYZE call_session", "CHECKPOINT"} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return load, fmt.Errorf("load calls: %s: %w", sql, err)
		}
	}
	s.calls = append(s.calls, ids...)
	took := time.Since(start)
	load.Seconds = round2(took.Seconds())
	load.RowsPerSecond = int(float64(n) / took.Seconds())
	return load, nil
}

// dropIndexes drops table's indexes, its primary key and unique constraints and
// the foreign keys of other tables that lean on them, and returns the
// statements that build them all again, in an order that works.
func dropIndexes(ctx context.Context, tx pgx.Tx, table string) (rebuild []string, err error) {
	rows, err := tx.Query(ctx, `
		SELECT 1, format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),
			format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
		FROM pg_constraint
		WHERE confrelid = $1::regclass AND contype = 'f'
		UNION ALL
		SELECT 2, format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),
			format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
		FROM pg_constraint
		WHERE conrelid = $1::regclass AND contype IN ('p', 'u')
		UNION ALL
		SELECT 3, format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
		FROM pg_index i
		WHERE i.indrelid = $1::regclass
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = $1::regclass)
		ORDER BY 1, 2`, table)
	if err != nil {
		return nil, fmt.Errorf("read indexes of %s: %w", table, err)
	}
	type ddl struct {
		Order        int
		Drop, Create string
	}
	defs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ddl])
	if err != nil {
		return nil, fmt.Errorf("read indexes of %s: %w", table, err)
	}
	for _, d := range defs {
		if _, err := tx.Exec(ctx, d.Drop); err != nil {
			return nil, fmt.Errorf("%s: %w", d.Drop, err)
		}
	}
	// Build in the reverse order: plain indexes, then the table's keys, then the
	// foreign keys that need them.
	for i := len(defs) - 1; i >= 0; i-- {
		rebuild = append(rebuild, defs[i].Create)
	}
	return rebuild, nil
}

// reset undoes the load steps: every outcome deleted, every call back in
// progress, dead rows vacuumed. It ends with a CHECKPOINT so that every step
// starts alike: the first change of each page after a checkpoint writes the
// whole page to the WAL, and without one the first step would pay for pages the
// later steps find already written (their calls come in the same order).
func (s *scratch) reset(ctx context.Context) error {
	for _, sql := range []string{
		"TRUNCATE call_outcome",
		"UPDATE call_session SET status = 'in_progress', ended_at = NULL WHERE status <> 'in_progress'",
		"VACUUM call_session, call_outcome",
		"CHECKPOINT",
	} {
		if _, err := s.pool.Exec(ctx, sql); err != nil {
			return fmt.Errorf("reset: %s: %w", sql, err)
		}
	}
	return nil
}

// counters reads the server's WAL position and checkpoint count.
func (s *scratch) counters(ctx context.Context) (dbCounters, error) {
	var c dbCounters
	err := s.pool.QueryRow(ctx, `
		SELECT pg_current_wal_lsn() - '0/0', pg_current_wal_lsn()::text, checkpoints_timed + checkpoints_req
		FROM pg_stat_bgwriter`).Scan(&c.WALBytes, &c.WALLSN, &c.Checkpoints)
	if err != nil {
		return c, fmt.Errorf("read wal position: %w", err)
	}
	return c, nil
}

// freeConnections is how many more clients the server takes: max_connections
// less the connections open and the ones reserved for superusers.
func (s *scratch) freeConnections(ctx context.Context) (int, error) {
	var free int
	err := s.pool.QueryRow(ctx, `
		SELECT current_setting('max_connections')::int
			- current_setting('superuser_reserved_connections')::int
			- (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int`).Scan(&free)
	return free, err
}

// walRecord is one record type of a step's WAL, per successful request.
type walRecord struct {
	Type          string  `json:"type"` // resource manager/record type
	PerOp         float64 `json:"perOp"`
	BytesPerOp    int64   `json:"bytesPerOp"`    // records and full-page images
	FPIBytesPerOp int64   `json:"fpiBytesPerOp"` // of which full-page images
}

// walRecords breaks r's WAL down by record type with pg_walinspect (created in
// the scratch database; PostgreSQL 15 ships it), the biggest first. Without the
// extension it says nothing.
func (s *scratch) walRecords(ctx context.Context, r *stepResult) {
	if r.OK == 0 || r.walFrom == "" {
		return
	}
	if _, err := s.pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_walinspect"); err != nil {
		return
	}
	rows, err := s.pool.Query(ctx, `
		SELECT "resource_manager/record_type", count, combined_size, fpi_size
		FROM pg_get_wal_stats($1::pg_lsn, $2::pg_lsn, true)
		WHERE count > 0
		ORDER BY combined_size DESC
		LIMIT 12`, r.walFrom, r.walTo)
	if err != nil {
		return
	}
	defer rows.Close()
	n := float64(r.OK)
	for rows.Next() {
		var typ string
		var count, size, fpi int64
		if rows.Scan(&typ, &count, &size, &fpi) != nil {
			return
		}
		r.WALRecords = append(r.WALRecords, walRecord{Type: typ, PerOp: round2(float64(count) / n), BytesPerOp: size / int64(r.OK), FPIBytesPerOp: fpi / int64(r.OK)})
	}
}

// count returns how many rows a COUNT(*) query finds.
func (s *scratch) count(ctx context.Context, sql string, args ...any) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

// withDatabase returns the postgres:// URL dsn pointed at database name.
func withDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("database url must be postgres://..., got %q", redact(dsn))
	}
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
