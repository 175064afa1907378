package db

// Handwritten, not generated: sqlc cannot put different queries in one pgx.Batch,
// and the service pipelines statements to save round trips (outcome creation,
// idempotency keys). These
// functions queue the generated SQL and scan exactly as the generated methods do;
// pipeline_test.go holds them to the same results.

import (
	"errors"

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

// QueueTryLockIdempotencyKey queues the key's advisory lock; *locked is set when
// the batch results are read.
func QueueTryLockIdempotencyKey(b *pgx.Batch, arg TryLockIdempotencyKeyParams, locked *bool) {
	b.Queue(tryLockIdempotencyKey, arg.OrganizationID, arg.Method, arg.Path, arg.Key).QueryRow(func(row pgx.Row) error {
		return row.Scan(locked)
	})
}

// QueueGetIdempotencyKey queues the read of a stored answer; *dst is set to it,
// or left nil when the key has none.
func QueueGetIdempotencyKey(b *pgx.Batch, arg GetIdempotencyKeyParams, dst **GetIdempotencyKeyRow) {
	b.Queue(getIdempotencyKey, arg.OrganizationID, arg.Method, arg.Path, arg.Key).QueryRow(func(row pgx.Row) error {
		var r GetIdempotencyKeyRow
		err := row.Scan(&r.RequestHash, &r.ResponseStatus, &r.ResponseLocation, &r.ResponseBody)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err == nil {
			*dst = &r
		}
		return err
	})
}
