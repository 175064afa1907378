package main

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
)

func TestServePprof(t *testing.T) {
	t.Parallel()
	addr, stop, err := servePprof("127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := http.Get("http://" + addr.String() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("pprof answered %d", res.StatusCode)
	}
	if _, _, err := servePprof(addr.String(), slog.Default()); err == nil {
		t.Fatal("a second listener on the same address must fail")
	}
}
