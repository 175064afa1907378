package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/callsvc/callsvc/internal/db"
)

// advisoryOutcomes are the only outcome types allowed while a prospect is in
// advisory mode (client_count unknown or below 500).
var advisoryOutcomes = map[OutcomeType]bool{
	OutcomeFollowUpScheduled: true,
	OutcomeDisqualified:      true,
}

// CreateOutcome decides a call's outcome in tx, exactly once. It locks the call
// (GetCallForOutcomeForUpdate) and reads what the checks need in the statement
// after the lock (GetOutcome), so the read sees every writer that committed
// before the lock was granted; it runs the contract's checks in order — call
// exists, no outcome yet, call in progress, disqualification reason, advisory
// mode — then completes the call, writes the outcome.created event and inserts
// the outcome.
//
// In a transaction of its own (InTx) it costs two round trips, waiting for the
// lock or not: BEGIN, the lock, the transaction's time and the read in one
// batch; the update, the event, the insert and COMMIT in another. The event's
// data is rendered before the insert, from what the first batch read (the
// outcome's id is made here, its created_at is the transaction's time): it is
// the outcome as stored, which GET .../outcome renders the same way.
func (s *Service) CreateOutcome(ctx context.Context, tx *Tx, org OrgID, callID uuid.UUID, in NewOutcome) (Outcome, error) {
	flags, err := validateNewOutcome(in)
	if err != nil {
		return Outcome{}, err
	}
	call, decision, err := lockCallForOutcome(ctx, tx, org, callID, flags)
	if err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	if s.hooks.afterOutcomeLock != nil {
		if err := s.hooks.afterOutcomeLock(ctx, tx); err != nil {
			return Outcome{}, err
		}
	}
	if err := checkOutcome(call, in); err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	deferred, err := decodeObjections(call.DeferredObjections)
	if err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	outcome := Outcome{
		ID:                     uuid.New(),
		CallID:                 callID,
		OutcomeType:            in.OutcomeType,
		DisqualificationReason: in.DisqualificationReason,
		QualificationFlags:     decision.QualificationFlags,
		AdvisoryMode:           call.ProspectAdvisoryMode,
		DeferredObjections:     deferred,
		CreatedAt:              decision.DecidedAt,
	}
	if err := tx.Queue().CompleteCall(ctx, callID); err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: complete call: %w", callID, err)
	}
	if err := queueEvent(ctx, tx, org, EventOutcomeCreated, outcome.Resource()); err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	row, err := tx.Last().CreateOutcome(ctx, db.CreateOutcomeParams{
		ID:                     &outcome.ID,
		OrganizationID:         uuid.UUID(org),
		CallSessionID:          callID,
		OutcomeType:            db.OutcomeType(in.OutcomeType),
		DisqualificationReason: in.DisqualificationReason,
		QualificationFlags:     flags,
		AdvisoryMode:           outcome.AdvisoryMode,
		CreatedAt:              &outcome.CreatedAt,
	})
	if err = dbErr(err, nil); errors.Is(err, ErrOutcomeExists) {
		// The lock should make this impossible: log it, answer as the rule says.
		s.log.ErrorContext(ctx, "outcome unique constraint hit despite the row lock", "call", callID, "err", err)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	return outcomeFromRow(row, deferred), nil
}

// lockCallForOutcome takes the call's row lock and then reads the call's outcome
// state, in one round trip: the lock is queued, then the transaction's time and
// the flags as jsonb renders them (OutcomeDecision), and the read sends them all.
func lockCallForOutcome(ctx context.Context, tx *Tx, org OrgID, callID uuid.UUID, flags json.RawMessage) (db.GetOutcomeRow, db.OutcomeDecisionRow, error) {
	lock := db.GetCallForOutcomeForUpdateParams{OrganizationID: uuid.UUID(org), ID: callID}
	if err := tx.Queue().GetCallForOutcomeForUpdate(ctx, lock); err != nil {
		return db.GetOutcomeRow{}, db.OutcomeDecisionRow{}, fmt.Errorf("lock call: %w", err)
	}
	var decision db.OutcomeDecisionRow
	tx.queueRow(db.OutcomeDecision, []any{flags}, func(row pgx.Row) error {
		return row.Scan(&decision.DecidedAt, &decision.QualificationFlags)
	})
	call, err := tx.Queries().GetOutcome(ctx, db.GetOutcomeParams{OrganizationID: uuid.UUID(org), CallID: callID})
	if err != nil {
		return db.GetOutcomeRow{}, db.OutcomeDecisionRow{}, fmt.Errorf("lock call: %w", dbErr(err, ErrCallNotFound))
	}
	return call, decision, nil
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
	flags := bytes.TrimSpace(in.QualificationFlags)
	if len(flags) == 0 || bytes.Equal(flags, []byte("null")) {
		return json.RawMessage(`{}`), nil
	}
	if len(flags) > maxQualificationFlagBytes {
		return nil, invalid("qualificationFlags", "must be at most %d bytes", maxQualificationFlagBytes)
	}
	if flags[0] != '{' || !json.Valid(flags) {
		return nil, invalid("qualificationFlags", "must be a JSON object")
	}
	if bytes.Contains(flags, []byte(`\u0000`)) {
		return nil, invalid("qualificationFlags", "must not contain NUL characters")
	}
	return json.RawMessage(flags), nil
}

// checkOutcome applies the contract's checks 2-5 to the locked call, in order.
// Check 1 (the call exists in the organization) is the locking read finding it.
func checkOutcome(call db.GetOutcomeRow, in NewOutcome) error {
	switch {
	case call.OutcomeID != nil:
		return ErrOutcomeExists
	case call.CallStatus != db.CallStatusInProgress:
		return fmt.Errorf("status %s: %w", call.CallStatus, ErrCallNotInProgress)
	}
	reason := in.DisqualificationReason
	if in.OutcomeType == OutcomeDisqualified {
		if reason == nil || strings.TrimSpace(*reason) == "" {
			return ErrDisqualificationReasonRequired
		}
	} else if reason != nil {
		return fmt.Errorf("%s: %w", in.OutcomeType, ErrDisqualificationReasonNotAllowed)
	}
	if call.ProspectAdvisoryMode && !advisoryOutcomes[in.OutcomeType] {
		return fmt.Errorf("%s: %w", in.OutcomeType, ErrOutcomeNotAllowedInAdvisoryMode)
	}
	return nil
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
	row, err := s.q.GetOutcome(ctx, db.GetOutcomeParams{OrganizationID: uuid.UUID(org), CallID: callID})
	if err != nil {
		return Outcome{}, fmt.Errorf("get outcome of call %s: %w", callID, dbErr(err, ErrCallNotFound))
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
