package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/callsvc/callsvc/internal/db"
)

// advisoryOutcomes are the only outcome types allowed while a prospect is in
// advisory mode (client_count unknown or below 500).
var advisoryOutcomes = map[OutcomeType]bool{
	OutcomeFollowUpScheduled: true,
	OutcomeDisqualified:      true,
}

// batchSender is what outcome creation pipelines on: a pooled connection outside
// a transaction, or the caller's transaction (WithTx).
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// CreateOutcome decides a call's outcome, exactly once. In one transaction it
// takes the call's row lock and reads everything the checks need in one query
// (GetCallForOutcomeForUpdate), runs the contract's checks in order — call
// exists, no outcome yet, call in progress, disqualification reason, advisory
// mode — then inserts the outcome and completes the call.
//
// Outside a caller's transaction it costs two round trips: BEGIN and the locking
// read in one pipelined batch, then insert, update and COMMIT in another.
func (s *Service) CreateOutcome(ctx context.Context, org OrgID, callID uuid.UUID, in NewOutcome) (Outcome, error) {
	flags, err := validateNewOutcome(in)
	if err != nil {
		return Outcome{}, err
	}
	if tx, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return s.createOutcome(ctx, tx, false, org, callID, in, flags)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("create outcome: acquire connection: %w", err)
	}
	defer conn.Release()
	out, err := s.createOutcome(ctx, conn, true, org, callID, in, flags)
	if err != nil {
		// A failed pipeline can leave the transaction open or aborted: end it
		// before the connection goes back to the pool.
		endTx(ctx, conn.Conn())
	}
	return out, err
}

// validateNewOutcome checks what the request alone decides (not the business
// rules, whose order the contract fixes) and returns the flags to store.
func validateNewOutcome(in NewOutcome) (json.RawMessage, error) {
	if !db.OutcomeType(in.OutcomeType).Valid() {
		return nil, invalid("outcomeType", "unknown outcome type %q", in.OutcomeType)
	}
	if r := in.DisqualificationReason; r != nil && (len([]rune(*r)) > 2000 || strings.ContainsRune(*r, 0)) {
		return nil, invalid("disqualificationReason", "must be at most 2000 characters")
	}
	return normalizeFlags(in.QualificationFlags)
}

func (s *Service) createOutcome(ctx context.Context, conn batchSender, ownTx bool, org OrgID, callID uuid.UUID, in NewOutcome, flags json.RawMessage) (Outcome, error) {
	lockArgs := db.GetCallForOutcomeForUpdateParams{OrganizationID: uuid.UUID(org), ID: callID}
	var call db.GetCallForOutcomeForUpdateRow

	b := &pgx.Batch{}
	if ownTx {
		b.Queue("BEGIN")
	}
	db.QueueGetCallForOutcomeForUpdate(b, lockArgs, &call)
	err := conn.SendBatch(ctx, b).Close()
	if err == nil && !call.SnapshotCurrent {
		// We waited for the lock and a writer committed meanwhile: the subqueries
		// read an older snapshot. Read again; holding the lock, this cannot wait.
		b = &pgx.Batch{}
		db.QueueGetCallForOutcomeForUpdate(b, lockArgs, &call)
		err = conn.SendBatch(ctx, b).Close()
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, ErrCallNotFound)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: lock call: %w", callID, err)
	}
	if s.hooks.afterOutcomeLock != nil {
		if err := s.hooks.afterOutcomeLock(ctx, conn); err != nil {
			return Outcome{}, err
		}
	}

	if err := checkOutcome(call, in); err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}

	var row db.CallOutcome
	b = &pgx.Batch{}
	db.QueueCreateOutcome(b, db.CreateOutcomeParams{
		OrganizationID:         uuid.UUID(org),
		CallSessionID:          callID,
		OutcomeType:            db.OutcomeType(in.OutcomeType),
		DisqualificationReason: in.DisqualificationReason,
		QualificationFlags:     flags,
		AdvisoryMode:           call.AdvisoryMode,
	}, &row)
	db.QueueCompleteCall(b, callID)
	var commit pgconn.CommandTag
	if ownTx {
		b.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error { commit = ct; return nil })
	}
	err = conn.SendBatch(ctx, b).Close()
	if pgCode(err) == uniqueViolation {
		// The lock should make this impossible: log it, answer as the rule says.
		s.log.ErrorContext(ctx, "outcome unique constraint hit despite the row lock", "call", callID, "err", err)
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w: %w", callID, ErrOutcomeExists, err)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	// A failed statement makes PostgreSQL skip the rest of the batch, COMMIT
	// included, so only a COMMIT tag proves the outcome is stored.
	if ownTx && commit.String() != "COMMIT" {
		return Outcome{}, fmt.Errorf("create outcome for call %s: commit answered %q", callID, commit.String())
	}

	deferred, err := decodeObjections(call.DeferredObjections)
	if err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	return outcomeFromRow(row, deferred), nil
}

