package db

// Handwritten, not generated: sqlc cannot put different queries in one pgx.Batch,
// and the service pipelines statements to save round trips (outcome creation,
// idempotency keys). These functions queue the generated SQL and return what the
// generated methods return; pipeline_test.go holds them to the same results.
//
// Outcome creation is the hot path, so its uuids go to pgx as [16]byte, which
// pgx encodes and decodes in binary directly. A uuid.UUID is a driver.Valuer and
// an sql.Scanner, which pgx honours by formatting every id as a string and
// parsing it back: about a tenth of the server's CPU at 32 clients (bench/README.md).

import (
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// QueueGetCallForOutcomeForUpdate queues the locking read; dst is filled when the
// batch results are read, and the queued callback returns pgx.ErrNoRows when the
// call does not exist in the organization.
func QueueGetCallForOutcomeForUpdate(b *pgx.Batch, arg GetCallForOutcomeForUpdateParams, dst *GetCallForOutcomeForUpdateRow) {
	b.Queue(getCallForOutcomeForUpdate, [16]byte(arg.OrganizationID), [16]byte(arg.ID)).QueryRow(func(row pgx.Row) error {
		return row.Scan(
			(*[16]byte)(&dst.ID),
			(*[16]byte)(&dst.OrganizationID),
			(*[16]byte)(&dst.ProspectID),
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
		[16]byte(arg.OrganizationID),
		[16]byte(arg.CallSessionID),
		arg.OutcomeType,
		arg.DisqualificationReason,
		arg.QualificationFlags,
		arg.AdvisoryMode,
	).QueryRow(func(row pgx.Row) error {
		return row.Scan(
			(*[16]byte)(&dst.ID),
			(*[16]byte)(&dst.OrganizationID),
			(*[16]byte)(&dst.CallSessionID),
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
	b.Queue(completeCall, [16]byte(id))
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
