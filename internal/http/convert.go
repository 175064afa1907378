package httpapi

import (
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/callsvc/callsvc/internal/service"
)

// The API's nullable fields are required: an unset nullable.Nullable would be
// marshalled as the zero value, so every one is set, to a value or to null.

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

func nullableInt(n *int32) nullable.Nullable[int] {
	if n == nil {
		return nullable.NewNullNullable[int]()
	}
	return nullable.NewNullableWithValue(int(*n))
}

func toProspect(p service.Prospect) Prospect {
	return Prospect{
		Id:           p.ID,
		Name:         p.Name,
		ClientCount:  nullableInt(p.ClientCount),
		AdvisoryMode: p.AdvisoryMode,
		CreatedAt:    p.CreatedAt.UTC(),
		UpdatedAt:    p.UpdatedAt.UTC(),
	}
}

func toCall(c service.Call) Call {
	return Call{
		Id:         c.ID,
		ProspectId: c.ProspectID,
		Status:     CallStatus(c.Status),
		StartedAt:  nullableTime(c.StartedAt),
		EndedAt:    nullableTime(c.EndedAt),
		CreatedAt:  c.CreatedAt.UTC(),
		UpdatedAt:  c.UpdatedAt.UTC(),
	}
}

func toObjection(o service.Objection) Objection {
	return Objection{
		Id:        o.ID,
		CallId:    o.CallID,
		Objection: o.Objection,
		Response:  nullableOf(o.Response),
		Outcome:   ObjectionOutcome(o.Outcome),
		CreatedAt: o.CreatedAt.UTC(),
	}
}

func toOutcome(o service.Outcome) Outcome {
	deferred := make([]Objection, 0, len(o.DeferredObjections))
	for _, d := range o.DeferredObjections {
		deferred = append(deferred, toObjection(d))
	}
	flags := o.QualificationFlags
	if len(flags) == 0 {
		flags = []byte("{}")
	}
	return Outcome{
		Id:                     o.ID,
		CallId:                 o.CallID,
		OutcomeType:            OutcomeType(o.OutcomeType),
		DisqualificationReason: nullableOf(o.DisqualificationReason),
		QualificationFlags:     flags,
		AdvisoryMode:           o.AdvisoryMode,
		DeferredObjections:     deferred,
		CreatedAt:              o.CreatedAt.UTC(),
	}
}

// mapItems converts a page's items; the result is never nil, so an empty page
// is `[]`, not `null`.
func mapItems[S, T any](items []S, f func(S) T) []T {
	out := make([]T, 0, len(items))
	for _, s := range items {
		out = append(out, f(s))
	}
	return out
}

func page(limit *int, cursor *string) service.Page {
	p := service.Page{}
	if limit != nil {
		p.Limit = *limit
	}
	if cursor != nil {
		p.Cursor = *cursor
	}
	return p
}
