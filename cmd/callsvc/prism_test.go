package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The third-party contract check (make contract, scripts/contract.sh): when
// CALLSVC_PRISM_URL is set, every request of the end-to-end tests goes through
// Stoplight Prism's validation proxy, and a test fails on any violation Prism
// finds in the server's answer (kin-openapi validates requests inside the
// server, so it cannot be the only judge of the server's answers).
//
// Prism is a witness, not a carrier: it re-encodes the JSON it forwards (a
// member name sent twice, or invalid UTF-8, would not reach the server as
// sent) and answers a body it cannot parse itself. So Prism gets the request
// without its body (and without header values that are not printable ASCII,
// which Node would refuse), and forwards it to prismHop, in this test binary,
// which sends the test's own request, byte for byte, to the test's server and
// keeps the answer. The test gets that answer; Prism's copy only brings its
// verdict on it, the sl-violations header (Prism's complaints about the request,
// most of which the tests send bad on purpose, are not counted). HEAD goes straight to the server: the spec lists GET
// (HEAD mirrors it), and Prism 5 fails on a JSON answer without a body.
const (
	envPrismURL    = "CALLSVC_PRISM_URL"    // where Prism listens
	envPrismHop    = "CALLSVC_PRISM_HOP"    // where Prism forwards: prismHop listens there
	envPrismReport = "CALLSVC_PRISM_REPORT" // one line per exchange is appended here
	headerExchange = "X-Callsvc-Test-Exchange"
)

// exchange is one request of a test and the server's answer to it.
type exchange struct {
	req     *http.Request
	body    []byte
	res     *http.Response
	resBody []byte
}

// prismHop is the upstream Prism proxies to.
type prismHop struct {
	prism *url.URL
	mu    sync.Mutex
	next  int
	open  map[string]*exchange
	out   *os.File // the report, or nil
}

var (
	hopOnce sync.Once
	hop     *prismHop
	hopErr  error
)

// prismFor returns the hop when the contract check is on, starting it once.
func prismFor(t testing.TB) *prismHop {
	t.Helper()
	raw := os.Getenv(envPrismURL)
	if raw == "" {
		return nil
	}
	hopOnce.Do(func() { hop, hopErr = startPrismHop(raw, os.Getenv(envPrismHop), os.Getenv(envPrismReport)) })
	if hopErr != nil {
		t.Fatalf("contract check: %v", hopErr)
	}
	return hop
}

func startPrismHop(prismURL, addr, report string) (*prismHop, error) {
	u, err := url.Parse(prismURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s=%q is not a URL", envPrismURL, prismURL)
	}
	h := &prismHop{prism: u, open: map[string]*exchange{}}
	if report != "" {
		if h.out, err = os.OpenFile(report, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envPrismHop, err)
	}
	go func() { _ = http.Serve(ln, h) }() // lives as long as the test binary
	return h, nil
}

// ServeHTTP answers Prism's forwarded request with the server's answer to the
// test's original one.
func (h *prismHop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	ex := h.open[r.Header.Get(headerExchange)]
	h.mu.Unlock()
	if ex == nil {
		http.Error(w, "prismHop: no such exchange", http.StatusBadGateway)
		return
	}
	req := ex.req.Clone(context.WithoutCancel(r.Context()))
	req.Body = io.NopCloser(bytes.NewReader(ex.body))
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, "prismHop: "+err.Error(), http.StatusBadGateway)
		return
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		http.Error(w, "prismHop: "+err.Error(), http.StatusBadGateway)
		return
	}
	h.mu.Lock()
	ex.res, ex.resBody = res, body
	h.mu.Unlock()
	for k, vs := range res.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(body)
}

// violation is one entry of Prism's sl-violations header.
type violation struct {
	Location []string `json:"location"`
	Severity string   `json:"severity"`
	Code     any      `json:"code"`
	Message  string   `json:"message"`
}

// roundTrip sends req through Prism and returns the server's own answer, with
// what Prism found wrong in it.
func (h *prismHop) roundTrip(req *http.Request, body []byte) (*http.Response, []byte, []string, error) {
	h.mu.Lock()
	h.next++
	id := strconv.Itoa(h.next)
	ex := &exchange{req: req, body: body}
	h.open[id] = ex
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.open, id)
		h.mu.Unlock()
	}()

	via := req.Clone(req.Context())
	via.URL.Scheme, via.URL.Host, via.Host = h.prism.Scheme, h.prism.Host, ""
	via.Body, via.ContentLength = http.NoBody, 0
	via.Header.Del("Content-Type")
	for k, vs := range via.Header {
		for _, v := range vs {
			if !printableASCII(v) {
				via.Header.Del(k)
			}
		}
	}
	via.Header.Set(headerExchange, id)
	pres, err := http.DefaultTransport.RoundTrip(via)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("through Prism: %w", err)
	}
	pbody, _ := io.ReadAll(pres.Body)
	pres.Body.Close()

	h.mu.Lock()
	res, resBody := ex.res, ex.resBody
	h.mu.Unlock()
	if res == nil {
		return nil, nil, nil, fmt.Errorf("Prism did not forward the request: it answered %d %.300s", pres.StatusCode, pbody)
	}
	var problems []string
	if pres.StatusCode != res.StatusCode {
		problems = append(problems, fmt.Sprintf("Prism answered %d where the server answered %d: %.300s", pres.StatusCode, res.StatusCode, pbody))
	}
	if raw := pres.Header.Get("sl-violations"); raw != "" {
		var vs []violation
		if err := json.Unmarshal([]byte(raw), &vs); err != nil {
			return nil, nil, nil, fmt.Errorf("Prism's sl-violations %q: %w", raw, err)
		}
		for _, v := range vs {
			if len(v.Location) > 0 && v.Location[0] == "response" {
				problems = append(problems, fmt.Sprintf("%s at %s: %s", v.Severity, strings.Join(v.Location, "."), v.Message))
			}
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	return res, resBody, problems, nil
}

// record appends one exchange to the report: method, route, status and what
// Prism found ("ok" or the violations).
func (h *prismHop) record(method, route string, status int, problems []string) {
	if h.out == nil {
		return
	}
	verdict := "ok"
	if len(problems) > 0 {
		verdict = "VIOLATION " + strings.Join(problems, " | ")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(h.out, "%s %s %d %s\n", method, route, status, strings.ReplaceAll(verdict, "\n", " "))
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// TestPrismSeesViolations proves the contract check can fail: answers that
// break the spec, carried the same way as the tests' own, are reported.
func TestPrismSeesViolations(t *testing.T) {
	t.Parallel()
	p := prismFor(t)
	if p == nil {
		t.Skip("the contract check is off; make contract turns it on")
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/healthz":
			_, _ = io.WriteString(w, `{"status":5}`) // status is the string "ok"
		default:
			w.WriteHeader(http.StatusTeapot) // a status the operation does not list
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	defer bad.Close()
	for _, path := range []string{"/healthz", "/v1/prospects"} {
		req, err := http.NewRequest(http.MethodGet, bad.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _, problems, err := p.roundTrip(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) == 0 {
			t.Errorf("GET %s: Prism saw nothing wrong", path)
		}
		t.Logf("GET %s: %q", path, problems)
	}
}
