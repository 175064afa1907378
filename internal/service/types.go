package service

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// OrgID identifies the calling organization. The HTTP layer takes it from the
// authenticated API key; every tenant-scoped operation requires one.
type OrgID uuid.UUID

// CallStatus is where a call is in its lifecycle.
type CallStatus string

// The call statuses.
const (
	CallScheduled  CallStatus = "scheduled"
	CallInProgress CallStatus = "in_progress"
	CallCompleted  CallStatus = "completed"
	CallCancelled  CallStatus = "cancelled"
)

// ObjectionOutcome is how an objection was handled.
type ObjectionOutcome string

// The objection outcomes.
const (
	ObjectionResolved   ObjectionOutcome = "Resolved"
	ObjectionDeferred   ObjectionOutcome = "Deferred"
	ObjectionUnresolved ObjectionOutcome = "Unresolved"
)

// OutcomeType is the decided result of a call.
type OutcomeType string

// The outcome types.
const (
	OutcomeMeetingBooked     OutcomeType = "Meeting_Booked"
	OutcomeFollowUpScheduled OutcomeType = "Follow_up_Scheduled"
	OutcomeNotInterested     OutcomeType = "Not_Interested"
	OutcomeDisqualified      OutcomeType = "Disqualified"
)

// maxQualificationFlagBytes bounds an outcome's qualificationFlags (as sent).
const maxQualificationFlagBytes = 16 * 1024

// Organization is a tenant.
type Organization struct {
	ID        uuid.UUID
	Name      string
	CreatedAt time.Time
}

// NewAPIKey is a freshly issued key; Secret is shown once and never stored.
type NewAPIKey struct {
	ID             uuid.UUID
	OrganizationID uuid.UUID
	Secret         string
}

// Prospect is a company being sold to.
type Prospect struct {
	ID           uuid.UUID
	Name         string
	ClientCount  *int32
	AdvisoryMode bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// NewProspect is the input of CreateProspect.
type NewProspect struct {
	Name        string
	ClientCount *int32
}

// ProspectPatch is the input of UpdateProspect, with JSON merge semantics: a nil
// Name keeps the name; ClientCount is replaced (possibly by nil) only when
// SetClientCount is true.
type ProspectPatch struct {
	Name           *string
	SetClientCount bool
	ClientCount    *int32
}

// Call is a sales call with a prospect.
type Call struct {
	ID         uuid.UUID
	ProspectID uuid.UUID
	Status     CallStatus
	StartedAt  *time.Time
	EndedAt    *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewCall is the input of CreateCall; Status is scheduled (the default when empty)
// or in_progress.
type NewCall struct {
	ProspectID uuid.UUID
	Status     CallStatus
}

// CallFilter narrows ListCalls; nil fields do not filter.
type CallFilter struct {
	Status     *CallStatus
	ProspectID *uuid.UUID
}

// Objection is an objection raised during a call and how it was answered.
type Objection struct {
	ID        uuid.UUID        `json:"id"`
	CallID    uuid.UUID        `json:"callId"`
	Objection string           `json:"objection"`
	Response  *string          `json:"response"`
	Outcome   ObjectionOutcome `json:"outcome"`
	CreatedAt time.Time        `json:"createdAt"`
}

// NewObjection is the input of CreateObjection.
type NewObjection struct {
	Objection string
	Response  *string
	Outcome   ObjectionOutcome
}

// Outcome is the decided result of a call.
type Outcome struct {
	ID                     uuid.UUID
	CallID                 uuid.UUID
	OutcomeType            OutcomeType
	DisqualificationReason *string
	QualificationFlags     json.RawMessage
	AdvisoryMode           bool
	DeferredObjections     []Objection
	CreatedAt              time.Time
}

// NewOutcome is the input of CreateOutcome. QualificationFlags is a JSON object
// (nil means {}).
type NewOutcome struct {
	OutcomeType            OutcomeType
	DisqualificationReason *string
	QualificationFlags     json.RawMessage
}

// Page asks for one page of a list: Limit rows (1-100, 0 means 20) after Cursor
// (empty for the first page).
type Page struct {
	Limit  int
	Cursor string
}

// List is one page of results, newest first; NextCursor is nil on the last page.
type List[T any] struct {
	Items      []T
	NextCursor *string
}
