package migrate_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
	"github.com/callsvc/callsvc/internal/migrate"
	"github.com/callsvc/callsvc/sql/schema"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// tables lists the public tables of dsn, sorted.
func tables(t *testing.T, dsn string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

func TestUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := dbtest.NewUnmigratedDatabase(t)
	var log bytes.Buffer
	m, err := migrate.New(dsn, &log)
	require.NoError(t, err)

	_, err = m.Up(ctx)
	require.NoError(t, err)
	want := []string{
		"api_key", "call_outcome", "call_session", "idempotency_key", "objection_response", "organization", "prospect",
		"river_job", "river_leader", "river_migration", "river_notification", "river_queue",
		"schema_migrations", "server_secret", "webhook_delivery", "webhook_endpoint", "webhook_event",
	}
	require.Equal(t, want, tables(t, dsn))

	pending, err := m.Status()
	require.NoError(t, err)
	require.Zero(t, pending)

	// Roll every migration back: only dbmate's own table may remain.
	for {
		pendingBefore, err := m.Status()
		require.NoError(t, err)
		if err := m.Rollback(ctx); err != nil {
			require.ErrorContains(t, err, "no migrations have been applied")
			break
		}
		pendingAfter, err := m.Status()
		require.NoError(t, err)
		require.Equal(t, pendingBefore+1, pendingAfter)
	}
	require.Equal(t, []string{"schema_migrations"}, tables(t, dsn))

	applied, err := m.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, want, tables(t, dsn))
	require.Len(t, applied, migrationFiles(t))
	again, err := m.Up(ctx)
	require.NoError(t, err)
	require.Empty(t, again, "nothing left to apply")
}

func TestUpCreatesMissingDatabase(t *testing.T) {
	t.Parallel()
	missing := dbtest.NewMissingDatabase(t)
	m, err := migrate.New(missing, &bytes.Buffer{})
	require.NoError(t, err)
	_, err = m.Up(context.Background())
	require.NoError(t, err)
	require.Contains(t, tables(t, missing), "call_outcome")
}

// TestConcurrentUpAppliesEachMigrationOnce: servers started at once with
// --migrate on a database that does not exist yet all succeed, and each
// migration is applied by exactly one of them (dbmate alone would fail the
// others on the second CREATE).
func TestConcurrentUpAppliesEachMigrationOnce(t *testing.T) {
	t.Parallel()
	missing := dbtest.NewMissingDatabase(t)
	const servers = 4
	var (
		start   = make(chan struct{})
		wg      sync.WaitGroup
		applied [servers][]string
		errs    [servers]error
	)
	for i := range servers {
		wg.Go(func() {
			m, err := migrate.New(missing, io.Discard)
			if err == nil {
				<-start
				applied[i], err = m.Up(context.Background())
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	count := map[string]int{}
	for i := range servers {
		require.NoError(t, errs[i], "server %d", i)
		for _, f := range applied[i] {
			count[f]++
		}
	}
	require.Len(t, count, migrationFiles(t))
	for f, n := range count {
		require.Equal(t, 1, n, "%s applied %d times", f, n)
	}
	var rows int
	conn, err := pgx.Connect(context.Background(), missing)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&rows))
	require.Equal(t, migrationFiles(t), rows)
}

// migrationFiles counts the embedded migrations.
func migrationFiles(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(schema.FS, "*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return len(files)
}

func TestRejectsNonPostgresURL(t *testing.T) {
	t.Parallel()
	_, err := migrate.New("mysql://root@127.0.0.1/x", &bytes.Buffer{})
	require.ErrorContains(t, err, "is not postgres")
}
