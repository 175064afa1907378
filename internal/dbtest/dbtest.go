// Package dbtest gives each test its own PostgreSQL database, cloned from a template
// migrated once per test binary, so tests run in parallel and never see each other's
// rows.
//
// The server is found in this order: TEST_DATABASE_URL when set; a container when
// CALLSVC_TEST_DB=container; the local server at 127.0.0.1:5432 when it answers;
// else a container started with testcontainers-go (image CALLSVC_TEST_PG_IMAGE,
// default postgres:15). With none of them, the test binary exits with one sentence
// that says what to install or set.
//
// A package that uses it calls Main from its TestMain.
package dbtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callsvc/callsvc/internal/migrate"
)

const localURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// server is the PostgreSQL server of this test binary, set up by Main.
var server struct {
	adminURL string // a database on the server to run CREATE/DROP DATABASE from
	template string // migrated template database name
	admin    *pgxpool.Pool
}

// Main finds a server, migrates a template database, runs the tests and removes
// everything it created (template, container), also when tests fail.
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	adminURL, stop, err := findServer(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		return 1
	}
	defer stop()

	if err := setUp(adminURL); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		return 1
	}
	defer tearDown()
	return m.Run()
}

// findServer returns the admin URL of a server and a function that releases it.
func findServer(ctx context.Context) (string, func(), error) {
	noop := func() {}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		if err := ping(ctx, u); err != nil {
			return "", noop, fmt.Errorf("TEST_DATABASE_URL does not answer: %w", err)
		}
		return u, noop, nil
	}
	mode := os.Getenv("CALLSVC_TEST_DB")
	if mode != "container" {
		if err := ping(ctx, localURL); err == nil {
			return localURL, noop, nil
		}
	}
	u, stop, err := startContainer(ctx)
	if err != nil {
		return "", noop, fmt.Errorf("no PostgreSQL for the tests: set TEST_DATABASE_URL, start PostgreSQL on 127.0.0.1:5432, or install Docker (or Podman: make test-containers) so testcontainers-go can start one (%w)", err)
	}
	return u, stop, nil
}

func ping(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func setUp(adminURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgxpool.New(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	server.admin, server.adminURL = admin, adminURL
	server.template = "callsvc_template_" + randomSuffix()
	m, err := migrate.New(WithDatabase(adminURL, server.template), io.Discard)
	if err != nil {
		return err
	}
	if err := m.Up(); err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	return nil
}

func tearDown() {
	if server.admin == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := server.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{server.template}.Sanitize()+" WITH (FORCE)"); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest: drop template:", err)
	}
	server.admin.Close()
}

// NewDatabase creates an empty-of-rows, fully migrated database for t, dropped when
// t ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, server.template)
}

// NewUnmigratedDatabase creates a database with no tables for t (for migration
// tests), dropped when t ends, and returns its URL.
func NewUnmigratedDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "template0")
}

func newDatabase(t testing.TB, template string) string {
	t.Helper()
	if server.admin == nil {
		t.Fatal("dbtest: call dbtest.Main(m) from this package's TestMain")
	}
	name := "callsvc_test_" + randomSuffix()
	ctx := context.Background()
	sql := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize())
	if _, err := server.admin.Exec(ctx, sql); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := server.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})
	return WithDatabase(server.adminURL, name)
}

// NewPool creates a migrated database for t and returns a pool on it, closed when
// t ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), NewDatabase(t))
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// WithDatabase returns dsn pointed at database name.
func WithDatabase(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// keyword/value DSNs are not supported: the tests need URLs to rewrite
		panic(fmt.Sprintf("dbtest: database url must be postgres://..., got %q", redact(dsn)))
	}
	u.Path = "/" + name
	q := u.Query()
	q.Set("sslmode", cmp.Or(q.Get("sslmode"), "disable"))
	u.RawQuery = q.Encode()
	return u.String()
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// errNoEngine marks a failure to reach any Docker-compatible engine.
var errNoEngine = errors.New("no container engine")
