package db

// Handwritten, not generated: sqlc cannot put different queries in one pgx.Batch,
// and outcome creation pipelines its statements to save round trips. These
// functions queue the generated SQL and scan exactly as the generated methods do;
// pipeline_test.go holds them to the same results.

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// QueueGetCallForOutcomeForUpdate queues the locking read; dst is filled when the
// batch results are read, and the queued callback returns pgx.ErrNoRows when the
// call does not exist in the organization.
func QueueGetCallForOutcomeForUpdate(b *pgx.Batch, arg GetCallForOutcomeForUpdateParams, dst *GetCallForOutcomeForUpdateRow) {
	b.Queue(getCallForOutcomeForUpdate, arg.OrganizationID, arg.ID).QueryRow(func(row pgx.Row) error {
		return row.Scan(
			&dst.ID,
			&dst.OrganizationID,
			&dst.ProspectID,
			&dst.Status,
			&dst.StartedAt,
			&dst.EndedAt,
			&dst.CreatedAt,
			&dst.UpdatedAt,
			&dst.ClientCount,
			&dst.AdvisoryMode,
			&dst.HasOutcome,
			&dst.DeferredObjections,
			&dst.SnapshotCurrent,
		)
	})
}

// QueueCreateOutcome queues the outcome insert; dst is filled when the batch
// results are read.
func QueueCreateOutcome(b *pgx.Batch, arg CreateOutcomeParams, dst *CallOutcome) {
	b.Queue(createOutcome,
		arg.OrganizationID,
		arg.CallSessionID,
		arg.OutcomeType,
		arg.DisqualificationReason,
		arg.QualificationFlags,
		arg.AdvisoryMode,
	).QueryRow(func(row pgx.Row) error {
		return row.Scan(
			&dst.ID,
			&dst.OrganizationID,
			&dst.CallSessionID,
			&dst.OutcomeType,
			&dst.DisqualificationReason,
			&dst.QualificationFlags,
			&dst.AdvisoryMode,
			&dst.CreatedAt,
		)
	})
}

// QueueCompleteCall queues the call's move to completed.
func QueueCompleteCall(b *pgx.Batch, id uuid.UUID) {
	b.Queue(completeCall, id)
}
