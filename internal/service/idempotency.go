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
	// Sensitive answers (one that shows a webhook secret) are stored sealed,
	// like the secret itself, and opened for a replay.
	Sensitive bool
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
// writes are made in tx and its answer is stored in ONE transaction, so a stored
// answer exists exactly when the writes committed: a crash at any point leaves
// both or neither. handle returns the 2xx answer it would send, or an error,
// which rolls its writes back and stores nothing.
//
// A key already answered replays that answer (replayed is true) when the request
// is the same, and is ErrIdempotencyKeyReused otherwise; a key whose first request
// is still running is ErrIdempotencyKeyInUse (the caller does not wait).
//
// Round trips: BEGIN, the key's lock and the read of a stored answer in one;
// handle's own (its last statement is sent without COMMIT); the answer stored
// with COMMIT in one more.
func (s *Service) Idempotent(ctx context.Context, org OrgID, req IdempotentRequest, handle func(tx *Tx) (StoredResponse, error)) (resp StoredResponse, replayed bool, err error) {
	if err := CheckIdempotencyKey(req.Key); err != nil {
		return StoredResponse{}, false, err
	}
	ctx, end := s.startSpan(ctx, "Idempotent")
	defer end(&err)
	fingerprint := requestFingerprint(req)
	err = s.retry(ctx, func(retried bool) error {
		return s.runTx(ctx, false, retried, func(tx *Tx) error {
			resp, replayed = StoredResponse{}, false
			stored, err := claimIdempotencyKey(ctx, tx, org, req)
			switch {
			case err != nil:
				return err
			case stored != nil && !bytes.Equal(stored.RequestHash, fingerprint[:]):
				return ErrIdempotencyKeyReused
			case stored != nil:
				body, err := s.unsealAnswer(org, req, stored.ResponseBody)
				if err != nil {
					return err
				}
				resp, replayed = StoredResponse{Status: int(stored.ResponseStatus), Body: body}, true
				if stored.ResponseLocation != nil {
					resp.Location = *stored.ResponseLocation
				}
				return nil
			}
			if resp, err = handle(tx); err != nil {
				return err
			}
			if s.hooks.beforeIdempotentStore != nil {
				if err := s.hooks.beforeIdempotentStore(); err != nil {
					return err
				}
			}
			var location *string
			if resp.Location != "" {
				location = &resp.Location
			}
			body, err := s.sealAnswer(org, req, resp.Body)
			if err != nil {
				return err
			}
			// Queued: it goes with the COMMIT that ends the transaction.
			return tx.Queue().StoreIdempotencyKey(ctx, db.StoreIdempotencyKeyParams{
				OrganizationID:   uuid.UUID(org),
				Method:           req.Method,
				Path:             req.Path,
				Key:              req.Key,
				RequestHash:      fingerprint[:],
				ResponseStatus:   int16(resp.Status),
				ResponseLocation: location,
				ResponseBody:     body,
				TtlSeconds:       idempotencyTTLSeconds,
			})
		})
	})
	if err != nil {
		return StoredResponse{}, false, err
	}
	return resp, replayed, nil
}

// claimIdempotencyKey takes the key's advisory lock and reads its stored answer,
// if any, in one round trip. The read is a statement of its own, after the lock:
// under READ COMMITTED it sees an answer committed by the transaction that held
// the lock before us. It is ErrIdempotencyKeyInUse when another transaction
// holds the lock.
func claimIdempotencyKey(ctx context.Context, tx *Tx, org OrgID, req IdempotentRequest) (*db.GetIdempotencyKeyRow, error) {
	var locked bool
	tx.queueRow(db.TryLockIdempotencyKey, []any{uuid.UUID(org), req.Method, req.Path, req.Key}, func(row pgx.Row) error {
		return row.Scan(&locked)
	})
	stored, err := tx.Queries().GetIdempotencyKey(ctx, db.GetIdempotencyKeyParams{
		OrganizationID: uuid.UUID(org),
		Method:         req.Method,
		Path:           req.Path,
		Key:            req.Key,
	})
	switch err = dbErr(err, errNoRow); {
	case !locked && (err == nil || errors.Is(err, errNoRow)):
		return nil, ErrIdempotencyKeyInUse
	case errors.Is(err, errNoRow):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	return &stored, nil
}

// sealAnswer seals a sensitive request's answer for storage, bound to the key's
// scope; other answers are stored as they are.
func (s *Service) sealAnswer(org OrgID, req IdempotentRequest, body []byte) ([]byte, error) {
	if !req.Sensitive {
		return body, nil
	}
	if s.secrets == nil {
		return nil, errors.New("store a sensitive answer: the service has no secret box (WithWebhooks)")
	}
	return s.secrets.Seal(body, answerScope(org, req)), nil
}

// unsealAnswer opens what sealAnswer stored.
func (s *Service) unsealAnswer(org OrgID, req IdempotentRequest, stored []byte) ([]byte, error) {
	if !req.Sensitive {
		return stored, nil
	}
	if s.secrets == nil {
		return nil, errors.New("replay a sensitive answer: the service has no secret box (WithWebhooks)")
	}
	body, err := s.secrets.Open(stored, answerScope(org, req))
	if err != nil {
		return nil, fmt.Errorf("replay a sensitive answer: %w", err)
	}
	return body, nil
}

func answerScope(org OrgID, req IdempotentRequest) []byte {
	return fmt.Appendf(nil, "%s %s %s %s", uuid.UUID(org), req.Method, req.Path, req.Key)
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
// its own short transaction, and returns how many it removed.
func (s *Service) DeleteExpiredIdempotencyKeys(ctx context.Context, batchSize int32) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.InTx(ctx, func(tx *Tx) (err error) {
			n, err = tx.Last().DeleteExpiredIdempotencyKeys(ctx, batchSize)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("delete expired idempotency keys: %w", err)
		}
		total += n
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
