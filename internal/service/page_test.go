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
