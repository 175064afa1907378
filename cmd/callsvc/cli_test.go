package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
)

// runMain runs this test binary as the callsvc program (see TestMain), so the
// exit code and stderr are the real ones.
func runMain(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), append(env, "CALLSVC_TEST_RUN_MAIN=1")...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestCLI(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewDatabase(t)

	t.Run("OrgCreatePrintsOneJSONObject", func(t *testing.T) {
		out, errOut, code := runMain(t, []string{"DATABASE_URL=" + dbURL}, "org", "create", "--name", "Acme")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		dec := json.NewDecoder(strings.NewReader(out))
		var o map[string]string
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("stdout %q: %v", out, err)
		}
		if dec.More() {
			t.Fatalf("more than one JSON value on stdout: %q", out)
		}
		if o["organizationId"] == "" || o["name"] != "Acme" || !strings.HasPrefix(o["apiKey"], "csk_") || o["keyId"] == "" || len(o) != 4 {
			t.Fatalf("org create printed %v", o)
		}
		// The first key can be revoked like any other.
		if _, errOut, code := runMain(t, []string{"DATABASE_URL=" + dbURL}, "key", "revoke", "--id", o["keyId"]); code != 0 {
			t.Fatalf("revoke the first key: exit %d: %s", code, errOut)
		}
	})

	for name, tc := range map[string]struct {
		env      []string
		args     []string
		wantCode int
		wantText string
	}{
		"UnreachableDatabase": {[]string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/callsvc?sslmode=disable"}, []string{"org", "create", "--name", "x"}, 1, "does not answer"},
		"MissingDatabase":     {[]string{"DATABASE_URL=" + dbtest.WithDatabase(dbURL, "callsvc_no_such_db")}, []string{"org", "create", "--name", "x"}, 1, "does not answer"},
		"NotAURL":             {[]string{"DATABASE_URL=mysql://x"}, []string{"org", "create", "--name", "x"}, 1, "DATABASE_URL"},
		"ServeUnreachable":    {[]string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/callsvc?sslmode=disable"}, []string{"serve", "--addr", "127.0.0.1:0"}, 1, "does not answer"},
		"BadFlag":             {nil, []string{"serve", "--port", "1"}, 2, "flag provided but not defined"},
		"UnknownCommand":      {nil, []string{"frobnicate"}, 2, "unknown command"},
		"BadOrgID":            {[]string{"DATABASE_URL=" + dbURL}, []string{"key", "create", "--org", "nope"}, 2, "--org"},
		"BadPoolSize":         {[]string{"CALLSVC_POOL_MAX_CONNS=lots"}, []string{"serve"}, 1, "CALLSVC_POOL_MAX_CONNS"},
		"BadTracesExporter":   {[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER=zipkin"}, []string{"serve", "--addr", "127.0.0.1:0"}, 1, "OTEL_TRACES_EXPORTER must be otlp or none"},
		"GRPCNotBuiltIn":      {[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"}, []string{"serve", "--addr", "127.0.0.1:0"}, 1, "only http/protobuf"},
		"EndpointNotAURL":     {[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=127.0.0.1:4318"}, []string{"serve", "--addr", "127.0.0.1:0"}, 1, "OTEL_EXPORTER_OTLP_ENDPOINT must be an http"},
		"ShortCursorKey":      {[]string{"CALLSVC_CURSOR_KEY=short"}, []string{"serve"}, 1, "CALLSVC_CURSOR_KEY"},
		"BadExecMode":         {[]string{"CALLSVC_QUERY_EXEC_MODE=describe_exec"}, []string{"serve"}, 1, "must be cache_statement or exec"},
		"ExecModesDisagree":   {[]string{"CALLSVC_QUERY_EXEC_MODE=exec", "DATABASE_URL=" + dbURL + "&default_query_exec_mode=cache_statement"}, []string{"serve"}, 1, "set one of them"},
		"BadDrain":            {[]string{"CALLSVC_SHUTDOWN_DRAIN=forever"}, []string{"serve"}, 1, "CALLSVC_SHUTDOWN_DRAIN"},
		"BadDirectURL":        {[]string{"CALLSVC_DIRECT_DATABASE_URL=mysql://x"}, []string{"migrate"}, 1, "CALLSVC_DIRECT_DATABASE_URL"},
		"BadWebhookKey":       {[]string{"CALLSVC_WEBHOOK_SECRET_KEY=c2hvcnQ="}, []string{"serve"}, 1, "CALLSVC_WEBHOOK_SECRET_KEY must be 32 random bytes"},
		"BadAllowPrivate":     {[]string{"CALLSVC_WEBHOOK_ALLOW_PRIVATE=yes"}, []string{"serve"}, 1, "CALLSVC_WEBHOOK_ALLOW_PRIVATE"},
		"BadRetryMin":         {[]string{"CALLSVC_WEBHOOK_RETRY_MIN=5"}, []string{"serve"}, 1, "CALLSVC_WEBHOOK_RETRY_MIN"},
		"BadWebhookWorkers":   {[]string{"CALLSVC_WEBHOOK_WORKERS=0"}, []string{"serve"}, 1, "CALLSVC_WEBHOOK_WORKERS"},
		"BadPollOnly":         {[]string{"CALLSVC_WEBHOOK_POLL_ONLY=sometimes"}, []string{"serve"}, 1, "CALLSVC_WEBHOOK_POLL_ONLY"},
		"BadRole":             {nil, []string{"serve", "--role", "both"}, 2, "--role must be all, api or workers"},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := runMain(t, tc.env, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			if out != "" {
				t.Fatalf("stdout %q, want nothing", out)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.wantText) || strings.Contains(errOut, "goroutine") {
				t.Fatalf("stderr %q, want one line mentioning %q", errOut, tc.wantText)
			}
		})
	}

	t.Run("ServePortInUse", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		start := time.Now()
		_, errOut, code := runMain(t, []string{"DATABASE_URL=" + dbURL}, "serve", "--addr", ln.Addr().String())
		if code != 1 || !strings.Contains(errOut, "listen on") || time.Since(start) > 5*time.Second {
			t.Fatalf("exit %d after %v: %q", code, time.Since(start), errOut)
		}
	})
}

// TestKeyRevoke: a revoked key is refused within one second.
func TestKeyRevoke(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := srv.newOrg("Acme")
	out := cli(t, srv.DBURL, "key", "create", "--org", a.ID)
	var k struct {
		KeyID  string `json:"keyId"`
		APIKey string `json:"apiKey"`
	}
	if err := json.Unmarshal([]byte(out), &k); err != nil || k.KeyID == "" {
		t.Fatalf("key create printed %q: %v", out, err)
	}
	if res, _ := srv.raw("GET", "/v1/prospects", "", "", k.APIKey); res.StatusCode != http.StatusOK {
		t.Fatalf("new key: %d", res.StatusCode)
	}
	cli(t, srv.DBURL, "key", "revoke", "--id", k.KeyID)
	revoked := time.Now()
	for {
		res, body := srv.raw("GET", "/v1/prospects", "", "", k.APIKey)
		if res.StatusCode == http.StatusUnauthorized {
			problemOf(t, res, body, http.StatusUnauthorized, "unauthorized")
			break
		}
		if time.Since(revoked) > time.Second {
			t.Fatalf("revoked key still accepted after %v", time.Since(revoked))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The organization's first key still works.
	if res, _ := srv.raw("GET", "/v1/prospects", "", "", a.Key); res.StatusCode != http.StatusOK {
		t.Fatalf("other key: %d", res.StatusCode)
	}
}

// TestGracefulShutdown: a request in flight when the server is told to stop
// still gets its answer, and run returns nil.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewDatabase(t)
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	logs := &syncBuffer{}
	addrc := make(chan string, 1)
	stopping := make(chan struct{})
	logs.onLine = func(line string) {
		if m := listeningLine.FindStringSubmatch(line); m != nil {
			addrc <- m[1]
		}
		if strings.Contains(line, `"msg":"shutting down"`) {
			close(stopping)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, getenv, nil, logs) }()
	addr := <-addrc
	var o struct {
		APIKey string `json:"apiKey"`
	}
	if err := json.Unmarshal([]byte(cli(t, dbURL, "org", "create", "--name", "Acme")), &o); err != nil {
		t.Fatal(err)
	}

	// A slow client: headers sent, body still coming when shutdown starts. With
	// Expect: 100-continue the server says when the handler starts reading the
	// body, so the request is surely in flight before the stop.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"x"}`
	if _, err := conn.Write([]byte("POST /v1/prospects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + o.APIKey + "\r\nContent-Type: application/json\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	continued, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(continued, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q, %v", continued, err)
	}
	if _, err := r.ReadString('\n'); err != nil { // the blank line that ends it
		t.Fatal(err)
	}
	// A connection the server has not accepted yet is dropped when the listener
	// closes. Connections are accepted in order: once a later one is answered,
	// the slow one has been accepted (on a busy machine that can take a while).
	if res, err := http.Get("http://" + addr + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	cancel()
	<-stopping // the server has begun to shut down: now the body arrives
	if _, err := conn.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, _ := r.ReadString('\n')
	if !strings.HasPrefix(status, "HTTP/1.1 201") {
		t.Fatalf("in-flight request got %q", status)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(12 * time.Second):
		t.Fatal("run did not return after shutdown")
	}
}

// TestShutdownDrain: with CALLSVC_SHUTDOWN_DRAIN, a server told to stop first
// answers /readyz 503 while it still serves requests (asking clients to close
// their connections), then stops, and run returns nil.
func TestShutdownDrain(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": dbURL, "CALLSVC_SHUTDOWN_DRAIN": "3s"}
	logs := &syncBuffer{}
	addrc := make(chan string, 1)
	draining, stopping := make(chan struct{}), make(chan struct{})
	logs.onLine = func(line string) {
		if m := listeningLine.FindStringSubmatch(line); m != nil {
			addrc <- m[1]
		}
		switch {
		case strings.Contains(line, `"msg":"draining`):
			close(draining)
		case strings.Contains(line, `"msg":"shutting down"`):
			close(stopping)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, nil, logs)
	}()
	srv := &testServer{t: t, URL: "http://" + <-addrc, router: specRouter(t)}
	o := org{Key: newOrgKey(t, dbURL)}

	res, _ := srv.raw("GET", "/readyz", "", "", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	cancel()
	<-draining
	res, body := srv.raw("GET", "/readyz", "", "", "")
	p := problemOf(t, res, body, http.StatusServiceUnavailable, "service_unavailable")
	require.Contains(t, p.Detail, "shutting down")
	require.Equal(t, "1", res.Header.Get("Retry-After"))
	res, _ = srv.raw("GET", "/v1/prospects", "", "", o.Key)
	require.Equal(t, http.StatusOK, res.StatusCode, "still serving while draining")
	require.True(t, res.Close, "asks the client to close the connection")
	select {
	case <-stopping:
		t.Fatal("stopped accepting before the drain ended")
	default:
	}
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after the drain")
	}
	_, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.URL, "http://"), time.Second)
	require.Error(t, err, "the listener is closed")
}

// newOrgKey creates an organization through the CLI and returns its API key.
func newOrgKey(t *testing.T, dbURL string) string {
	t.Helper()
	var o struct {
		APIKey string `json:"apiKey"`
	}
	require.NoError(t, json.Unmarshal([]byte(cli(t, dbURL, "org", "create", "--name", "Acme")), &o))
	return o.APIKey
}
