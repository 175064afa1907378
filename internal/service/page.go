package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

const (
	defaultPageLimit = 20
	maxPageLimit     = 100
)

// cursor is a keyset position: the (created_at, id) of the last row of a page.
type cursor struct {
	createdAt time.Time
	id        uuid.UUID
}

// A cursor is opaque to clients: base64url (no padding) of a version byte, the
// row's time in microseconds (PostgreSQL's precision), its id, and a tag: the
// first 16 bytes of an HMAC-SHA256 over those, the list and the organization.
// So a cursor the server did not issue — forged, altered, or issued for another
// list or organization — is refused (400) before any SQL runs, and one issued by
// any server of the database works on every other (they share the key).
const (
	cursorVersion = 2
	cursorTagSize = 16
	cursorBody    = 1 + 8 + 16
	cursorSize    = cursorBody + cursorTagSize
)

// The times a cursor may carry: PostgreSQL's timestamptz goes further both ways,
// but no row of this service is outside years 1-9999. Checked even on a cursor
// whose tag is right, so a leaked key cannot make a query fail in PostgreSQL.
var (
	minCursorMicros = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	maxCursorMicros = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
)

// listName names the list a cursor was issued for; it is part of the tag.
type listName string

const (
	listProspects  listName = "prospects"
	listCalls      listName = "calls"
	listObjections listName = "objections"
	listEndpoints  listName = "webhook-endpoints"
	listDeliveries listName = "webhook-deliveries"
)

// WithCursorKey signs list cursors with key (the operator's CALLSVC_CURSOR_KEY)
// instead of the key the migrations stored in the database. Every server of one
// database must be given the same key, or a cursor fails on the next server.
func WithCursorKey(key []byte) Option {
	return func(s *Service) { s.cursors.key = key }
}

// cursorKeys holds the HMAC key of cursors: the one given to New, or else the
// database's server_secret 'cursor', which every server of the database reads,
// once, on its first list request.
type cursorKeys struct {
	mu  sync.Mutex
	key []byte
}

func (s *Service) cursorKey(ctx context.Context) ([]byte, error) {
	s.cursors.mu.Lock()
	defer s.cursors.mu.Unlock()
	if s.cursors.key == nil {
		key, err := s.q.GetServerSecret(ctx, "cursor")
		if err != nil {
			return nil, fmt.Errorf("read the cursor key (server_secret): %w", dbErr(err, nil))
		}
		s.cursors.key = key
	}
	return s.cursors.key, nil
}

// pager issues and checks the cursors of one list for one organization.
type pager struct {
	key  []byte
	org  OrgID
	list listName
}

// pageArgs validates p and returns the pager of the list, the row limit to ask
// for (one more than the page, to know whether a next page exists) and the
// decoded cursor, if any.
func (s *Service) pageArgs(ctx context.Context, org OrgID, list listName, p Page) (pg pager, limit int32, after *cursor, err error) {
	n := p.Limit
	if n == 0 {
		n = defaultPageLimit
	}
	if n < 1 || n > maxPageLimit {
		return pager{}, 0, nil, invalid("limit", "must be between 1 and %d", maxPageLimit)
	}
	key, err := s.cursorKey(ctx)
	if err != nil {
		return pager{}, 0, nil, err
	}
	pg = pager{key: key, org: org, list: list}
	if p.Cursor == "" {
		return pg, int32(n) + 1, nil, nil
	}
	c, err := pg.decode(p.Cursor)
	if err != nil {
		return pager{}, 0, nil, err
	}
	return pg, int32(n) + 1, &c, nil
}

func (pg pager) encode(c cursor) string {
	var b [cursorSize]byte
	b[0] = cursorVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(c.createdAt.UnixMicro()))
	copy(b[9:cursorBody], c.id[:])
	pg.tag(b[cursorBody:cursorBody], b[:cursorBody])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

var errForeignCursor = invalid("cursor", "not a cursor this server issued for this list")

// decode returns the position s holds, or 400 invalid_request for anything but
// a cursor encode made for the same list and organization.
func (pg pager) decode(s string) (cursor, error) {
	if len(s) != base64.RawURLEncoding.EncodedLen(cursorSize) {
		return cursor{}, errForeignCursor
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != cursorSize || b[0] != cursorVersion {
		return cursor{}, errForeignCursor
	}
	var want [cursorTagSize]byte
	if !hmac.Equal(pg.tag(want[:0], b[:cursorBody]), b[cursorBody:]) {
		return cursor{}, errForeignCursor
	}
	micros := int64(binary.BigEndian.Uint64(b[1:9]))
	if micros < minCursorMicros || micros > maxCursorMicros {
		return cursor{}, invalid("cursor", "position out of range")
	}
	c := cursor{createdAt: time.UnixMicro(micros).UTC()}
	copy(c.id[:], b[9:cursorBody])
	return c, nil
}

// tag appends the cursor tag of body to dst.
func (pg pager) tag(dst, body []byte) []byte {
	m := hmac.New(sha256.New, pg.key)
	m.Write([]byte("callsvc cursor\x00"))
	m.Write([]byte(pg.list))
	m.Write([]byte{0})
	m.Write(pg.org[:])
	m.Write(body)
	var sum [sha256.Size]byte
	return append(dst, m.Sum(sum[:0])[:cursorTagSize]...)
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
func paginate[R, T any](pg pager, rows []R, limit int32, convert func(R) T, key func(R) cursor) List[T] {
	page := List[T]{Items: make([]T, 0, len(rows))}
	if int32(len(rows)) == limit {
		rows = rows[:limit-1]
		next := pg.encode(key(rows[len(rows)-1]))
		page.NextCursor = &next
	}
	for _, r := range rows {
		page.Items = append(page.Items, convert(r))
	}
	return page
}
