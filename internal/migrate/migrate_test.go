package migrate_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
	"github.com/callsvc/callsvc/internal/migrate"
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
	dsn := dbtest.NewUnmigratedDatabase(t)
	var log bytes.Buffer
	m, err := migrate.New(dsn, &log)
	require.NoError(t, err)

	require.NoError(t, m.Up())
	want := []string{
		"api_key", "call_outcome", "call_session", "idempotency_key", "objection_response", "organization", "prospect",
		"river_job", "river_leader", "river_migration", "river_notification", "river_queue",
		"schema_migrations", "webhook_delivery", "webhook_endpoint", "webhook_event",
	}
	require.Equal(t, want, tables(t, dsn))

	pending, err := m.Status()
	require.NoError(t, err)
	require.Zero(t, pending)

	// Roll every migration back: only dbmate's own table may remain.
	for {
		pendingBefore, err := m.Status()
		require.NoError(t, err)
		if err := m.Rollback(); err != nil {
			require.ErrorContains(t, err, "no migrations have been applied")
			break
		}
		pendingAfter, err := m.Status()
		require.NoError(t, err)
		require.Equal(t, pendingBefore+1, pendingAfter)
	}
	require.Equal(t, []string{"schema_migrations"}, tables(t, dsn))

	require.NoError(t, m.Up())
	require.Equal(t, want, tables(t, dsn))
}

func TestUpCreatesMissingDatabase(t *testing.T) {
	t.Parallel()
	dsn := dbtest.NewUnmigratedDatabase(t)
	missing := dbtest.WithDatabase(dsn, "callsvc_missing_"+t.Name())
	m, err := migrate.New(missing, &bytes.Buffer{})
	require.NoError(t, err)
	require.NoError(t, m.Up())
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		require.NoError(t, err)
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), `DROP DATABASE IF EXISTS "`+"callsvc_missing_"+t.Name()+`" WITH (FORCE)`)
		require.NoError(t, err)
	})
	require.Contains(t, tables(t, missing), "call_outcome")
}

func TestRejectsNonPostgresURL(t *testing.T) {
	t.Parallel()
	_, err := migrate.New("mysql://root@127.0.0.1/x", &bytes.Buffer{})
	require.ErrorContains(t, err, "is not postgres")
}