// checkOutcome applies the contract's checks 2-5 to the locked call, in order.
// Check 1 (the call exists in the organization) is the locking read finding it.
func checkOutcome(call db.GetCallForOutcomeForUpdateRow, in NewOutcome) error {
	switch {
	case call.HasOutcome:
		return ErrOutcomeExists
	case call.Status != db.CallStatusInProgress:
		return fmt.Errorf("status %s: %w", call.Status, ErrCallNotInProgress)
	}
	reason := in.DisqualificationReason
	if in.OutcomeType == OutcomeDisqualified {
		if reason == nil || strings.TrimSpace(*reason) == "" {
			return ErrDisqualificationReasonRequired
		}
	} else if reason != nil {
		return fmt.Errorf("%s: %w", in.OutcomeType, ErrDisqualificationReasonNotAllowed)
	}
	if call.AdvisoryMode && !advisoryOutcomes[in.OutcomeType] {
		return fmt.Errorf("%s: %w", in.OutcomeType, ErrOutcomeNotAllowedInAdvisoryMode)
	}
	return nil
}

// endTx rolls back whatever transaction a failed pipeline left on conn.
func endTx(ctx context.Context, conn *pgx.Conn) {
	if conn.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = conn.Exec(ctx, "ROLLBACK")
}

func decodeObjections(raw json.RawMessage) ([]Objection, error) {
	objs := []Objection{}
	if err := json.Unmarshal(raw, &objs); err != nil {
		return nil, fmt.Errorf("decode deferred objections: %w", err)
	}
	return objs, nil
}

func outcomeFromRow(o db.CallOutcome, deferred []Objection) Outcome {
	return Outcome{
		ID:                     o.ID,
		CallID:                 o.CallSessionID,
		OutcomeType:            OutcomeType(o.OutcomeType),
		DisqualificationReason: o.DisqualificationReason,
		QualificationFlags:     o.QualificationFlags,
		AdvisoryMode:           o.AdvisoryMode,
		DeferredObjections:     deferred,
		CreatedAt:              o.CreatedAt,
	}
}

// GetOutcome returns a call's outcome with its deferred objections.
func (s *Service) GetOutcome(ctx context.Context, org OrgID, callID uuid.UUID) (Outcome, error) {
	row, err := s.queries(ctx).GetCallOutcome(ctx, db.GetCallOutcomeParams{OrganizationID: uuid.UUID(org), CallID: callID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Outcome{}, fmt.Errorf("get outcome of call %s: %w", callID, ErrCallNotFound)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("get outcome of call %s: %w", callID, err)
	}
	if row.OutcomeID == nil {
		return Outcome{}, fmt.Errorf("get outcome of call %s: %w", callID, ErrOutcomeNotFound)
	}
	deferred, err := decodeObjections(row.DeferredObjections)
	if err != nil {
		return Outcome{}, fmt.Errorf("get outcome of call %s: %w", callID, err)
	}
	return Outcome{
		ID:                     *row.OutcomeID,
		CallID:                 row.CallID,
		OutcomeType:            OutcomeType(*row.OutcomeType),
		DisqualificationReason: row.DisqualificationReason,
		QualificationFlags:     row.QualificationFlags,
		AdvisoryMode:           *row.AdvisoryMode,
		DeferredObjections:     deferred,
		CreatedAt:              *row.CreatedAt,
	}, nil
}
