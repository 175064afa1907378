package service

import (
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/callsvc/callsvc/internal/apimodel"
)

// The resources as the API shows them (internal/apimodel, generated from the
// spec). One mapping serves the HTTP answers and the webhook events, so an
// event's data is what GET answers, byte for byte.
//
// The API's nullable fields are required: an unset nullable.Nullable would be
// marshalled as the zero value, so every one is set, to a value or to null.

// Resource is the call as GET /v1/calls/{callId} answers it.
func (c Call) Resource() apimodel.Call {
	return apimodel.Call{
		Id:         c.ID,
		ProspectId: c.ProspectID,
		Status:     apimodel.CallStatus(c.Status),
		StartedAt:  nullableTime(c.StartedAt),
		EndedAt:    nullableTime(c.EndedAt),
		CreatedAt:  c.CreatedAt.UTC(),
		UpdatedAt:  c.UpdatedAt.UTC(),
	}
}

// Resource is the objection as the API shows it.
func (o Objection) Resource() apimodel.Objection {
	return apimodel.Objection{
		Id:        o.ID,
		CallId:    o.CallID,
		Objection: o.Objection,
		Response:  nullableOf(o.Response),
		Outcome:   apimodel.ObjectionOutcome(o.Outcome),
		CreatedAt: o.CreatedAt.UTC(),
	}
}

// Resource is the outcome as GET /v1/calls/{callId}/outcome answers it.
func (o Outcome) Resource() apimodel.Outcome {
	deferred := make([]apimodel.Objection, 0, len(o.DeferredObjections))
	for _, d := range o.DeferredObjections {
		deferred = append(deferred, d.Resource())
	}
	flags := o.QualificationFlags
	if len(flags) == 0 {
		flags = []byte("{}")
	}
	return apimodel.Outcome{
		Id:                     o.ID,
		CallId:                 o.CallID,
		OutcomeType:            apimodel.OutcomeType(o.OutcomeType),
		DisqualificationReason: nullableOf(o.DisqualificationReason),
		QualificationFlags:     flags,
		AdvisoryMode:           o.AdvisoryMode,
		DeferredObjections:     deferred,
		CreatedAt:              o.CreatedAt.UTC(),
	}
}

func nullableOf[T any](v *T) nullable.Nullable[T] {
	if v == nil {
		return nullable.NewNullNullable[T]()
	}
	return nullable.NewNullableWithValue(*v)
}

func nullableTime(t *time.Time) nullable.Nullable[time.Time] {
	if t == nil {
		return nullable.NewNullNullable[time.Time]()
	}
	return nullable.NewNullableWithValue(t.UTC())
}
