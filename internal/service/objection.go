package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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

// AddObjection records an objection on an in-progress call. It updates the call
// row first, which locks it: an objection never lands on a call that an outcome
// or a cancellation has just closed, and the outcome's locking read can tell
// when an objection committed while it waited.
func (s *Service) AddObjection(ctx context.Context, org OrgID, callID uuid.UUID, in NewObjection) (Objection, error) {
	if err := validateNewObjection(in); err != nil {
		return Objection{}, err
	}
	var out Objection
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		status, err := q.LockCallForObjection(ctx, db.LockCallForObjectionParams{OrganizationID: uuid.UUID(org), ID: callID})
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("add objection to call %s: %w", callID, ErrCallNotFound)
		}
		if err != nil {
			return fmt.Errorf("add objection to call %s: lock call: %w", callID, err)
		}
		if status != db.CallStatusInProgress {
			return fmt.Errorf("add objection to call %s (status %s): %w", callID, status, ErrCallNotInProgress)
		}
		row, err := q.CreateObjection(ctx, db.CreateObjectionParams{
			OrganizationID: uuid.UUID(org),
			CallSessionID:  callID,
			Objection:      in.Objection,
			Response:       in.Response,
			Outcome:        db.ObjectionOutcome(in.Outcome),
		})
		if err != nil {
			return fmt.Errorf("add objection to call %s: %w", callID, err)
		}
		out = objectionFromRow(row)
		return nil
	})
	return out, err
}

// ListObjections returns a call's objections, newest first.
func (s *Service) ListObjections(ctx context.Context, org OrgID, callID uuid.UUID, p Page) (List[Objection], error) {
	pg, limit, after, err := s.pageArgs(ctx, org, listObjections, p)
	if err != nil {
		return List[Objection]{}, err
	}
	q := s.queries(ctx)
	if _, err := s.getCall(ctx, q, org, callID); err != nil {
		return List[Objection]{}, fmt.Errorf("list objections: %w", err)
	}
	createdAt, id := cursorArgs(after)
	rows, err := q.ListObjections(ctx, db.ListObjectionsParams{
		OrganizationID:  uuid.UUID(org),
		CallSessionID:   callID,
		CursorCreatedAt: createdAt,
		CursorID:        id,
		MaxRows:         limit,
	})
	if err != nil {
		return List[Objection]{}, fmt.Errorf("list objections of call %s: %w", callID, err)
	}
	return paginate(pg, rows, limit, objectionFromRow, func(r db.ObjectionResponse) cursor { return cursor{r.CreatedAt, r.ID} }), nil
}
