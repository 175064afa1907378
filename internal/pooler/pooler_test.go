package pooler_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
	"github.com/callsvc/callsvc/internal/pooler"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestDirectConnectionHasItsOwnSession: PostgreSQL itself never looks like a
// pooler, and the probe leaves no prepared statement behind. (That PgBouncer in
// transaction mode does is shown by internal/cluster's tests, which start one.)
func TestDirectConnectionHasItsOwnSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(dbtest.NewDatabase(t))
	require.NoError(t, err)
	for range 5 {
		shared, err := pooler.SharesSessions(ctx, cfg)
		require.NoError(t, err)
		require.False(t, shared)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	cfg, err := pgx.ParseConfig("postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	_, err = pooler.SharesSessions(context.Background(), cfg)
	require.Error(t, err)
}
