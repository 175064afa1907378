package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/callsvc/callsvc/internal/db"
)

func callFromRow(c db.CallSession) Call {
	return Call{
		ID:         c.ID,
		ProspectID: c.ProspectID,
		Status:     CallStatus(c.Status),
		StartedAt:  c.StartedAt,
		EndedAt:    c.EndedAt,
		CreatedAt:  c.CreatedAt,
		UpdatedAt:  c.UpdatedAt,
	}
}

// CreateCall records a call for one of org's prospects, scheduled or already in
// progress, in tx. The composite foreign key refuses another organization's
// prospect like a missing one.
func (s *Service) CreateCall(ctx context.Context, tx *Tx, org OrgID, in NewCall) (_ Call, err error) {
	ctx, end := s.startSpan(ctx, "CreateCall")
	defer end(&err)
	if in.Status == "" {
		in.Status = CallScheduled
	}
	if in.Status != CallScheduled && in.Status != CallInProgress {
		return Call{}, invalid("status", "a new call is scheduled or in_progress")
	}
	row, err := tx.Last().CreateCall(ctx, db.CreateCallParams{
		OrganizationID: uuid.UUID(org),
		ProspectID:     in.ProspectID,
		Status:         db.CallStatus(in.Status),
	})
	if err != nil {
		return Call{}, fmt.Errorf("create call for prospect %s: %w", in.ProspectID, dbErr(err, nil))
	}
	return callFromRow(row), nil
}

// GetCall returns a call of org.
func (s *Service) GetCall(ctx context.Context, org OrgID, id uuid.UUID) (Call, error) {
	row, err := s.getCall(ctx, org, id)
	if err != nil {
		return Call{}, err
	}
	return callFromRow(row), nil
}

func (s *Service) getCall(ctx context.Context, org OrgID, id uuid.UUID) (db.CallSession, error) {
	row, err := s.q.GetCall(ctx, db.GetCallParams{OrganizationID: uuid.UUID(org), ID: id})
	if err != nil {
		return db.CallSession{}, fmt.Errorf("get call %s: %w", id, dbErr(err, ErrCallNotFound))
	}
	return row, nil
}

// ListCalls returns org's calls, newest first, optionally filtered.
func (s *Service) ListCalls(ctx context.Context, org OrgID, f CallFilter, p Page) (List[Call], error) {
	pg, limit, after, err := s.pageArgs(ctx, org, listCalls, p)
	if err != nil {
		return List[Call]{}, err
	}
	createdAt, id := cursorArgs(after)
	var status *db.CallStatus
	if f.Status != nil {
		st := db.CallStatus(*f.Status)
		if !st.Valid() {
			return List[Call]{}, invalid("status", "unknown call status %q", *f.Status)
		}
		status = &st
	}
	var rows []db.CallSession
	if f.ProspectID != nil {
		rows, err = s.q.ListCallsOfProspect(ctx, db.ListCallsOfProspectParams{
			OrganizationID:  uuid.UUID(org),
			ProspectID:      *f.ProspectID,
			Status:          status,
			CursorCreatedAt: createdAt,
			CursorID:        id,
			MaxRows:         limit,
		})
	} else {
		rows, err = s.q.ListCalls(ctx, db.ListCallsParams{
			OrganizationID:  uuid.UUID(org),
			Status:          status,
			CursorCreatedAt: createdAt,
			CursorID:        id,
			MaxRows:         limit,
		})
	}
	if err != nil {
		return List[Call]{}, fmt.Errorf("list calls: %w", dbErr(err, nil))
	}
	return paginate(pg, rows, limit, callFromRow, func(r db.CallSession) cursor { return cursor{r.CreatedAt, r.ID} }), nil
}

// StartCall moves a scheduled call to in_progress, in tx.
func (s *Service) StartCall(ctx context.Context, tx *Tx, org OrgID, id uuid.UUID) (_ Call, err error) {
	ctx, end := s.startSpan(ctx, "StartCall")
	defer end(&err)
	row, err := tx.Last().StartCall(ctx, db.StartCallParams{OrganizationID: uuid.UUID(org), ID: id})
	return s.transitioned(ctx, org, id, "start", row, err)
}

// CancelCall cancels a scheduled or in-progress call, in tx, and writes its
// call.cancelled event. It serializes with outcome creation on the call row: of
// the two, exactly one succeeds.
//
// Two round trips in a transaction of its own: BEGIN and the lock, which reads
// the call and the transaction's time; then the event and the update with
// COMMIT. The event's data is the cancelled call rendered from the locked row
// before the update, which sets what was rendered (status, ended_at and
// updated_at at the transaction's time).
func (s *Service) CancelCall(ctx context.Context, tx *Tx, org OrgID, id uuid.UUID) (_ Call, err error) {
	ctx, end := s.startSpan(ctx, "CancelCall")
	defer end(&err)
	locked, err := tx.Queries().LockCallForCancel(ctx, db.LockCallForCancelParams{OrganizationID: uuid.UUID(org), ID: id})
	if err != nil {
		return Call{}, fmt.Errorf("cancel call %s: %w", id, dbErr(err, ErrCallNotFound))
	}
	call := callFromRow(locked.CallSession)
	if call.Status != CallScheduled && call.Status != CallInProgress {
		return Call{}, fmt.Errorf("cancel call %s (status %s): %w", id, call.Status, ErrInvalidCallTransition)
	}
	call.Status = CallCancelled
	call.EndedAt = &locked.CancelledAt
	call.UpdatedAt = locked.CancelledAt
	if err := queueEvent(ctx, tx, org, EventCallCancelled, id, call.Resource()); err != nil {
		return Call{}, fmt.Errorf("cancel call %s: %w", id, err)
	}
	row, err := tx.Last().CancelCall(ctx, db.CancelCallParams{OrganizationID: uuid.UUID(org), ID: id})
	if err != nil {
		// No row cannot happen under the lock; whatever it is, it is an error.
		return Call{}, fmt.Errorf("cancel call %s: %w", id, dbErr(err, nil))
	}
	return callFromRow(row), nil
}

// transitioned reads the answer of a conditional UPDATE of the call row. The
// UPDATE locks the row and re-checks the status on its latest version, so one
// statement decides the transition (one round trip in a transaction of its
// own). When it matched no row, a read tells a missing call from a call in the
// wrong status; no race hides between the two, because a status that refused
// the transition never returns to one that allows it.
func (s *Service) transitioned(ctx context.Context, org OrgID, id uuid.UUID, verb string, row db.CallSession, err error) (Call, error) {
	switch err = dbErr(err, errNoRow); {
	case err == nil:
		return callFromRow(row), nil
	case !errors.Is(err, errNoRow):
		return Call{}, fmt.Errorf("%s call %s: %w", verb, id, err)
	}
	cur, err := s.getCall(ctx, org, id)
	if err != nil {
		return Call{}, fmt.Errorf("%s call: %w", verb, err)
	}
	return Call{}, fmt.Errorf("%s call %s (status %s): %w", verb, id, cur.Status, ErrInvalidCallTransition)
}
