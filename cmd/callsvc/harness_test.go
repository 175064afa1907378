package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callsvc/callsvc/client"
	"github.com/callsvc/callsvc/internal/dbtest"
	httpapi "github.com/callsvc/callsvc/internal/http"
)

// testServer is the real program (run serve) on 127.0.0.1:0 against a fresh
// database, stopped and checked for a clean exit when the test ends.
type testServer struct {
	t      testing.TB
	URL    string
	DBURL  string
	DB     *pgxpool.Pool // direct access, to count rows
	logs   *syncBuffer
	router routers.Router
}

type serverOptions struct {
	poolMaxConns string
	// databaseURL is the server's DATABASE_URL (default: a fresh test
	// database: another server's, say); directURL is the same database for
	// the test's own queries, when the server reaches it another way (a proxy).
	databaseURL, directURL string
	migrate                bool              // serve --migrate
	role                   string            // serve --role (default: all)
	env                    map[string]string // more settings
}

func startServer(t testing.TB) *testServer { return startServerWith(t, serverOptions{}) }

func startServerWith(t testing.TB, opts serverOptions) *testServer {
	t.Helper()
	dbURL := opts.databaseURL
	if dbURL == "" {
		dbURL = dbtest.NewDatabase(t)
	}
	env := map[string]string{
		"DATABASE_URL":            dbURL,
		"CALLSVC_POOL_MAX_CONNS":  cmpOr(opts.poolMaxConns, "4"),
		"CALLSVC_WEBHOOK_WORKERS": "2",
	}
	for k, v := range opts.env {
		env[k] = v
	}
	for k, v := range opts.env {
		env[k] = v
	}
	getenv := func(k string) string { return env[k] }
	logs := &syncBuffer{}
	listening := make(chan string, 1)
	logs.onLine = func(line string) {
		if m := listeningLine.FindStringSubmatch(line); m != nil {
			select {
			case listening <- m[1]:
			default:
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args := []string{"serve", "--addr", "127.0.0.1:0"}
	if opts.migrate {
		args = append(args, "--migrate")
	}
	if opts.role != "" {
		args = append(args, "--role", opts.role)
	}
	go func() { done <- run(ctx, args, getenv, io.Discard, logs) }()

	var addr string
	select {
	case addr = <-listening:
	case err := <-done:
		cancel()
		t.Fatalf("serve exited at start: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("serve did not start\n%s", logs.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("serve did not stop within 15 s")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})

	direct := cmpOr(opts.directURL, dbURL)
	pool, err := pgxpool.New(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &testServer{t: t, URL: "http://" + addr, DBURL: direct, DB: pool, logs: logs, router: specRouter(t)}
}

var listeningLine = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// syncBuffer collects the server's log lines; onLine sees each complete line.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	part   []byte
	onLine func(string)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	b.part = append(b.part, p...)
	for {
		i := bytes.IndexByte(b.part, '\n')
		if i < 0 {
			break
		}
		if b.onLine != nil {
			b.onLine(string(b.part[:i]))
		}
		b.part = b.part[i+1:]
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	specOnce sync.Once
	spec     *openapi3.T
	specErr  error
)

// specRouter routes responses back to their spec operation for validation.
func specRouter(t testing.TB) routers.Router {
	t.Helper()
	specOnce.Do(func() {
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
		// kin-openapi decodes no HTML, JavaScript or OpenMetrics bodies; the spec calls them strings.
		for _, ct := range []string{"text/html", "text/javascript", "application/openmetrics-text"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
		spec, specErr = httpapi.GetSpec()
		if specErr == nil {
			spec.Servers = nil
		}
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	r, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkingTransport holds every answer of the e2e tests to the contract: the
// body and headers match the spec's response for that operation and status,
// X-Request-Id is present, and a problem's requestId equals it.
type checkingTransport struct {
	srv *testServer
}

func (c checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	if p := prismFor(c.srv.t); p != nil && req.Method != http.MethodHead {
		res, body, problems, err := p.roundTrip(req, reqBody)
		if err != nil {
			return nil, err
		}
		for _, problem := range problems {
			c.srv.t.Errorf("%s %s: %d answer, Prism: %s", req.Method, req.URL.Path, res.StatusCode, problem)
		}
		route := "unmatched"
		if r, _, err := c.srv.router.FindRoute(req); err == nil {
			route = r.Path
		}
		p.record(req.Method, route, res.StatusCode, problems)
		c.check(req, reqBody, res, body)
		return res, nil
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	c.check(req, reqBody, res, body)
	return res, nil
}

func (c checkingTransport) check(req *http.Request, reqBody []byte, res *http.Response, body []byte) {
	t := c.srv.t
	t.Helper()
	what := req.Method + " " + req.URL.Path
	id := res.Header.Get("X-Request-Id")
	if id == "" {
		t.Errorf("%s: %d answer without X-Request-Id", what, res.StatusCode)
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") && req.Method != http.MethodHead {
		var p client.Problem
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("%s: problem body %q: %v", what, body, err)
		} else if p.RequestId != id || p.Status != res.StatusCode {
			t.Errorf("%s: problem requestId %q status %d, header %q status %d", what, p.RequestId, p.Status, id, res.StatusCode)
		}
	}
	route, params, err := c.srv.router.FindRoute(req)
	if err != nil {
		return // unknown route or method: no operation to check against
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s: %d answer breaks the spec: %v\nbody: %.500s", what, res.StatusCode, err, body)
	}
}

// httpClient talks to srv through checkingTransport.
func (srv *testServer) httpClient() *http.Client {
	return &http.Client{Transport: checkingTransport{srv: srv}, Timeout: 30 * time.Second}
}

// client returns the generated API client, authenticated with key ("" for none).
func (srv *testServer) client(key string) *client.ClientWithResponses {
	srv.t.Helper()
	c, err := client.NewClientWithResponses(srv.URL,
		client.WithHTTPClient(srv.httpClient()),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			if key != "" {
				r.Header.Set("Authorization", "Bearer "+key)
			}
			return nil
		}))
	if err != nil {
		srv.t.Fatal(err)
	}
	return c
}

// org is an organization created through the CLI, with its key and client.
type org struct {
	ID  string
	Key string
	C   *client.ClientWithResponses
}

func (srv *testServer) newOrg(name string) org {
	srv.t.Helper()
	out := cli(srv.t, srv.DBURL, "org", "create", "--name", name)
	var o struct {
		OrganizationID string `json:"organizationId"`
		Name           string `json:"name"`
		APIKey         string `json:"apiKey"`
	}
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		srv.t.Fatalf("org create printed %q: %v", out, err)
	}
	return org{ID: o.OrganizationID, Key: o.APIKey, C: srv.client(o.APIKey)}
}

// cli runs one command of the program in-process and returns its stdout.
func cli(t testing.TB, dbURL string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	if err := run(context.Background(), args, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("callsvc %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// raw sends a hand-made request (for inputs the typed client cannot express).
func (srv *testServer) raw(method, path, contentType, body, key string) (*http.Response, []byte) {
	srv.t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		srv.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := srv.httpClient().Do(req)
	if err != nil {
		srv.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, b
}

// problemOf decodes a problem answer and checks its status and code.
func problemOf(t testing.TB, res *http.Response, body []byte, status int, code string) client.Problem {
	t.Helper()
	var p client.Problem
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", res.StatusCode, status, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, body)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %s: %v", body, err)
	}
	if string(p.Code) != code {
		t.Fatalf("code %q, want %q; detail %q", p.Code, code, p.Detail)
	}
	return p
}

// count returns the number of rows in table.
func (srv *testServer) count(table string) int {
	srv.t.Helper()
	var n int
	if err := srv.DB.QueryRow(context.Background(), fmt.Sprintf("SELECT count(*) FROM %s", table)).Scan(&n); err != nil {
		srv.t.Fatal(err)
	}
	return n
}

// snapshot sums up every table (row count, and the latest update where rows
// have one), to prove a request changed nothing.
func (srv *testServer) snapshot() map[string]string {
	srv.t.Helper()
	out := map[string]string{}
	for table, query := range map[string]string{
		"organization":       "SELECT count(*)::text FROM organization",
		"api_key":            "SELECT count(*) || ' ' || count(revoked_at) FROM api_key",
		"prospect":           "SELECT count(*) || ' ' || coalesce(max(updated_at)::text, '') FROM prospect",
		"call_session":       "SELECT count(*) || ' ' || coalesce(max(updated_at)::text, '') FROM call_session",
		"objection_response": "SELECT count(*)::text FROM objection_response",
		"call_outcome":       "SELECT count(*)::text FROM call_outcome",
		"idempotency_key":    "SELECT count(*)::text FROM idempotency_key",
	} {
		var v string
		if err := srv.DB.QueryRow(context.Background(), query).Scan(&v); err != nil {
			srv.t.Fatal(err)
		}
		out[table] = v
	}
	return out
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func readAll(t testing.TB, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
