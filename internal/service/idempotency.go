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
	Path   string
	Body   []byte
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
	if n := len(req.Key); n < 1 || n > 255 {
		return StoredResponse{}, false, invalid("Idempotency-Key", "must be 1-255 characters")
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

// requestFingerprint hashes what makes two requests with one key the same.
func requestFingerprint(req IdempotentRequest) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", req.Method, req.Path)
	h.Write(req.Body)
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
