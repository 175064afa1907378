package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
)

// The test binary doubles as the command scratchdb runs: with SCRATCHDB_HELPER set
// it records what it saw of the scratch database and exits with the code asked for.
func TestMain(m *testing.M) {
	if os.Getenv("SCRATCHDB_HELPER") == "1" {
		os.Exit(helper())
	}
	dbtest.Main(m)
}

// helper writes "<database url> <number of public tables>" to $SCRATCHDB_HELPER_OUT
// and exits with $SCRATCHDB_HELPER_EXIT.
func helper() int {
	ctx := context.Background()
	dsn := os.Getenv("SCRATCH_DATABASE_URL")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 100
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 100
	}
	if err := os.WriteFile(os.Getenv("SCRATCHDB_HELPER_OUT"), fmt.Appendf(nil, "%s %d", dsn, tables), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 100
	}
	if os.Getenv("SCRATCHDB_HELPER_EXIT") == "wait" { // until a signal ends us
		time.Sleep(time.Minute)
		return 101
	}
	code, _ := strconv.Atoi(os.Getenv("SCRATCHDB_HELPER_EXIT"))
	return code
}

type testBundle struct {
	admin string // URL of a database on the test server
	out   string // where the helper writes what it saw
}

func setup(t *testing.T, exitCode string) *testBundle {
	t.Helper()
	b := &testBundle{
		admin: dbtest.NewUnmigratedDatabase(t),
		out:   filepath.Join(t.TempDir(), "seen"),
	}
	t.Setenv("SCRATCHDB_HELPER", "1")
	t.Setenv("SCRATCHDB_HELPER_OUT", b.out)
	t.Setenv("SCRATCHDB_HELPER_EXIT", exitCode)
	return b
}

// seen returns the database name and table count the helper reported.
func (b *testBundle) seen(t *testing.T) (name string, tables int) {
	t.Helper()
	raw, err := os.ReadFile(b.out)
	require.NoError(t, err)
	dsn, count, ok := strings.Cut(string(raw), " ")
	require.True(t, ok, "helper output %q", raw)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	tables, err = strconv.Atoi(count)
	require.NoError(t, err)
	return strings.TrimPrefix(u.Path, "/"), tables
}

func (b *testBundle) databaseExists(t *testing.T, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.admin)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var exists bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists))
	return exists
}

func publicTables(t *testing.T, dsn string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n))
	return n
}

func TestRun(t *testing.T) {
	// Not parallel: t.Setenv hands the helper its instructions.

	t.Run("MigratesRunsAndDrops", func(t *testing.T) {
		b := setup(t, "0")
		var stderr bytes.Buffer
		err := run([]string{"-admin", b.admin, "--", os.Args[0]}, os.Getenv, &stderr)
		require.NoError(t, err, stderr.String())

		name, tables := b.seen(t)
		require.True(t, strings.HasPrefix(name, "callsvc_scratch_"), name)
		require.Equal(t, publicTables(t, dbtest.NewDatabase(t)), tables, "as many tables as a migrated test database")
		require.False(t, b.databaseExists(t, name), "scratch database left behind")
	})

	t.Run("PassesOnExitCodeAndStillDrops", func(t *testing.T) {
		b := setup(t, "3")
		var stderr bytes.Buffer
		err := run([]string{"-admin", b.admin, "--", os.Args[0]}, os.Getenv, &stderr)
		require.Equal(t, exitError{3}, err)

		name, _ := b.seen(t)
		require.False(t, b.databaseExists(t, name), "scratch database left behind")
	})

	t.Run("InterruptedStillDrops", func(t *testing.T) {
		b := setup(t, "wait")
		go func() {
			// Once the helper has reported, run is catching signals.
			for {
				if _, err := os.Stat(b.out); err == nil {
					_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		var stderr bytes.Buffer
		err := run([]string{"-admin", b.admin, "--", os.Args[0]}, os.Getenv, &stderr)
		require.Equal(t, interrupted{syscall.SIGTERM}, err)

		name, _ := b.seen(t)
		require.False(t, b.databaseExists(t, name), "scratch database left behind")
	})

	t.Run("NoCommand", func(t *testing.T) {
		var stderr bytes.Buffer
		err := run(nil, os.Getenv, &stderr)
		require.ErrorContains(t, err, "no command given")
		require.Contains(t, stderr.String(), "usage: scratchdb")
	})
}
