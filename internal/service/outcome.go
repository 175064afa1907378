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
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/callsvc/callsvc/internal/db"
)

// advisoryOutcomes are the only outcome types allowed while a prospect is in
// advisory mode (client_count unknown or below 500).
var advisoryOutcomes = map[OutcomeType]bool{
	OutcomeFollowUpScheduled: true,
	OutcomeDisqualified:      true,
}

// CreateOutcome decides a call's outcome in tx, exactly once. It locks the call
// in progress (TryLockCallForOutcome), or waits for whoever holds it
// (WaitForCallWriters), and reads what the checks need in the statement after
// (GetOutcome), so the read sees every writer that committed before; it runs
// the contract's checks in order — call exists, no outcome yet, call in
// progress, disqualification reason, advisory mode — then completes the call,
// writes the outcome.created event and inserts the outcome. When the wait ends
// on a call still in progress (an objection held it, or an outcome that was
// refused), the lock is tried again in the same batch; only when several
// waiters share the call then is the transaction run again (errCallLockMissed),
// and that second run waits for the lock itself.
//
// In a transaction of its own (InTx) it costs two round trips, waiting or not:
// BEGIN, the lock, the wait, the second try, the transaction's time and the
// read in one batch; the update, the event, the insert and COMMIT in another.
// The event names the call; its delivery renders the outcome as GET
// .../outcome does (eventData).
//
// The time the locking statements took, the wait under contention, is measured
// by PostgreSQL (lockWait) and reported to the lock-wait observer and, when
// tracing, as a span of its own: once per run.
func (s *Service) CreateOutcome(ctx context.Context, tx *Tx, org OrgID, callID uuid.UUID, in NewOutcome) (_ Outcome, err error) {
	ctx, end := s.startSpan(ctx, "CreateOutcome")
	defer end(&err)
	flags, err := validateNewOutcome(in)
	if err != nil {
		return Outcome{}, err
	}
	sent := time.Now()
	call, err := lockCallForOutcome(ctx, tx, org, callID)
	if err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	s.observeLockWait(ctx, sent, call.lockWait)
	if s.hooks.afterOutcomeLock != nil {
		if err := s.hooks.afterOutcomeLock(ctx, tx); err != nil {
			return Outcome{}, err
		}
	}
	if err := checkOutcome(call, in, tx.retried); err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	deferred, err := decodeObjections(call.DeferredObjections)
	if err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	id := newID()
	if err := tx.Queue().CompleteCall(ctx, db.CompleteCallParams{OrganizationID: uuid.UUID(org), ID: callID}); err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: complete call: %w", callID, err)
	}
	if err := queueEvent(ctx, tx, org, EventOutcomeCreated, callID, nil); err != nil {
		return Outcome{}, fmt.Errorf("create outcome for call %s: %w", callID, err)
	}
	row, err := tx.Last().CreateOutcome(ctx, db.CreateOutcomeParams{
		ID:                     &id,
		OrganizationID:         uuid.UUID(org),
		CallSessionID:          callID,
		OutcomeType:            db.OutcomeType(in.OutcomeType),
		DisqualificationReason: in.DisqualificationReason,
		QualificationFlags:     flags,
		AdvisoryMode:           call.ProspectAdvisoryMode,
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

// lockedCall is what the checks read under the call's lock, and how long the
// lock took.
type lockedCall struct {
	db.GetOutcomeRow
	// locked is whether the call's row lock was taken: only a call in progress
	// is locked (GetCallForOutcomeForUpdate).
	locked bool
	// lockWait is the time from the locking statement's start to the read's,
	// by PostgreSQL's clock: the statement itself (microseconds) and, under
	// contention, its wait for the row lock.
	lockWait time.Duration
}

// errCallLockMissed: the outcome found its call in progress without taking the
// call's lock (its holder left it in progress and other waiters share it, or
// the call was started between the statements). The transaction is run again,
// and waits for the lock then.
var errCallLockMissed = errors.New("the call is in progress but its lock was not taken")

// lockCallForOutcome takes the call's row lock, or waits for its holder and
// tries again, and then reads the call's outcome state, in one round trip: the
// lock, the wait and the second try are queued, and the read sends them all. A
// transaction run again (tx.retried) waits for the lock itself, in the queue of
// those asking.
func lockCallForOutcome(ctx context.Context, tx *Tx, org OrgID, callID uuid.UUID) (lockedCall, error) {
	var lock db.TryLockCallForOutcomeRow
	lockSQL := db.TryLockCallForOutcome
	if tx.retried {
		lockSQL = db.GetCallForOutcomeForUpdate
	}
	tx.queueRow(lockSQL, []any{uuid.UUID(org), callID}, func(row pgx.Row) error {
		return row.Scan(&lock.LockRequestedAt, &lock.Locked)
	})
	if !tx.retried {
		// Wait for the holder, if any, then try again: a call the holder left in
		// progress is locked now, unless other waiters share it too.
		if err := tx.Queue().WaitForCallWriters(ctx, db.WaitForCallWritersParams{OrganizationID: uuid.UUID(org), ID: callID}); err != nil {
			return lockedCall{}, fmt.Errorf("wait for call writers: %w", err)
		}
		tx.queueRow(db.TryLockCallForOutcome, []any{uuid.UUID(org), callID}, func(row pgx.Row) error {
			var again db.TryLockCallForOutcomeRow
			err := row.Scan(&again.LockRequestedAt, &again.Locked)
			lock.Locked = lock.Locked || again.Locked
			return err
		})
	}
	call, err := tx.Queries().GetOutcome(ctx, db.GetOutcomeParams{OrganizationID: uuid.UUID(org), CallID: callID})
	if err != nil {
		return lockedCall{}, fmt.Errorf("lock call: %w", dbErr(err, ErrCallNotFound))
	}
	return lockedCall{GetOutcomeRow: call, locked: lock.Locked, lockWait: max(call.CheckedAt.Sub(lock.LockRequestedAt), 0)}, nil
}

// observeLockWait reports an outcome's lock wait to the observer and, when
// tracing, as the span "call lock wait": it starts when the locking batch was
// sent (by this process's clock) and lasts what PostgreSQL measured, so a
// trace shows the wait inside the batch's round trip.
func (s *Service) observeLockWait(ctx context.Context, sent time.Time, wait time.Duration) {
	if s.lockWait != nil {
		s.lockWait(ctx, wait)
	}
	if s.tracer == nil {
		return
	}
	_, span := s.tracer.Start(ctx, "call lock wait", trace.WithTimestamp(sent),
		trace.WithAttributes(attribute.Float64("callsvc.lock_wait_seconds", wait.Seconds())))
	span.End(trace.WithTimestamp(sent.Add(wait)))
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

// checkOutcome applies the contract's checks 2-5 to the locked call, in order.
// Check 1 (the call exists in the organization) is the read finding it. A call
// in progress whose lock was not taken is run again (errCallLockMissed), unless
// this is that run (retried): then the call was not in progress when the lock
// was asked for, and was started between the statements.
func checkOutcome(call lockedCall, in NewOutcome, retried bool) error {
	switch {
	case call.OutcomeID != nil:
		return ErrOutcomeExists
	case call.CallStatus != db.CallStatusInProgress:
		return fmt.Errorf("status %s: %w", call.CallStatus, ErrCallNotInProgress)
	case !call.locked && !retried:
		return errCallLockMissed
	case !call.locked:
		return fmt.Errorf("started after the lock was asked for: %w", ErrCallNotInProgress)
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
	return outcomeOfCall(row)
}

// outcomeOfCall is the outcome GetOutcome read, or ErrOutcomeNotFound.
func outcomeOfCall(row db.GetOutcomeRow) (Outcome, error) {
	callID := row.CallID
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
