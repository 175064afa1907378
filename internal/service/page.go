package service

import (
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

const (
	defaultPageLimit = 20
	maxPageLimit     = 100
)

// cursor is a keyset position: the (created_at, id) of the last row of a page.
// Clients see it as an opaque token: base64url of a version byte, the time in
// microseconds (PostgreSQL's precision) and the id.
type cursor struct {
	createdAt time.Time
	id        uuid.UUID
}

const cursorVersion = 1

func (c cursor) encode() string {
	var b [1 + 8 + 16]byte
	b[0] = cursorVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(c.createdAt.UnixMicro()))
	copy(b[9:], c.id[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// pageArgs validates p and returns the row limit to ask for (one more than the
// page, to know whether a next page exists) and the decoded cursor, if any.
func pageArgs(p Page) (limit int32, after *cursor, err error) {
	n := p.Limit
	if n == 0 {
		n = defaultPageLimit
	}
	if n < 1 || n > maxPageLimit {
		return 0, nil, invalid("limit", "must be between 1 and %d", maxPageLimit)
	}
	if p.Cursor == "" {
		return int32(n) + 1, nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil || len(b) != 25 || b[0] != cursorVersion {
		return 0, nil, invalid("cursor", "not a cursor this server issued")
	}
	c := cursor{createdAt: time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9]))).UTC()}
	copy(c.id[:], b[9:])
	return int32(n) + 1, &c, nil
}

// cursorArgs spreads an optional cursor into the queries' nullable parameters.
func cursorArgs(c *cursor) (*time.Time, *uuid.UUID) {
	if c == nil {
		return nil, nil
	}
	return &c.createdAt, &c.id
}

// paginate trims rows (fetched with limit+1) to a page and sets the next cursor
// from the last row kept.
func paginate[R, T any](rows []R, limit int32, convert func(R) T, key func(R) cursor) List[T] {
	page := List[T]{Items: make([]T, 0, len(rows))}
	if int32(len(rows)) == limit {
		rows = rows[:limit-1]
		next := key(rows[len(rows)-1]).encode()
		page.NextCursor = &next
	}
	for _, r := range rows {
		page.Items = append(page.Items, convert(r))
	}
	return page
}
