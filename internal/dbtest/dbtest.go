// Package dbtest gives each test its own PostgreSQL database, cloned from a template
// migrated once per test binary, so tests run in parallel and never see each other's
// rows.
//
// The server is found in this order: TEST_DATABASE_URL when set; a container when
// CALLSVC_TEST_DB=container; the local server at 127.0.0.1:5432 when it answers;
// else a container started with testcontainers-go (image CALLSVC_TEST_PG_IMAGE,
// default postgres:15; see container.go). With none of them, the test binary exits
// with one sentence that says what to install or set.
//
// When a container is used, a line naming it and its 127.0.0.1 endpoint goes to
// stderr (shown by go test -v or on failure) and is appended to the file named by
// CALLSVC_TEST_REPORT, if set, so a script can show it for passing packages too.
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
	"path/filepath"
	"regexp"
	"sync"
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
	run      string // this binary's run id, in the names of every database it makes
	template string // migrated template database name
	admin    *pgxpool.Pool
	owner    *pgx.Conn // holds the run's advisory lock while the binary lives

	sharedMu sync.Mutex
	shared   []string // databases made by SharedDatabase, dropped by tearDown
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
	u, stop, desc, err := startContainer(ctx)
	switch {
	case errors.Is(err, errNoEngine) && mode == "container":
		return "", noop, fmt.Errorf("CALLSVC_TEST_DB=container but no Docker or Podman engine answers at %s: start Docker (or run make test-containers, which starts Podman), or unset CALLSVC_TEST_DB to use PostgreSQL on 127.0.0.1:5432", dockerHost())
	case errors.Is(err, errNoEngine):
		return "", noop, fmt.Errorf("no PostgreSQL for the tests: nothing answers on 127.0.0.1:5432 and no Docker or Podman engine at %s; start PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), set TEST_DATABASE_URL=postgres://..., or start Docker (with Podman: make test-containers)", dockerHost())
	case err != nil:
		return "", noop, err
	}
	report(desc)
	return u, stop, nil
}

// report writes line to stderr and appends it, with the package directory, to the
// file named by CALLSVC_TEST_REPORT when that is set.
func report(line string) {
	fmt.Fprintln(os.Stderr, "dbtest:", line)
	name := os.Getenv("CALLSVC_TEST_REPORT")
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbtest: report:", err)
		return
	}
	defer f.Close()
	wd, _ := os.Getwd() // go test runs the binary in the package directory
	fmt.Fprintf(f, "dbtest: %s: %s\n", packageDir(wd), line)
}

// packageDir returns dir relative to the module root (the nearest go.mod above).
func packageDir(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if rel, err := filepath.Rel(d, dir); err == nil {
				return "./" + filepath.ToSlash(rel)
			}
			return dir
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

func ping(ctx context.Context, dsn string) error {
	// Generous: on a loaded 2-core machine a healthy local server can take seconds.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
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
	server.run = randomSuffix()
	if server.owner, err = claimRun(ctx, adminURL, server.run); err != nil {
		return err
	}
	dropOrphans(ctx)
	server.template = "callsvc_template_" + server.run
	m, err := migrate.New(WithDatabase(adminURL, server.template), io.Discard)
	if err != nil {
		return err
	}
	if _, err := m.Up(ctx); err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	return nil
}

func tearDown() {
	if server.admin == nil {
		return
	}
	for _, name := range append(server.shared, server.template) {
		if err := dropDatabase(name); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	server.admin.Close()
	_ = server.owner.Close(ctx)
}

// runLockKey is the advisory lock a test binary holds for its whole life; a run
// whose lock is free has ended without cleaning up (a panic, a kill).
const runLockKey = "SELECT hashtextextended('callsvc_test_run_' || $1, 0)"

// claimRun opens the connection that holds this run's advisory lock.
func claimRun(ctx context.Context, adminURL, run string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(("+runLockKey+"))", run); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("claim test run: %w", err)
	}
	return conn, nil
}

// orphanName matches the databases test binaries make, capturing their run id.
var orphanName = regexp.MustCompile(`^callsvc_(?:template|test)_([0-9a-f]{12})`)

// dropOrphans drops the databases of runs that ended without cleaning up: their
// run's lock is free. Databases of runs still going are left alone.
func dropOrphans(ctx context.Context) {
	rows, err := server.admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'callsvc\_%'`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	byRun := map[string][]string{}
	for _, name := range names {
		if m := orphanName.FindStringSubmatch(name); m != nil && m[1] != server.run {
			byRun[m[1]] = append(byRun[m[1]], name)
		}
	}
	for run, dbs := range byRun {
		var free bool
		if err := server.owner.QueryRow(ctx, "SELECT pg_try_advisory_lock(("+runLockKey+"))", run).Scan(&free); err != nil || !free {
			continue
		}
		for _, name := range dbs {
			if _, err := server.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err == nil {
				fmt.Fprintln(os.Stderr, "dbtest: dropped", name, "left by a run that did not clean up")
			}
		}
		_, _ = server.owner.Exec(ctx, "SELECT pg_advisory_unlock(("+runLockKey+"))", run)
	}
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

// NewMissingDatabase returns the URL of a database that does not exist yet, on
// the test server, for tests of what creates it; dropped when t ends if it
// exists then.
func NewMissingDatabase(t testing.TB) string {
	t.Helper()
	if server.admin == nil {
		t.Fatal("dbtest: call dbtest.Main(m) from this package's TestMain")
	}
	name := "callsvc_test_" + server.run + "_" + randomSuffix()
	t.Cleanup(func() {
		if err := dropDatabase(name); err != nil {
			t.Error(err)
		}
	})
	return WithDatabase(server.adminURL, name)
}

func newDatabase(t testing.TB, template string) string {
	t.Helper()
	name, err := createDatabase(template)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(name); err != nil {
			t.Error(err)
		}
	})
	return WithDatabase(server.adminURL, name)
}

// SharedDatabase creates a migrated database that lives as long as the test
// binary, for Example functions, which have no *testing.T to clean up after;
// Main drops it when the tests end.
func SharedDatabase() (string, error) {
	name, err := createDatabase(server.template)
	if err != nil {
		return "", err
	}
	server.sharedMu.Lock()
	server.shared = append(server.shared, name)
	server.sharedMu.Unlock()
	return WithDatabase(server.adminURL, name), nil
}

func createDatabase(template string) (string, error) {
	if server.admin == nil {
		return "", errors.New("dbtest: call dbtest.Main(m) from this package's TestMain")
	}
	name := "callsvc_test_" + server.run + "_" + randomSuffix()
	sql := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize())
	if _, err := server.admin.Exec(context.Background(), sql); err != nil {
		return "", fmt.Errorf("dbtest: create database: %w", err)
	}
	return name, nil
}

func dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := server.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dbtest: drop database %s: %w", name, err)
	}
	return nil
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
