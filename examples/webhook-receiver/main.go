// Command webhook-receiver receives callsvc's webhooks: it checks each request's
// signature with the Standard Webhooks library, skips an event it has already
// handled (callsvc delivers at least once, with the same webhook-id on every
// attempt), prints the event and answers 204 within callsvc's 10 seconds.
//
//	WEBHOOK_SECRET=whsec_... go run ./examples/webhook-receiver -addr 127.0.0.1:9000
//
// Then subscribe http://127.0.0.1:9000/callsvc (see README.md, Webhooks; a
// server reaches 127.0.0.1 only with CALLSVC_WEBHOOK_ALLOW_PRIVATE=true).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// event is the body of a delivery: data is the Outcome (outcome.created) or the
// Call (call.cancelled), as the API shows them.
type event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	wh, err := standardwebhooks.NewWebhook(os.Getenv("WEBHOOK_SECRET"))
	if err != nil || os.Getenv("WEBHOOK_SECRET") == "" {
		log.Fatalf("set WEBHOOK_SECRET to the endpoint's secret (whsec_...): %v", err)
	}
	log.Printf("listening on %s", *addr)
	srv := &http.Server{Addr: *addr, Handler: newReceiver(wh, os.Stdout), ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// receiver handles deliveries. A real one would record the event ids it has
// handled where it records the effects, in the same transaction.
type receiver struct {
	wh  *standardwebhooks.Webhook
	out io.Writer

	mu   sync.Mutex
	seen map[string]bool
}

func newReceiver(wh *standardwebhooks.Webhook, out io.Writer) *receiver {
	return &receiver{wh: wh, out: out, seen: map[string]bool{}}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	// The signature covers the body as sent, byte for byte: verify before decoding.
	// Verify also refuses a timestamp more than 5 minutes away (a replay).
	if err := rc.wh.Verify(body, r.Header); err != nil {
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var e event
	if err := json.Unmarshal(body, &e); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	dup := rc.seen[e.ID]
	rc.seen[e.ID] = true
	rc.mu.Unlock()
	if !dup {
		fmt.Fprintf(rc.out, "%s %s %s %s\n", e.CreatedAt.Format(time.RFC3339), e.Type, e.ID, e.Data)
	}
	// Any 2xx tells callsvc the event is delivered; answer fast, work later.
	w.WriteHeader(http.StatusNoContent)
}
