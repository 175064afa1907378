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

	"github.com/callsvc/callsvc/internal/secretbox"
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
	{"CALLSVC_WEBHOOK_SECRET_KEY", "", "32 random bytes in base64 (openssl rand -base64 32) sealing webhook secrets, the same on every server; when unset, a public development key"},
	{"CALLSVC_WEBHOOK_ALLOW_PRIVATE", "false", "true lets webhooks reach loopback, private and link-local addresses (development and tests only)"},
	{"CALLSVC_WEBHOOK_RETRY_MIN", "5s", "wait before a failed webhook delivery's first retry; each next wait doubles, at most 1h"},
	{"CALLSVC_WEBHOOK_WORKERS", "10", "webhook delivery attempts serve makes at once"},
	{"CALLSVC_WEBHOOK_POLL_ONLY", "false", "true: River polls instead of LISTEN/NOTIFY (for PgBouncer in transaction mode)"},
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
	Webhooks  webhookConfig
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

func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		DatabaseURL: env(getenv, "DATABASE_URL"),
		PprofAddr:   env(getenv, "CALLSVC_PPROF_ADDR"),
	}
	if u, err := url.Parse(cfg.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return config{}, fmt.Errorf("DATABASE_URL must be a postgres:// URL, got %q", redact(cfg.DatabaseURL))
	}
	v := env(getenv, "CALLSVC_POOL_MAX_CONNS")
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 1 || n > 1000 {
		return config{}, fmt.Errorf("CALLSVC_POOL_MAX_CONNS must be a number from 1 to 1000, got %q", v)
	}
	cfg.PoolMaxConns = int32(n)
	if v := env(getenv, "LOG_LEVEL"); cfg.LogLevel.UnmarshalText([]byte(strings.ToLower(v))) != nil {
		return config{}, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", v)
	}
	if cfg.Webhooks, err = loadWebhookConfig(getenv); err != nil {
		return config{}, err
	}
	return cfg, nil
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
