package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/webhook"
)

// TestReceiver: a delivery signed as callsvc signs it (internal/webhook) is
// accepted once and printed once; a bad signature is refused.
func TestReceiver(t *testing.T) {
	t.Parallel()
	key := webhook.NewSecret()
	wh, err := standardwebhooks.NewWebhook(webhook.FormatSecret(key))
	require.NoError(t, err)
	var out bytes.Buffer
	rc := newReceiver(wh, &out)

	e := webhook.Event{ID: uuid.New(), Type: "call.cancelled", CreatedAt: time.Now(), Data: []byte(`{"id":"x","status":"cancelled"}`)}
	body, err := e.Body()
	require.NoError(t, err)
	send := func(key []byte) int {
		req := httptest.NewRequest(http.MethodPost, "/callsvc", bytes.NewReader(body))
		webhook.SetHeaders(req.Header, key, e.ID.String(), time.Now(), body)
		rec := httptest.NewRecorder()
		rc.ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, http.StatusNoContent, send(key))
	require.Equal(t, http.StatusNoContent, send(key), "a retry is acknowledged")
	require.Equal(t, 1, strings.Count(out.String(), e.ID.String()), "and handled once")
	require.Contains(t, out.String(), `call.cancelled`)
	require.Equal(t, http.StatusBadRequest, send(webhook.NewSecret()))
}
