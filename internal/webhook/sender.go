package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// AttemptTimeout bounds one attempt, from dialing to the end of the answer's
// headers: a receiver that has not answered 2xx by then has failed this attempt.
const AttemptTimeout = 10 * time.Second

// maxErrorLen bounds an attempt's error as stored and shown (lastError).
const maxErrorLen = 1000

// userAgent names the sender to receivers.
const userAgent = "callsvc-webhooks/1"

// Sender makes delivery attempts: one signed POST each, through a transport
// that dials only what its Guard allows, follows no redirect, uses no proxy
// from the environment, and gives up after AttemptTimeout.
type Sender struct {
	client *http.Client
	now    func() time.Time
}

// NewSender returns a Sender whose every dial guard checks.
func NewSender(guard *Guard) *Sender {
	dialer := &net.Dialer{Timeout: AttemptTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial the receiver where the guard cannot see
		DialContext:           guard.DialContext(dialer),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   AttemptTimeout,
		ResponseHeaderTimeout: AttemptTimeout,
	}
	return &Sender{
		client: &http.Client{
			Transport: transport,
			Timeout:   AttemptTimeout,
			// A redirect is an answer like any other that is not 2xx.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now: time.Now,
	}
}

// Attempt is one delivery attempt to make.
type Attempt struct {
	URL   string
	Key   []byte // the endpoint's signing key
	Event Event
}

// Result is how an attempt went. Status is the answer's HTTP status, 0 when
// there was none; Error says why the attempt failed, "" when it succeeded (a 2xx
// answer).
type Result struct {
	Status int
	Error  string
}

// OK reports whether the attempt delivered the event.
func (r Result) OK() bool { return r.Error == "" }

// Send makes one attempt: POST the event's body, signed at the moment of
// sending, and read the answer's status.
func (s *Sender) Send(ctx context.Context, a Attempt) Result {
	body, err := a.Event.Body()
	if err != nil {
		return Result{Error: fmt.Sprintf("encode event: %v", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(body))
	if err != nil {
		return Result{Error: "the endpoint's URL cannot be requested"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	SetHeaders(req.Header, a.Key, a.Event.ID.String(), s.now(), body)

	res, err := s.client.Do(req)
	if err != nil {
		return Result{Error: describe(err)}
	}
	// Read a little of the answer so the connection can be reused; its content
	// does not matter.
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	if res.StatusCode >= 200 && res.StatusCode <= 299 {
		return Result{Status: res.StatusCode}
	}
	msg := fmt.Sprintf("the endpoint answered %d %s", res.StatusCode, http.StatusText(res.StatusCode))
	if res.StatusCode >= 300 && res.StatusCode <= 399 {
		msg += " (redirects are not followed)"
	}
	return Result{Status: res.StatusCode, Error: msg}
}

// describe turns a failed request into a line for lastError and the log:
// without the URL (it may carry credentials) and without Go's wrapping.
func describe(err error) string {
	var refused *NotAllowedError
	var dnsErr *net.DNSError
	var msg string
	switch {
	case errors.As(err, &refused):
		msg = refused.Error()
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		msg = fmt.Sprintf("no answer within %s", AttemptTimeout)
	case errors.Is(err, context.Canceled):
		msg = "the attempt was interrupted (the server stopped)"
	case errors.As(err, &dnsErr):
		msg = "the host's name does not resolve: " + dnsErr.Err
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = "connection refused"
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		msg = err.Error()
	}
	if len(msg) > maxErrorLen {
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "")
	}
	return msg
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
