package client

import (
	"context"
	"iter"

	"github.com/oapi-codegen/nullable"
	openapi_types "github.com/oapi-codegen/runtime/types"
)

// AllProspects yields every prospect, newest first, fetching the next page
// only when the loop gets there; params.Limit is the page size, params.Cursor
// where to start. A failed page ends the sequence with its error.
func (c *ClientWithResponses) AllProspects(ctx context.Context, params ListProspectsParams, reqEditors ...RequestEditorFn) iter.Seq2[Prospect, error] {
	return pages(params.Cursor, func(cursor *Cursor) ([]Prospect, nullable.Nullable[string], error) {
		p := params
		p.Cursor = cursor
		res, err := Check(c.ListProspectsWithResponse(ctx, &p, reqEditors...))
		if err != nil {
			return nil, nil, err
		}
		return res.JSON200.Items, res.JSON200.NextCursor, nil
	})
}

// AllCalls yields every call that params selects (status, prospect), newest
// first, one page at a time, like AllProspects.
func (c *ClientWithResponses) AllCalls(ctx context.Context, params ListCallsParams, reqEditors ...RequestEditorFn) iter.Seq2[Call, error] {
	return pages(params.Cursor, func(cursor *Cursor) ([]Call, nullable.Nullable[string], error) {
		p := params
		p.Cursor = cursor
		res, err := Check(c.ListCallsWithResponse(ctx, &p, reqEditors...))
		if err != nil {
			return nil, nil, err
		}
		return res.JSON200.Items, res.JSON200.NextCursor, nil
	})
}

// AllObjections yields every objection of a call, one page at a time, like
// AllProspects.
func (c *ClientWithResponses) AllObjections(ctx context.Context, callID openapi_types.UUID, params ListObjectionsParams, reqEditors ...RequestEditorFn) iter.Seq2[Objection, error] {
	return pages(params.Cursor, func(cursor *Cursor) ([]Objection, nullable.Nullable[string], error) {
		p := params
		p.Cursor = cursor
		res, err := Check(c.ListObjectionsWithResponse(ctx, callID, &p, reqEditors...))
		if err != nil {
			return nil, nil, err
		}
		return res.JSON200.Items, res.JSON200.NextCursor, nil
	})
}

// pages turns a page fetcher into a sequence of items. Each range over the
// sequence starts again at first.
func pages[T any](first *Cursor, fetch func(*Cursor) ([]T, nullable.Nullable[string], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		cursor := first
		for {
			items, next, err := fetch(cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range items {
				if !yield(item, nil) {
					return
				}
			}
			n, err := next.Get()
			if err != nil || n == "" { // null or absent: the last page
				return
			}
			cursor = &n
		}
	}
}
