package service

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/db"
)

// TestInTxPinsReadCommitted: whatever the database's default, the runner's
// transactions are READ COMMITTED.
func TestInTxPinsReadCommitted(t *testing.T) {
	t.Parallel()
	b := setupIsolation(t, 2, "repeatable read")
	var level string
	err := b.svc.InTx(b.ctx, func(tx *Tx) error {
		tx.queueRow("SHOW transaction_isolation", nil, func(row pgx.Row) error { return row.Scan(&level) })
		return tx.send(b.ctx, false)
	})
	require.NoError(t, err)
	require.Equal(t, "read committed", level)
}

// TestInTxEndsEveryTransaction: whichever way fn ends, only a committed fn
// leaves rows behind, and the pool's one connection serves the next test.
func TestInTxEndsEveryTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t, 1) // one connection: a transaction left open would show at once
	prospects := func() int { return b.count(t, `SELECT count(*) FROM prospect`) }
	failure := errors.New("fn failed")

	t.Run("FnFailsAfterAWrite", func(t *testing.T) {
		err := b.svc.InTx(b.ctx, func(tx *Tx) error {
			_, err := tx.Queries().CreateProspect(b.ctx, prospectParams(b, "rolled back"))
			require.NoError(t, err)
			return failure
		})
		require.ErrorIs(t, err, failure)
		require.Zero(t, prospects())
	})

	t.Run("StatementFailsInTheLastBatch", func(t *testing.T) {
		p := prospectParams(b, "x")
		p.ClientCount = ptr[int32](-1) // the CHECK refuses it; COMMIT is skipped
		err := b.svc.InTx(b.ctx, func(tx *Tx) error {
			_, err := tx.Last().CreateProspect(b.ctx, p)
			return err
		})
		require.ErrorIs(t, err, ErrInvalidData)
		require.Zero(t, prospects())
	})

	t.Run("ContextCancelledMidTransaction", func(t *testing.T) {
		ctx, cancel := context.WithCancel(b.ctx)
		err := b.svc.InTx(ctx, func(tx *Tx) error {
			if _, err := tx.Queries().CreateProspect(ctx, prospectParams(b, "cancelled")); err != nil {
				return err
			}
			cancel()
			_, err := tx.Queries().CreateProspect(ctx, prospectParams(b, "cancelled too"))
			return err
		})
		require.ErrorIs(t, err, ErrUnavailable)
		require.Zero(t, prospects())
	})

	t.Run("QueuedStatementsGoWithCommit", func(t *testing.T) {
		err := b.svc.InTx(b.ctx, func(tx *Tx) error {
			if _, err := tx.Last().CreateProspect(b.ctx, prospectParams(b, "committed")); err != nil {
				return err
			}
			_, err := tx.Queries().CreateProspect(b.ctx, prospectParams(b, "too late"))
			require.ErrorIs(t, err, errTxDone, "Last ends the transaction")
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, 1, prospects())
	})
}

func prospectParams(b *testBundle, name string) db.CreateProspectParams {
	return db.CreateProspectParams{OrganizationID: uuid.UUID(b.org), Name: name}
}

// TestConstraintErrorsExist holds constraintErrors to the migrated schema: a
// renamed constraint would otherwise turn its domain error into a 500.
func TestConstraintErrorsExist(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	for name := range constraintErrors {
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM pg_constraint WHERE conname = $1`, name), name)
	}
}

// TestExecQueryMode runs the writes in pgx's exec mode, which a transaction
// pooler without prepared statements needs (CALLSVC_QUERY_EXEC_MODE=exec): pgx
// then types each parameter by its Go type, so a []byte meant as JSON would go
// as bytea. The outcome and the cancel write their events, fanned out to an
// endpoint.
func TestExecQueryMode(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	cfg, err := pgxpool.ParseConfig(b.url)
	require.NoError(t, err)
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pool, err := pgxpool.NewWithConfig(b.ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	eb := &testBundle{svc: New(pool, slog.New(slog.DiscardHandler), testWebhooks(t)), pool: pool, org: b.org, ctx: b.ctx}
	_, err = eb.createEndpoint(NewWebhookEndpoint{URL: "https://hooks.example/exec"})
	require.NoError(t, err)
	c := eb.call(t, ptr[int32](900), CallInProgress)
	_, err = eb.createObjection(c.ID, NewObjection{Objection: "price", Outcome: ObjectionDeferred})
	require.NoError(t, err)
	_, err = eb.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked, QualificationFlags: []byte(`{"budget": true}`)})
	require.NoError(t, err)
	_, err = eb.cancelCall(eb.call(t, nil, CallScheduled).ID)
	require.NoError(t, err)
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM webhook_delivery`))
}
