package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/callsvc/callsvc/internal/db"
	"github.com/callsvc/callsvc/internal/ijson"
)

// Idempotency errors.
var (
	ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
	ErrIdempotencyKeyInUse  = errors.New("a request with this idempotency key is in flight")
)

// idempotencyTTLSeconds is how long a stored answer is replayed: 24 hours.
const idempotencyTTLSeconds = 24 * 60 * 60

// IdempotentRequest is a request sent with an Idempotency-Key. A key is scoped to
// the organization, the method and the path.
type IdempotentRequest struct {
	Key    string
	Method string
	// Path is the request's route with each path id in canonical form (a UUID
	// in lower case), as the HTTP layer builds it from the matched route: so
	// /v1/calls/ABC…/objections and /v1/calls/abc…/objections are one scope.
	Path string
	// Body is the request body; two bodies are the same when they are the same
	// JSON value (requestFingerprint).
	Body []byte
}

// maxIdempotencyKeyLen bounds an Idempotency-Key.
const maxIdempotencyKeyLen = 255

// CheckIdempotencyKey reports whether key is a valid Idempotency-Key: 1-255
// printable ASCII characters (space to ~, what an RFC 8941 sf-string holds).
// Anything else — empty, longer, a control character, a byte above 0x7E (so
// also any UTF-8 or invalid UTF-8) — is invalid input.
func CheckIdempotencyKey(key string) error {
	if n := len(key); n < 1 || n > maxIdempotencyKeyLen {
		return invalid("Idempotency-Key", "must be 1-%d printable ASCII characters", maxIdempotencyKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return invalid("Idempotency-Key", "must be 1-%d printable ASCII characters (byte %d is 0x%02x)", maxIdempotencyKeyLen, i+1, key[i])
		}
	}
	return nil
}

// StoredResponse is an answer as the HTTP layer sends it, stored for replay.
type StoredResponse struct {
	Status   int
	Location string
	Body     []byte
}

// Idempotent runs handle at most once per key. The key is claimed, handle's
// writes are made (its ctx carries the transaction, see WithTx) and its answer is
// stored in ONE transaction, so a stored answer exists exactly when the writes
// committed: a crash at any point leaves both or neither.
//
// A key already answered replays that answer (replayed is true) when the request
// is the same, and is ErrIdempotencyKeyReused otherwise; a key whose first request
// is still running is ErrIdempotencyKeyInUse (the caller does not wait). Only
// 2xx answers are stored; any other answer is returned and its writes rolled back.
func (s *Service) Idempotent(ctx context.Context, org OrgID, req IdempotentRequest, handle func(ctx context.Context) (StoredResponse, error)) (resp StoredResponse, replayed bool, err error) {
	if err := CheckIdempotencyKey(req.Key); err != nil {
		return StoredResponse{}, false, err
	}
	fingerprint := requestFingerprint(req)

	// BEGIN, the lock and the read of a stored answer go in one round trip. The
	// read is a statement of its own, after the lock: under READ COMMITTED it sees
	// an answer committed by the transaction that held the lock before us.
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	var locked bool
	db.QueueTryLockIdempotencyKey(b, db.TryLockIdempotencyKeyParams{OrganizationID: uuid.UUID(org), Method: req.Method, Path: req.Path, Key: req.Key}, &locked)
	var stored *db.GetIdempotencyKeyRow
	db.QueueGetIdempotencyKey(b, db.GetIdempotencyKeyParams{OrganizationID: uuid.UUID(org), Method: req.Method, Path: req.Path, Key: req.Key}, &stored)
	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer rollback(ctx, tx)
	if err := br.Close(); err != nil {
		return StoredResponse{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}

	switch {
	case !locked:
		return StoredResponse{}, false, ErrIdempotencyKeyInUse
	case stored != nil && !bytes.Equal(stored.RequestHash, fingerprint[:]):
		return StoredResponse{}, false, ErrIdempotencyKeyReused
	case stored != nil:
		resp := StoredResponse{Status: int(stored.ResponseStatus), Body: stored.ResponseBody}
		if stored.ResponseLocation != nil {
			resp.Location = *stored.ResponseLocation
		}
		return resp, true, nil
	}

	resp, err = handle(WithTx(ctx, tx))
	if err != nil {
		return StoredResponse{}, false, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return resp, false, nil // rolled back by the deferred rollback
	}
	if s.hooks.beforeIdempotentStore != nil {
		if err := s.hooks.beforeIdempotentStore(); err != nil {
			return StoredResponse{}, false, err
		}
	}
	var location *string
	if resp.Location != "" {
		location = &resp.Location
	}
	err = s.q.WithTx(tx).StoreIdempotencyKey(ctx, db.StoreIdempotencyKeyParams{
		OrganizationID:   uuid.UUID(org),
		Method:           req.Method,
		Path:             req.Path,
		Key:              req.Key,
		RequestHash:      fingerprint[:],
		ResponseStatus:   int16(resp.Status),
		ResponseLocation: location,
		ResponseBody:     resp.Body,
		TtlSeconds:       idempotencyTTLSeconds,
	})
	if err != nil {
		return StoredResponse{}, false, fmt.Errorf("store idempotent answer: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return StoredResponse{}, false, fmt.Errorf("commit idempotent request: %w", err)
	}
	return resp, false, nil
}

// requestFingerprint hashes what makes two requests with one key the same: the
// method, the path and the body as a JSON value, in its canonical form (RFC
// 8785), so whitespace, member order and the spelling of a number (5, 5.0, 5e0)
// do not matter, and array order does. An empty body is hashed as such; a body
// that is not JSON (the HTTP layer refuses those first) is hashed as sent.
func requestFingerprint(req IdempotentRequest) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", req.Method, req.Path)
	switch canonical, err := ijson.Canonical(req.Body); {
	case len(req.Body) == 0:
		h.Write([]byte("empty"))
	case err == nil:
		h.Write([]byte("json\n"))
		h.Write(canonical)
	default:
		h.Write([]byte("bytes\n"))
		h.Write(req.Body)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// DeleteExpiredIdempotencyKeys removes expired keys in batches of batchSize, each
// its own short statement, and returns how many it removed.
func (s *Service) DeleteExpiredIdempotencyKeys(ctx context.Context, batchSize int32) (int64, error) {
	var total int64
	for {
		n, err := s.q.DeleteExpiredIdempotencyKeys(ctx, batchSize)
		total += n
		if err != nil {
			return total, fmt.Errorf("delete expired idempotency keys: %w", err)
		}
		if n < int64(batchSize) {
			return total, nil
		}
	}
}

// RunIdempotencyCleanup deletes expired keys every interval until ctx ends.
func (s *Service) RunIdempotencyCleanup(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			n, err := s.DeleteExpiredIdempotencyKeys(ctx, 1000)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "idempotency key cleanup failed", "err", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "idempotency keys expired", "deleted", n)
			}
		}
	}
}
