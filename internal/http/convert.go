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

// toCall, toObjection and toOutcome render what webhook events carry too: the
// mapping is the service's (Resource), so both render alike.

func toCall(c service.Call) Call { return c.Resource() }

func toObjection(o service.Objection) Objection { return o.Resource() }

func toOutcome(o service.Outcome) Outcome { return o.Resource() }

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
