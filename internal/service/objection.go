package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/callsvc/callsvc/internal/db"
)

func objectionFromRow(o db.ObjectionResponse) Objection {
	return Objection{
		ID:        o.ID,
		CallID:    o.CallSessionID,
		Objection: o.Objection,
		Response:  o.Response,
		Outcome:   ObjectionOutcome(o.Outcome),
		CreatedAt: o.CreatedAt,
	}
}

func validateNewObjection(in NewObjection) error {
	if n := len([]rune(in.Objection)); n < 1 || n > 2000 || strings.ContainsRune(in.Objection, 0) {
		return invalid("objection", "must be 1-2000 characters")
	}
	if in.Response != nil && (len([]rune(*in.Response)) > 4000 || strings.ContainsRune(*in.Response, 0)) {
		return invalid("response", "must be at most 4000 characters")
	}
	if !db.ObjectionOutcome(in.Outcome).Valid() {
		return invalid("outcome", "unknown objection outcome %q", in.Outcome)
	}
	return nil
}

// CreateObjection records an objection on an in-progress call, in tx. It locks
// the call first (FOR NO KEY UPDATE, which conflicts with an outcome's FOR UPDATE
// and with a status change): an objection never lands on a call that an outcome
// or a cancellation has just closed, and an outcome being decided waits for it
// and then reads it. Two round trips in a transaction of its own: BEGIN with the
// lock, then the insert with COMMIT.
func (s *Service) CreateObjection(ctx context.Context, tx *Tx, org OrgID, callID uuid.UUID, in NewObjection) (_ Objection, err error) {
	ctx, end := s.startSpan(ctx, "CreateObjection")
	defer end(&err)
	if err := validateNewObjection(in); err != nil {
		return Objection{}, err
	}
	status, err := tx.Queries().LockCallForObjection(ctx, db.LockCallForObjectionParams{OrganizationID: uuid.UUID(org), ID: callID})
	if err != nil {
		return Objection{}, fmt.Errorf("create objection on call %s: lock call: %w", callID, dbErr(err, ErrCallNotFound))
	}
	if status != db.CallStatusInProgress {
		return Objection{}, fmt.Errorf("create objection on call %s (status %s): %w", callID, status, ErrCallNotInProgress)
	}
	row, err := tx.Last().CreateObjection(ctx, db.CreateObjectionParams{
		OrganizationID: uuid.UUID(org),
		CallSessionID:  callID,
		Objection:      in.Objection,
		Response:       in.Response,
		Outcome:        db.ObjectionOutcome(in.Outcome),
	})
	if err != nil {
		return Objection{}, fmt.Errorf("create objection on call %s: %w", callID, dbErr(err, nil))
	}
	return objectionFromRow(row), nil
}

// ListObjections returns a call's objections, newest first.
func (s *Service) ListObjections(ctx context.Context, org OrgID, callID uuid.UUID, p Page) (List[Objection], error) {
	pg, limit, after, err := s.pageArgs(ctx, org, listObjections, p)
	if err != nil {
		return List[Objection]{}, err
	}
	if _, err := s.getCall(ctx, org, callID); err != nil {
		return List[Objection]{}, fmt.Errorf("list objections: %w", err)
	}
	createdAt, id := cursorArgs(after)
	rows, err := s.q.ListObjections(ctx, db.ListObjectionsParams{
		OrganizationID:  uuid.UUID(org),
		CallSessionID:   callID,
		CursorCreatedAt: createdAt,
		CursorID:        id,
		MaxRows:         limit,
	})
	if err != nil {
		return List[Objection]{}, fmt.Errorf("list objections of call %s: %w", callID, dbErr(err, nil))
	}
	return paginate(pg, rows, limit, objectionFromRow, func(r db.ObjectionResponse) cursor { return cursor{r.CreatedAt, r.ID} }), nil
}
