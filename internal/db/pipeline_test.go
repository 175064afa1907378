package db_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/db"
)

// TestPipelineMatchesGenerated holds the handwritten Queue functions to the
// generated methods: the same rows, field for field, ids included (the queued
// ones pass and scan uuids as [16]byte).
func TestPipelineMatchesGenerated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	p := b.prospect(t, b.org.ID, ptr[int32](900))
	c := b.call(t, p, db.CallStatusInProgress)
	_, err := b.q.CreateObjection(ctx, db.CreateObjectionParams{
		OrganizationID: b.org.ID, CallSessionID: c.ID, Objection: "Price", Outcome: db.ObjectionOutcomeDeferred,
	})
	require.NoError(t, err)
	lockArgs := db.GetCallForOutcomeForUpdateParams{OrganizationID: b.org.ID, ID: c.ID}

	want, err := b.q.GetCallForOutcomeForUpdate(ctx, lockArgs)
	require.NoError(t, err)
	var got db.GetCallForOutcomeForUpdateRow
	batch := &pgx.Batch{}
	batch.Queue("BEGIN")
	db.QueueGetCallForOutcomeForUpdate(batch, lockArgs, &got)
	conn, err := b.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	require.NoError(t, conn.SendBatch(ctx, batch).Close())
	require.Equal(t, want, got)
	require.Equal(t, c.ID, got.ID)
	require.Equal(t, p.ID, got.ProspectID)
	require.Equal(t, b.org.ID, got.OrganizationID)

	var outcome db.CallOutcome
	batch = &pgx.Batch{}
	reason := "x"
	db.QueueCreateOutcome(batch, db.CreateOutcomeParams{
		OrganizationID:         b.org.ID,
		CallSessionID:          c.ID,
		OutcomeType:            db.OutcomeTypeDisqualified,
		DisqualificationReason: &reason,
		QualificationFlags:     []byte(`{"budget": true}`),
		AdvisoryMode:           got.AdvisoryMode,
	}, &outcome)
	db.QueueCompleteCall(batch, c.ID)
	batch.Queue("COMMIT")
	require.NoError(t, conn.SendBatch(ctx, batch).Close())

	stored, err := b.q.GetCallOutcome(ctx, db.GetCallOutcomeParams{OrganizationID: b.org.ID, CallID: c.ID})
	require.NoError(t, err)
	require.NotEqual(t, uuid.Nil, outcome.ID)
	require.Equal(t, &outcome.ID, stored.OutcomeID)
	require.Equal(t, b.org.ID, outcome.OrganizationID)
	require.Equal(t, c.ID, outcome.CallSessionID)
	require.Equal(t, db.OutcomeTypeDisqualified, outcome.OutcomeType)
	require.Equal(t, &reason, outcome.DisqualificationReason)
	require.JSONEq(t, `{"budget": true}`, string(outcome.QualificationFlags))
	require.Equal(t, stored.CreatedAt.UTC(), outcome.CreatedAt.UTC())

	call, err := b.q.GetCall(ctx, db.GetCallParams{OrganizationID: b.org.ID, ID: c.ID})
	require.NoError(t, err)
	require.Equal(t, db.CallStatusCompleted, call.Status)
	require.NotNil(t, call.EndedAt)

	// Another organization's call is not found through the queued read either.
	batch = &pgx.Batch{}
	db.QueueGetCallForOutcomeForUpdate(batch, db.GetCallForOutcomeForUpdateParams{OrganizationID: uuid.New(), ID: c.ID}, &got)
	require.ErrorIs(t, conn.SendBatch(ctx, batch).Close(), pgx.ErrNoRows)
}
