package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/callsvc/callsvc/internal/db"
)

func prospectFromRow(p db.Prospect) Prospect {
	return Prospect{
		ID:           p.ID,
		Name:         p.Name,
		ClientCount:  p.ClientCount,
		AdvisoryMode: p.AdvisoryMode,
		CreatedAt:    p.CreatedAt,
		UpdatedAt:    p.UpdatedAt,
	}
}

// validateName checks a display name, of a prospect or an organization.
func validateName(name string) error {
	if n := len([]rune(name)); n < 1 || n > 200 {
		return invalid("name", "must be 1-200 characters")
	}
	if strings.TrimSpace(name) == "" || strings.ContainsRune(name, 0) {
		return invalid("name", "must not be blank or contain NUL")
	}
	return nil
}

func validateClientCount(n *int32) error {
	if n != nil && *n < 0 {
		return invalid("clientCount", "must be 0 or more")
	}
	return nil
}

// CreateProspect records a prospect, in tx.
func (s *Service) CreateProspect(ctx context.Context, tx *Tx, org OrgID, in NewProspect) (_ Prospect, err error) {
	ctx, end := s.startSpan(ctx, "CreateProspect")
	defer end(&err)
	if err := errors.Join(validateName(in.Name), validateClientCount(in.ClientCount)); err != nil {
		return Prospect{}, firstInvalid(err)
	}
	row, err := tx.Last().CreateProspect(ctx, db.CreateProspectParams{
		OrganizationID: uuid.UUID(org),
		Name:           in.Name,
		ClientCount:    in.ClientCount,
	})
	if err != nil {
		return Prospect{}, fmt.Errorf("create prospect: %w", dbErr(err, nil))
	}
	return prospectFromRow(row), nil
}

// GetProspect returns a prospect of org.
func (s *Service) GetProspect(ctx context.Context, org OrgID, id uuid.UUID) (Prospect, error) {
	row, err := s.q.GetProspect(ctx, db.GetProspectParams{OrganizationID: uuid.UUID(org), ID: id})
	if err != nil {
		return Prospect{}, fmt.Errorf("get prospect %s: %w", id, dbErr(err, ErrProspectNotFound))
	}
	return prospectFromRow(row), nil
}

// ListProspects returns org's prospects, newest first.
func (s *Service) ListProspects(ctx context.Context, org OrgID, p Page) (List[Prospect], error) {
	pg, limit, after, err := s.pageArgs(ctx, org, listProspects, p)
	if err != nil {
		return List[Prospect]{}, err
	}
	createdAt, id := cursorArgs(after)
	rows, err := s.q.ListProspects(ctx, db.ListProspectsParams{
		OrganizationID:  uuid.UUID(org),
		CursorCreatedAt: createdAt,
		CursorID:        id,
		MaxRows:         limit,
	})
	if err != nil {
		return List[Prospect]{}, fmt.Errorf("list prospects: %w", dbErr(err, nil))
	}
	return paginate(pg, rows, limit, prospectFromRow, func(r db.Prospect) cursor { return cursor{r.CreatedAt, r.ID} }), nil
}

// UpdateProspect applies a merge patch to a prospect in one statement, in tx. It
// locks only the prospect row: an outcome being decided for one of its calls
// reads client_count without locking it, so a change is ordered before that read
// (and used) or after it, as the contract allows.
func (s *Service) UpdateProspect(ctx context.Context, tx *Tx, org OrgID, id uuid.UUID, in ProspectPatch) (_ Prospect, err error) {
	ctx, end := s.startSpan(ctx, "UpdateProspect")
	defer end(&err)
	var errs []error
	if in.Name != nil {
		errs = append(errs, validateName(*in.Name))
	}
	if in.SetClientCount {
		errs = append(errs, validateClientCount(in.ClientCount))
	}
	if err := errors.Join(errs...); err != nil {
		return Prospect{}, firstInvalid(err)
	}
	row, err := tx.Last().UpdateProspect(ctx, db.UpdateProspectParams{
		OrganizationID: uuid.UUID(org),
		ID:             id,
		Name:           in.Name,
		SetClientCount: in.SetClientCount,
		ClientCount:    in.ClientCount,
	})
	if err != nil {
		return Prospect{}, fmt.Errorf("update prospect %s: %w", id, dbErr(err, ErrProspectNotFound))
	}
	return prospectFromRow(row), nil
}

// firstInvalid returns the first *InvalidInputError joined in err.
func firstInvalid(err error) error {
	var inv *InvalidInputError
	if errors.As(err, &inv) {
		return inv
	}
	return err
}
