package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
// progress. The composite foreign key refuses another organization's prospect like
// a missing one.
func (s *Service) CreateCall(ctx context.Context, org OrgID, in NewCall) (Call, error) {
	if in.Status == "" {
		in.Status = CallScheduled
	}
	if in.Status != CallScheduled && in.Status != CallInProgress {
		return Call{}, invalid("status", "a new call is scheduled or in_progress")
	}
	row, err := s.queries(ctx).CreateCall(ctx, db.CreateCallParams{
		OrganizationID: uuid.UUID(org),
		ProspectID:     in.ProspectID,
		Status:         db.CallStatus(in.Status),
	})
	if pgCode(err) == foreignKeyViolation {
		return Call{}, fmt.Errorf("create call for prospect %s: %w", in.ProspectID, ErrProspectNotFound)
	}
	if err != nil {
		return Call{}, fmt.Errorf("create call: %w", err)
	}
	return callFromRow(row), nil
}

// GetCall returns a call of org.
func (s *Service) GetCall(ctx context.Context, org OrgID, id uuid.UUID) (Call, error) {
	row, err := s.getCall(ctx, s.queries(ctx), org, id)
	if err != nil {
		return Call{}, err
	}
	return callFromRow(row), nil
}

func (s *Service) getCall(ctx context.Context, q *db.Queries, org OrgID, id uuid.UUID) (db.CallSession, error) {
	row, err := q.GetCall(ctx, db.GetCallParams{OrganizationID: uuid.UUID(org), ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return db.CallSession{}, fmt.Errorf("get call %s: %w", id, ErrCallNotFound)
	}
	if err != nil {
		return db.CallSession{}, fmt.Errorf("get call %s: %w", id, err)
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
	rows, err := s.queries(ctx).ListCalls(ctx, db.ListCallsParams{
		OrganizationID:  uuid.UUID(org),
		Status:          status,
		ProspectID:      f.ProspectID,
		CursorCreatedAt: createdAt,
		CursorID:        id,
		MaxRows:         limit,
	})
	if err != nil {
		return List[Call]{}, fmt.Errorf("list calls: %w", err)
	}
	return paginate(pg, rows, limit, callFromRow, func(r db.CallSession) cursor { return cursor{r.CreatedAt, r.ID} }), nil
}

// StartCall moves a scheduled call to in_progress.
func (s *Service) StartCall(ctx context.Context, org OrgID, id uuid.UUID) (Call, error) {
	return s.transition(ctx, org, id, "start", func(q *db.Queries) (db.CallSession, error) {
		return q.StartCall(ctx, db.StartCallParams{OrganizationID: uuid.UUID(org), ID: id})
	})
}

// CancelCall cancels a scheduled or in-progress call. It serializes with outcome
// creation on the call row: of the two, exactly one succeeds.
func (s *Service) CancelCall(ctx context.Context, org OrgID, id uuid.UUID) (Call, error) {
	return s.transition(ctx, org, id, "cancel", func(q *db.Queries) (db.CallSession, error) {
		return q.CancelCall(ctx, db.CancelCallParams{OrganizationID: uuid.UUID(org), ID: id})
	})
}

// transition runs a conditional UPDATE of the call row. The UPDATE locks the row
// and re-checks the status on the latest version, so the transition is decided
// by one statement (one round trip). When it matches no row, a second read
// tells a missing call from a call in the wrong status.
//
// No race hides between the two: a status that refused the transition never
// returns to one that allows it.
func (s *Service) transition(ctx context.Context, org OrgID, id uuid.UUID, verb string,
	update func(q *db.Queries) (db.CallSession, error),
) (Call, error) {
	row, err := update(s.queries(ctx))
	if err == nil {
		return callFromRow(row), nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Call{}, fmt.Errorf("%s call %s: %w", verb, id, err)
	}
	cur, err := s.getCall(ctx, s.queries(ctx), org, id)
	if err != nil {
		return Call{}, fmt.Errorf("%s call: %w", verb, err)
	}
	return Call{}, fmt.Errorf("%s call %s (status %s): %w", verb, id, cur.Status, ErrInvalidCallTransition)
}
