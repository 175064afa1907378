package main

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/callsvc/callsvc/internal/secretbox"
	"github.com/callsvc/callsvc/internal/telemetry"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/callsvc?sslmode=disable"

// setting is an environment variable callsvc reads. `callsvc help` lists them,
// and TestSettingsMatchREADME holds README's Configuration table to this list.
type setting struct {
	name string
	def  string // "" when unset by default
	help string
}

var settings = []setting{
	{"DATABASE_URL", defaultDatabaseURL, "PostgreSQL URL, for every command"},
	// 32 beat 16 and 24 for 32 clients on 2 cores (bench/README.md).
	{"CALLSVC_POOL_MAX_CONNS", "32", "connections serve keeps to PostgreSQL at most"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"CALLSVC_PPROF_ADDR", "", "serve Go's runtime profiles there too (keep it on loopback)"},
	{"CALLSVC_DIRECT_DATABASE_URL", "", "PostgreSQL itself when DATABASE_URL is a transaction pooler: migrations need a session"},
	{"CALLSVC_QUERY_EXEC_MODE", "cache_statement", "cache_statement, or exec behind a transaction pooler (PgBouncer before 1.21)"},
	{"CALLSVC_SHUTDOWN_DRAIN", "0s", "on SIGTERM, serve this long with /readyz 503 before it stops accepting"},
	{"CALLSVC_CURSOR_KEY", "", "key (32+ characters) that signs list cursors, the same on every server; unset, a random key the migrations keep in the database"},
	// Tracing is off unless an endpoint is set; the SDK reads the rest of the
	// OTEL_* environment itself (README, Tracing).
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "", "serve traces requests and sends the spans there by OTLP/HTTP (its /v1/traces)"},
	{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", "the same, as the full URL for traces; wins over OTEL_EXPORTER_OTLP_ENDPOINT"},
	{"OTEL_TRACES_EXPORTER", "", "otlp (what an endpoint means) or none (tracing off even with one)"},
	{"OTEL_EXPORTER_OTLP_PROTOCOL", "", "http/protobuf, the only one built in; serve refuses another"},
	{"CALLSVC_WEBHOOK_SECRET_KEY", "", "32 random bytes in base64 (openssl rand -base64 32) sealing webhook secrets, the same on every server; when unset, a public development key"},
	{"CALLSVC_WEBHOOK_ALLOW_PRIVATE", "false", "true lets webhooks reach loopback, private and link-local addresses (development and tests only)"},
	{"CALLSVC_WEBHOOK_RETRY_MIN", "5s", "wait before a failed webhook delivery's first retry; each next wait doubles, at most 1h"},
	{"CALLSVC_WEBHOOK_WORKERS", "10", "webhook delivery attempts serve makes at once"},
	{"CALLSVC_WEBHOOK_POLL_ONLY", "false", "true: River polls instead of LISTEN/NOTIFY (it does behind a pooler: CALLSVC_DIRECT_DATABASE_URL set apart)"},
}

// devWebhookKey seals webhook secrets when CALLSVC_WEBHOOK_SECRET_KEY is unset,
// so `make run` needs no setting. It is public: serve warns when it is used.
var devWebhookKey = []byte("callsvc-development-only-key-v1!")

// env returns the setting's value, or its default.
func env(getenv func(string) string, name string) string {
	for _, s := range settings {
		if s.name == name {
			return cmp.Or(getenv(name), s.def)
		}
	}
	panic("callsvc: unknown setting " + name)
}

// config is what the environment says; flags add per-command settings.
type config struct {
	DatabaseURL  string
	PoolMaxConns int32
	LogLevel     slog.Level
	// PprofAddr, when set, serves net/http/pprof there (keep it on loopback).
	PprofAddr string
	// Tracing is read here and checked by serve, which alone traces: another
	// command never fails for an OTEL_* variable meant for something else.
	Tracing telemetry.Config
	// CursorKey, when set, signs list cursors instead of the key the migrations
	// stored in the database (server_secret); every server must have the same.
	CursorKey []byte
	// DirectDatabaseURL reaches PostgreSQL itself, never a transaction pooler:
	// migrations hold a session-level lock on it. DatabaseURL when unset.
	DirectDatabaseURL string
	// QueryExecMode is pgx's: the statement cache, or unnamed statements that a
	// transaction pooler without prepared-statement support can carry.
	QueryExecMode pgx.QueryExecMode
	// ShutdownDrain is how long serve goes on serving after SIGTERM, with
	// /readyz answering 503, so a load balancer stops sending it requests
	// before it stops accepting them.
	ShutdownDrain time.Duration
	Webhooks      webhookConfig
}

// webhookConfig is how serve delivers webhooks.
type webhookConfig struct {
	SecretKey    []byte
	DevKey       bool // SecretKey is devWebhookKey
	AllowPrivate bool
	RetryMin     time.Duration
	Workers      int
	PollOnly     bool
}

// minCursorKeyLen is the shortest CALLSVC_CURSOR_KEY taken: 32 bytes, the size
// of the HMAC-SHA256 key it becomes.
const minCursorKeyLen = 32

// Query exec modes callsvc is tested with (pgx knows more).
var queryExecModes = map[string]pgx.QueryExecMode{
	"cache_statement": pgx.QueryExecModeCacheStatement,
	"exec":            pgx.QueryExecModeExec,
}

// maxShutdownDrain bounds CALLSVC_SHUTDOWN_DRAIN: balancers notice in seconds.
const maxShutdownDrain = time.Minute

