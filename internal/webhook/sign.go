package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Signature is the webhook-signature value for one attempt: "v1," and the
// base64 HMAC-SHA256, under key, of "{id}.{timestamp}.{body}".
func Signature(key []byte, id string, timestamp time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, timestamp.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SetHeaders signs an attempt at timestamp: the event id (the same on every
// attempt, for the receiver to deduplicate on), the attempt's time in Unix
// seconds, and the signature.
func SetHeaders(h http.Header, key []byte, id string, timestamp time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(timestamp.Unix(), 10))
	h.Set(HeaderSignature, Signature(key, id, timestamp, body))
}

// Event is the body of a delivery.
type Event struct {
	ID        uuid.UUID       `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

// Body encodes e as it is sent: data as it was stored (the resource as the API
// renders it), the time in UTC like every timestamp of the API.
func (e Event) Body() ([]byte, error) {
	e.CreatedAt = e.CreatedAt.UTC()
	return json.Marshal(e)
}
