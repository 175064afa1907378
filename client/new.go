package client

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// New returns a client for the API at server (e.g. "http://localhost:8080")
// that authenticates with apiKey and gives every POST an Idempotency-Key: the
// one in the request's params if set, else a new one per call. The key is set
// on the request before it is sent, so an HTTP client (WithHTTPClient) that
// retries the request resends the same key and the server answers a retry
// from the first answer instead of acting twice.
func New(server, apiKey string, opts ...ClientOption) (*ClientWithResponses, error) {
	auth := "Bearer " + apiKey
	editor := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", auth)
		if r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") == "" {
			r.Header.Set("Idempotency-Key", NewIdempotencyKey())
		}
		return nil
	}
	return NewClientWithResponses(server, append([]ClientOption{WithRequestEditorFn(editor)}, opts...)...)
}

// NewIdempotencyKey returns a fresh key (a random UUID). To retry a POST
// yourself, across a crash or a timeout, make one key, keep it with the work,
// and send it on every attempt: the server does the work once and replays its
// first answer (Idempotent-Replayed: true) to the others, for 24 hours.
func NewIdempotencyKey() IdempotencyKey {
	return uuid.NewString()
}
