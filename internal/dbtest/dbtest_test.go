package dbtest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

// TestDropOrphans: databases of a run whose lock is free are dropped; those of a
// run that still holds its lock, and this run's own, are kept.
func TestDropOrphans(t *testing.T) {
	ctx := context.Background()
	exists := func(name string) bool {
		var n int
		require.NoError(t, server.admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n))
		return n == 1
	}
	create := func(name string) {
		_, err := server.admin.Exec(ctx, "CREATE DATABASE "+name)
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = server.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	}

	dead, alive := randomSuffix(), randomSuffix()
	live, err := claimRun(ctx, server.adminURL, alive)
	require.NoError(t, err)
	defer live.Close(ctx)
	create("callsvc_template_" + dead)
	create("callsvc_test_" + dead + "_" + randomSuffix())
	create("callsvc_test_" + alive + "_" + randomSuffix())
	u, err := url.Parse(NewDatabase(t))
	require.NoError(t, err)
	own := strings.TrimPrefix(u.Path, "/")

	dropOrphans(ctx)

	require.False(t, exists("callsvc_template_"+dead), "the dead run's template was kept")
	require.True(t, exists(server.template), "this run's template was dropped")
	count := func(pattern string) int {
		var n int
		require.NoError(t, server.admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname LIKE $1`, pattern).Scan(&n))
		return n
	}
	require.Equal(t, 1, count("callsvc_test_"+alive+"_%"), "the live run's database")
	require.Zero(t, count("callsvc_test_"+dead+"_%"), "the dead run's database")
	require.True(t, exists(own), "this run's test database was dropped")
}

// TestSharedDatabase: a migrated database that outlives the test that made it,
// listed for tearDown to drop.
func TestSharedDatabase(t *testing.T) {
	ctx := context.Background()
	dsn, err := SharedDatabase()
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM call_session`).Scan(&n), "migrated")
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	server.sharedMu.Lock()
	defer server.sharedMu.Unlock()
	require.Contains(t, server.shared, strings.TrimPrefix(u.Path, "/"))
}
