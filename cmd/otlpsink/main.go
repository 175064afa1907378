// Command otlpsink receives OpenTelemetry traces over OTLP/HTTP and discards
// them, counting what came: a stand-in collector where Debian packages none.
// make test-prometheus sends callsvc's spans to it, and it is the "endpoint that
// discards" for measuring callsvc with tracing on (bench/README.md).
//
//	go run ./cmd/otlpsink [-addr 127.0.0.1:4318] [-count=false]
//
// It answers POST /v1/traces (protobuf, gzip or not) with 200 and an empty
// ExportTraceServiceResponse, and GET /stats with {"requests": N, "spans": M}
// (spans stay 0 with -count=false, which skips decoding to keep the sink's CPU
// out of a benchmark). It prints "otlpsink: listening on HOST:PORT" once it
// accepts, and stops on SIGINT or SIGTERM.
package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "otlpsink:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("otlpsink", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:4318", "where to listen, HOST:PORT (port 0: any free one)")
	count := fs.Bool("count", true, "decode each export to count its spans")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	s := &sink{count: *count}
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "otlpsink: listening on %s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// sink counts the exports it discards.
type sink struct {
	count    bool
	requests atomic.Int64
	spans    atomic.Int64
}

func (s *sink) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", s.traces)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int64{"requests": s.requests.Load(), "spans": s.spans.Load()})
	})
	return mux
}

func (s *sink) traces(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer gz.Close()
		body = gz
	}
	if !s.count {
		_, _ = io.Copy(io.Discard, body)
		s.requests.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		return
	}
	raw, err := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(raw, &req)
	}
	if err != nil {
		http.Error(w, "not an OTLP protobuf trace export: "+err.Error(), http.StatusBadRequest)
		return
	}
	var n int64
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			n += int64(len(ss.GetSpans()))
		}
	}
	s.requests.Add(1)
	s.spans.Add(n)
	w.Header().Set("Content-Type", "application/x-protobuf")
}