func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		DatabaseURL: env(getenv, "DATABASE_URL"),
		PprofAddr:   env(getenv, "CALLSVC_PPROF_ADDR"),
		Tracing: telemetry.Config{
			Endpoint:       env(getenv, "OTEL_EXPORTER_OTLP_ENDPOINT"),
			TracesEndpoint: env(getenv, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
			Exporter:       env(getenv, "OTEL_TRACES_EXPORTER"),
			Protocol:       env(getenv, "OTEL_EXPORTER_OTLP_PROTOCOL"),
		},
	}
	cfg.DirectDatabaseURL = cmp.Or(env(getenv, "CALLSVC_DIRECT_DATABASE_URL"), cfg.DatabaseURL)
	dbURL, err := parseDatabaseURL("DATABASE_URL", cfg.DatabaseURL)
	if err != nil {
		return config{}, err
	}
	if _, err := parseDatabaseURL("CALLSVC_DIRECT_DATABASE_URL", cfg.DirectDatabaseURL); err != nil {
		return config{}, err
	}
	if cfg.QueryExecMode, err = queryExecMode(getenv, dbURL); err != nil {
		return config{}, err
	}
	drain := env(getenv, "CALLSVC_SHUTDOWN_DRAIN")
	if cfg.ShutdownDrain, err = time.ParseDuration(drain); err != nil || cfg.ShutdownDrain < 0 || cfg.ShutdownDrain > maxShutdownDrain {
		return config{}, fmt.Errorf("CALLSVC_SHUTDOWN_DRAIN must be a duration from 0s to %s, such as 5s, got %q", maxShutdownDrain, drain)
	}
	v := env(getenv, "CALLSVC_POOL_MAX_CONNS")
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 1 || n > 1000 {
		return config{}, fmt.Errorf("CALLSVC_POOL_MAX_CONNS must be a number from 1 to 1000, got %q", v)
	}
	cfg.PoolMaxConns = int32(n)
	if v := env(getenv, "CALLSVC_CURSOR_KEY"); v != "" {
		if len(v) < minCursorKeyLen {
			return config{}, fmt.Errorf("CALLSVC_CURSOR_KEY must be at least %d characters (e.g. openssl rand -base64 32), got %d", minCursorKeyLen, len(v))
		}
		cfg.CursorKey = []byte(v)
	}
	if v := env(getenv, "LOG_LEVEL"); cfg.LogLevel.UnmarshalText([]byte(strings.ToLower(v))) != nil {
		return config{}, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", v)
	}
	if cfg.Webhooks, err = loadWebhookConfig(getenv); err != nil {
		return config{}, err
	}
	return cfg, nil
}

func parseDatabaseURL(name, dsn string) (*url.URL, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL, got %q", name, redact(dsn))
	}
	return u, nil
}

// queryExecMode reads CALLSVC_QUERY_EXEC_MODE, or pgx's default_query_exec_mode
// in DATABASE_URL, which says the same: when both are given they must agree.
func queryExecMode(getenv func(string) string, dbURL *url.URL) (pgx.QueryExecMode, error) {
	fromEnv, fromURL := getenv("CALLSVC_QUERY_EXEC_MODE"), dbURL.Query().Get("default_query_exec_mode")
	if fromEnv != "" && fromURL != "" && fromEnv != fromURL {
		return 0, fmt.Errorf("CALLSVC_QUERY_EXEC_MODE is %q but DATABASE_URL says default_query_exec_mode=%s: set one of them", fromEnv, fromURL)
	}
	name := cmp.Or(fromEnv, fromURL, env(getenv, "CALLSVC_QUERY_EXEC_MODE"))
	mode, ok := queryExecModes[name]
	if !ok {
		return 0, fmt.Errorf("CALLSVC_QUERY_EXEC_MODE (or default_query_exec_mode in DATABASE_URL) must be cache_statement or exec, got %q", name)
	}
	return mode, nil
}

func loadWebhookConfig(getenv func(string) string) (webhookConfig, error) {
	w := webhookConfig{SecretKey: devWebhookKey, DevKey: true}
	if v := env(getenv, "CALLSVC_WEBHOOK_SECRET_KEY"); v != "" {
		key, err := secretbox.ParseKey(v)
		if err != nil {
			// The value is a secret: never shown.
			return webhookConfig{}, errors.New("CALLSVC_WEBHOOK_SECRET_KEY must be 32 random bytes in standard base64 (openssl rand -base64 32)")
		}
		w.SecretKey, w.DevKey = key, false
	}
	var err error
	if w.AllowPrivate, err = parseBool(getenv, "CALLSVC_WEBHOOK_ALLOW_PRIVATE"); err != nil {
		return webhookConfig{}, err
	}
	if w.PollOnly, err = parseBool(getenv, "CALLSVC_WEBHOOK_POLL_ONLY"); err != nil {
		return webhookConfig{}, err
	}
	v := env(getenv, "CALLSVC_WEBHOOK_RETRY_MIN")
	if w.RetryMin, err = time.ParseDuration(v); err != nil || w.RetryMin <= 0 || w.RetryMin > time.Hour {
		return webhookConfig{}, fmt.Errorf("CALLSVC_WEBHOOK_RETRY_MIN must be a duration from 1ms to 1h (like 5s), got %q", v)
	}
	v = env(getenv, "CALLSVC_WEBHOOK_WORKERS")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return webhookConfig{}, fmt.Errorf("CALLSVC_WEBHOOK_WORKERS must be a number from 1 to 1000, got %q", v)
	}
	w.Workers = n
	return w, nil
}

func parseBool(getenv func(string) string, name string) (bool, error) {
	v := env(getenv, name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be true or false, got %q", name, v)
	}
	return b, nil
}

// redact hides a password in a database URL before it is shown anywhere.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
