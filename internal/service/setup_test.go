package service

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type testBundle struct {
	svc  *Service
	pool *pgxpool.Pool
	org  OrgID
	ctx  context.Context
}

// setup gives t its own database and organization; maxConns bounds the pool
// (0 keeps pgx's default).
func setup(t *testing.T, maxConns int32) *testBundle {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbtest.NewDatabase(t))
	require.NoError(t, err)
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	svc := New(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	org, _, err := svc.CreateOrganization(context.Background(), "Acme")
	require.NoError(t, err)
	return &testBundle{svc: svc, pool: pool, org: OrgID(org.ID), ctx: context.Background()}
}

func ptr[T any](v T) *T { return &v }

func (b *testBundle) prospect(t *testing.T, clientCount *int32) Prospect {
	t.Helper()
	p, err := b.svc.CreateProspect(b.ctx, b.org, NewProspect{Name: "Globex", ClientCount: clientCount})
	require.NoError(t, err)
	return p
}

// call creates a call in status for a new prospect with clientCount.
func (b *testBundle) call(t *testing.T, clientCount *int32, status CallStatus) Call {
	t.Helper()
	return b.callFor(t, b.prospect(t, clientCount), status)
}

func (b *testBundle) callFor(t *testing.T, p Prospect, status CallStatus) Call {
	t.Helper()
	initial := status
	if status != CallScheduled {
		initial = CallInProgress
	}
	c, err := b.svc.CreateCall(b.ctx, b.org, NewCall{ProspectID: p.ID, Status: initial})
	require.NoError(t, err)
	switch status {
	case CallCancelled:
		c, err = b.svc.CancelCall(b.ctx, b.org, c.ID)
	case CallCompleted:
		_, err = b.svc.CreateOutcome(b.ctx, b.org, c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
		c.Status = CallCompleted
	}
	require.NoError(t, err)
	return c
}

// count runs a COUNT(*) query.
func (b *testBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(b.ctx, sql, args...).Scan(&n))
	return n
}

func (b *testBundle) outcomeRows(t *testing.T, callID uuid.UUID) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM call_outcome WHERE call_session_id = $1`, callID)
}

// waitUntilBlocked waits until some backend of b's database waits for a lock.
func (b *testBundle) waitUntilBlocked(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		err := b.pool.QueryRow(b.ctx, `
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n > 0
	}, 10*time.Second, 5*time.Millisecond, "no transaction waited for a lock")
}
