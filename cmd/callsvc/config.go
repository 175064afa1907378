package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/callsvc?sslmode=disable"

// config is what the environment says; flags add per-command settings.
type config struct {
	DatabaseURL  string
	PoolMaxConns int32
	LogLevel     slog.Level
	// PprofAddr, when set, serves net/http/pprof there (keep it on loopback).
	PprofAddr string
	// CursorKey, when set, signs list cursors instead of the key the migrations
	// stored in the database (server_secret); every server must have the same.
	CursorKey []byte
}

// minCursorKeyLen is the shortest CALLSVC_CURSOR_KEY taken: 32 bytes, the size
// of the HMAC-SHA256 key it becomes.
const minCursorKeyLen = 32

func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		DatabaseURL:  cmp.Or(getenv("DATABASE_URL"), defaultDatabaseURL),
		PoolMaxConns: 32, // measured: beat 16 and 24 for 32 clients on 2 cores (bench/README.md)
		PprofAddr:    getenv("CALLSVC_PPROF_ADDR"),
	}
	if u, err := url.Parse(cfg.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return config{}, fmt.Errorf("DATABASE_URL must be a postgres:// URL, got %q", redact(cfg.DatabaseURL))
	}
	if v := getenv("CALLSVC_POOL_MAX_CONNS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 || n > 1000 {
			return config{}, fmt.Errorf("CALLSVC_POOL_MAX_CONNS must be a number from 1 to 1000, got %q", v)
		}
		cfg.PoolMaxConns = int32(n)
	}
	if v := getenv("CALLSVC_CURSOR_KEY"); v != "" {
		if len(v) < minCursorKeyLen {
			return config{}, fmt.Errorf("CALLSVC_CURSOR_KEY must be at least %d characters (e.g. openssl rand -base64 32), got %d", minCursorKeyLen, len(v))
		}
		cfg.CursorKey = []byte(v)
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(strings.ToLower(v))); err != nil {
			return config{}, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", v)
		}
	}
	return cfg, nil
}

// redact hides a password in a database URL before it is shown anywhere.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
