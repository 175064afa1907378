package service

import (
	"encoding/base64"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestCursors: a cursor works only for the list and organization it was issued
// for, on any Service of the same database; anything else is invalid input,
// decided without SQL.
func TestCursors(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	for range 3 {
		b.prospect(t, nil)
	}
	first, err := b.svc.ListProspects(b.ctx, b.org, Page{Limit: 1})
	require.NoError(t, err)
	require.NotNil(t, first.NextCursor)
	cur := *first.NextCursor

	t.Run("AnotherServerOfTheDatabase", func(t *testing.T) {
		// A second Service on the same database reads the same key: the replica case.
		other := New(b.pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
		l, err := other.ListProspects(b.ctx, b.org, Page{Limit: 1, Cursor: cur})
		require.NoError(t, err)
		require.Len(t, l.Items, 1)
		require.NotEqual(t, first.Items[0].ID, l.Items[0].ID)
	})
	t.Run("AnotherKey", func(t *testing.T) {
		other := New(b.pool, slog.New(slog.NewTextHandler(io.Discard, nil)), WithCursorKey([]byte("another key, of at least 32 bytes!")))
		_, err := other.ListProspects(b.ctx, b.org, Page{Limit: 1, Cursor: cur})
		requireInvalid(t, err, "cursor")
	})
	t.Run("AnotherOrganization", func(t *testing.T) {
		org, _, err := b.createOrganization("Globex")
		require.NoError(t, err)
		_, err = b.svc.ListProspects(b.ctx, OrgID(org.ID), Page{Cursor: cur})
		requireInvalid(t, err, "cursor")
	})
	t.Run("AnotherList", func(t *testing.T) {
		_, err := b.svc.ListCalls(b.ctx, b.org, CallFilter{}, Page{Cursor: cur})
		requireInvalid(t, err, "cursor")
	})
	t.Run("Altered", func(t *testing.T) {
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		require.NoError(t, err)
		for i := range raw {
			forged := append([]byte(nil), raw...)
			forged[i] ^= 1
			_, err := b.svc.ListProspects(b.ctx, b.org, Page{Cursor: base64.RawURLEncoding.EncodeToString(forged)})
			requireInvalid(t, err, "cursor")
		}
	})
	t.Run("SignedButOutOfRange", func(t *testing.T) {
		key, err := b.svc.cursorKey(b.ctx)
		require.NoError(t, err)
		pg := pager{key: key, org: b.org, list: listProspects}
		for _, at := range []time.Time{time.Date(-4713, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.UnixMicro(-1 << 63)} {
			_, err := b.svc.ListProspects(b.ctx, b.org, Page{Cursor: pg.encode(cursor{at, uuid.New()})})
			requireInvalid(t, err, "cursor")
		}
		c, err := pg.decode(pg.encode(cursor{time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), uuid.Nil}))
		require.NoError(t, err, "the last microsecond of 9999 is in range")
		require.Equal(t, 9999, c.createdAt.Year())
	})
	t.Run("NotBase64", func(t *testing.T) {
		for _, c := range []string{"%%", cur[:len(cur)-1] + "=", cur + "A", cur[:len(cur)-1] + "\xff"} {
			_, err := b.svc.ListProspects(b.ctx, b.org, Page{Cursor: c})
			requireInvalid(t, err, "cursor")
		}
	})
}

// FuzzCursorDecode: whatever the string, decode either refuses it as invalid
// input or returns a position in range whose encoding is the string itself; and
// any position encode issues decodes back to itself, or is refused as out of
// range, never passed on.
func FuzzCursorDecode(f *testing.F) {
	pg := pager{key: []byte("fuzz key, fuzz key, fuzz key, 32"), org: OrgID(uuid.MustParse("0e4b3c9a-1f1a-4f5e-9a51-6a0c1d2e3f40")), list: listProspects}
	id := uuid.MustParse("7d0c3f9e-2b51-4c59-9a57-1b0e6f3b8a21")
	f.Add(pg.encode(cursor{time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC), id}), int64(0), id[:])
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", int64(-1<<63), []byte{})
	f.Add("%%", int64(1<<62), []byte("sixteen bytes id"))
	f.Fuzz(func(t *testing.T, s string, micros int64, idBytes []byte) {
		if c, err := pg.decode(s); err == nil {
			require.Equal(t, s, pg.encode(c), "a cursor has one spelling")
			require.True(t, c.createdAt.Year() >= 1 && c.createdAt.Year() <= 9999)
		} else {
			requireInvalid(t, err, "cursor")
		}
		var id uuid.UUID
		copy(id[:], idBytes)
		want := cursor{time.UnixMicro(micros).UTC(), id}
		got, err := pg.decode(pg.encode(want))
		if micros < minCursorMicros || micros > maxCursorMicros {
			requireInvalid(t, err, "cursor")
			return
		}
		require.NoError(t, err)
		require.Equal(t, want, got)
	})
}

// TestListCallsAcrossStatuses: the unfiltered list, read one index scan per
// status, pages through every call once, newest first (id breaking ties of
// created_at), whatever the statuses; with a status, only that status; with a
// prospect, only its calls.
func TestListCallsAcrossStatuses(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	p := b.prospect(t, ptr[int32](900))
	statuses := []CallStatus{CallScheduled, CallInProgress, CallCompleted, CallCancelled, CallInProgress, CallScheduled, CallCompleted}
	for _, st := range statuses {
		b.callFor(t, p, st)
		b.call(t, ptr[int32](900), st) // another prospect's
	}
	// Two calls made in one transaction share created_at: id orders them.
	_, err := b.pool.Exec(b.ctx, `
		INSERT INTO call_session (organization_id, prospect_id, status, started_at, created_at)
		SELECT $1, $2, s::call_status, CASE WHEN s = 'in_progress' THEN now() END, now() - interval '1 hour'
		FROM unnest(ARRAY['scheduled', 'in_progress']) s`, uuid.UUID(b.org), p.ID)
	require.NoError(t, err)
	var want []Call
	require.NoError(t, func() error {
		rows, err := b.pool.Query(b.ctx, `SELECT id, status::text FROM call_session WHERE organization_id = $1 ORDER BY created_at DESC, id DESC`, uuid.UUID(b.org))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Call
			if err := rows.Scan(&c.ID, &c.Status); err != nil {
				return err
			}
			want = append(want, c)
		}
		return rows.Err()
	}())
	require.Len(t, want, 2*len(statuses)+2)

	ids := func(f CallFilter, limit int) (got []uuid.UUID) {
		var cur string
		for {
			l, err := b.svc.ListCalls(b.ctx, b.org, f, Page{Limit: limit, Cursor: cur})
			require.NoError(t, err)
			for _, c := range l.Items {
				got = append(got, c.ID)
			}
			if l.NextCursor == nil {
				return got
			}
			cur = *l.NextCursor
		}
	}
	wantIDs := func(keep func(Call) bool) (ids []uuid.UUID) {
		for _, c := range want {
			if keep(c) {
				ids = append(ids, c.ID)
			}
		}
		return ids
	}
	all := wantIDs(func(Call) bool { return true })
	for _, limit := range []int{1, 2, 3, 100} {
		require.Equal(t, all, ids(CallFilter{}, limit), "limit %d", limit)
	}
	inProgress := CallInProgress
	require.Equal(t, wantIDs(func(c Call) bool { return c.Status == CallInProgress }), ids(CallFilter{Status: &inProgress}, 2))
	ofP := ids(CallFilter{ProspectID: &p.ID}, 2)
	require.Len(t, ofP, len(statuses)+2)
	completed := CallCompleted
	require.Len(t, ids(CallFilter{ProspectID: &p.ID, Status: &completed}, 2), 2)
}
