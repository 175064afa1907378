package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/dbtest"
	"github.com/callsvc/callsvc/internal/secretbox"
	"github.com/callsvc/callsvc/internal/webhook"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type testBundle struct {
	url  string // the test's database
	svc  *Service
	pool *pgxpool.Pool
	org  OrgID
	ctx  context.Context
}

// setup gives t its own database and organization; maxConns bounds the pool
// (0 keeps pgx's default).
func setup(t *testing.T, maxConns int32) *testBundle {
	t.Helper()
	return setupIsolation(t, maxConns, "")
}

// The database defaults forEachIsolation runs a test under. The service pins
// READ COMMITTED in every transaction, so a database whose default is
// REPEATABLE READ must change nothing.
var isolations = []string{"read committed", "repeatable read"}

// forEachIsolation runs test once per default isolation, as a subtest.
func forEachIsolation(t *testing.T, test func(t *testing.T, iso string)) {
	for _, iso := range isolations {
		t.Run(strings.ReplaceAll(iso, " ", "_"), func(t *testing.T) { test(t, iso) })
	}
}

// setupIsolation is setup on a database whose default_transaction_isolation is
// iso ("" keeps the server's).
func setupIsolation(t *testing.T, maxConns int32, iso string) *testBundle {
	t.Helper()
	url := dbtest.NewDatabase(t)
	if iso != "" {
		conn, err := pgx.Connect(context.Background(), url)
		require.NoError(t, err)
		_, err = conn.Exec(context.Background(), fmt.Sprintf(
			"ALTER DATABASE %s SET default_transaction_isolation = '%s'",
			pgx.Identifier{conn.Config().Database}.Sanitize(), iso))
		require.NoError(t, err)
		require.NoError(t, conn.Close(context.Background()))
	}
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	svc := New(pool, slog.New(slog.NewTextHandler(io.Discard, nil)), testWebhooks(t))
	org, _, err := createOrganization(context.Background(), svc, "Acme")
	require.NoError(t, err)
	return &testBundle{url: url, svc: svc, pool: pool, org: OrgID(org.ID), ctx: context.Background()}
}

func ptr[T any](v T) *T { return &v }

// testResolver answers for the tests' hosts (RFC 2606 names) and says every other
// name does not exist, at once: no test sends a DNS query.
var testResolver = stubResolver{
	"hooks.example":     {"93.184.216.34"},
	"rebinding.example": {"127.0.0.1"},
	"inside.example":    {"93.184.216.34", "10.1.2.3"},
}

type stubResolver map[string][]string

func (r stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, ip := range ips {
		out = append(out, netip.MustParseAddr(ip))
	}
	return out, nil
}

// testWebhooks is the webhook configuration of the tests' services: a fixed key,
// URLs checked as in production, with testResolver.
func testWebhooks(t testing.TB) Option {
	box, err := secretbox.New([]byte("service-tests-webhook-secret-key"))
	require.NoError(t, err)
	return WithWebhooks(box, &webhook.Guard{Resolver: testResolver})
}

func (b *testBundle) prospect(t *testing.T, clientCount *int32) Prospect {
	t.Helper()
	p, err := b.createProspect(NewProspect{Name: "Globex", ClientCount: clientCount})
	require.NoError(t, err)
	return p
}

// call creates a call in status for a new prospect with clientCount.
func (b *testBundle) call(t *testing.T, clientCount *int32, status CallStatus) Call {
	t.Helper()
	return b.callFor(t, b.prospect(t, clientCount), status)
}

func (b *testBundle) callFor(t *testing.T, p Prospect, status CallStatus) Call {
	t.Helper()
	initial := status
	if status != CallScheduled {
		initial = CallInProgress
	}
	c, err := b.createCall(NewCall{ProspectID: p.ID, Status: initial})
	require.NoError(t, err)
	switch status {
	case CallCancelled:
		c, err = b.cancelCall(c.ID)
	case CallCompleted:
		_, err = b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
		c.Status = CallCompleted
	}
	require.NoError(t, err)
	return c
}

// count runs a COUNT(*) query.
func (b *testBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(b.ctx, sql, args...).Scan(&n))
	return n
}

func (b *testBundle) outcomeRows(t *testing.T, callID uuid.UUID) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM call_outcome WHERE call_session_id = $1`, callID)
}

// waitUntilBlocked waits until some backend of b's database waits for a lock.
func (b *testBundle) waitUntilBlocked(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		err := b.pool.QueryRow(b.ctx, `
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n > 0
	}, 10*time.Second, 5*time.Millisecond, "no transaction waited for a lock")
}

// inTx runs op in a transaction of its own, as a request without an
// Idempotency-Key does.
func inTx[T any](ctx context.Context, svc *Service, op func(tx *Tx) (T, error)) (T, error) {
	var out T
	err := svc.InTx(ctx, func(tx *Tx) (err error) {
		out, err = op(tx)
		return err
	})
	return out, err
}

// The write operations, each in a transaction of its own, for b's organization.

func (b *testBundle) createOutcome(callID uuid.UUID, in NewOutcome) (Outcome, error) {
	return inTx(b.ctx, b.svc, func(tx *Tx) (Outcome, error) { return b.svc.CreateOutcome(b.ctx, tx, b.org, callID, in) })
}

func (b *testBundle) createObjection(callID uuid.UUID, in NewObjection) (Objection, error) {
	return inTx(b.ctx, b.svc, func(tx *Tx) (Objection, error) { return b.svc.CreateObjection(b.ctx, tx, b.org, callID, in) })
}

func (b *testBundle) createProspect(in NewProspect) (Prospect, error) {
	return inTx(b.ctx, b.svc, func(tx *Tx) (Prospect, error) { return b.svc.CreateProspect(b.ctx, tx, b.org, in) })
}

func (b *testBundle) updateProspect(id uuid.UUID, in ProspectPatch) (Prospect, error) {
	return inTx(b.ctx, b.svc, func(tx *Tx) (Prospect, error) { return b.svc.UpdateProspect(b.ctx, tx, b.org, id, in) })
}

func (b *testBundle) createCall(in NewCall) (Call, error) {
	return inTx(b.ctx, b.svc, func(tx *Tx) (Call, error) { return b.svc.CreateCall(b.ctx, tx, b.org, in) })
}

func (b *testBundle) startCall(id uuid.UUID) (Call, error) {
	return inTx(b.ctx, b.svc, func(tx *Tx) (Call, error) { return b.svc.StartCall(b.ctx, tx, b.org, id) })
}

func (b *testBundle) cancelCall(id uuid.UUID) (Call, error) {
	return inTx(b.ctx, b.svc, func(tx *Tx) (Call, error) { return b.svc.CancelCall(b.ctx, tx, b.org, id) })
}

func (b *testBundle) createOrganization(name string) (Organization, NewAPIKey, error) {
	return createOrganization(b.ctx, b.svc, name)
}

func createOrganization(ctx context.Context, svc *Service, name string) (org Organization, key NewAPIKey, err error) {
	err = svc.InTx(ctx, func(tx *Tx) (err error) {
		org, key, err = svc.CreateOrganization(ctx, tx, name)
		return err
	})
	return org, key, err
}

func (b *testBundle) createAPIKey(orgID uuid.UUID) (NewAPIKey, error) {
	return inTx(b.ctx, b.svc, func(tx *Tx) (NewAPIKey, error) { return b.svc.CreateAPIKey(b.ctx, tx, orgID) })
}

func (b *testBundle) createEndpoint(in NewWebhookEndpoint) (CreatedWebhookEndpoint, error) {
	p, err := b.svc.PrepareWebhookEndpoint(b.ctx, in)
	if err != nil {
		return CreatedWebhookEndpoint{}, err
	}
	return inTx(b.ctx, b.svc, func(tx *Tx) (CreatedWebhookEndpoint, error) { return b.svc.CreateWebhookEndpoint(b.ctx, tx, b.org, p) })
}

func (b *testBundle) deleteEndpoint(id uuid.UUID) error {
	return b.svc.InTx(b.ctx, func(tx *Tx) error { return b.svc.DeleteWebhookEndpoint(b.ctx, tx, b.org, id) })
}

func (b *testBundle) revokeAPIKey(keyID uuid.UUID) error {
	return b.svc.InTx(b.ctx, func(tx *Tx) error { return b.svc.RevokeAPIKey(b.ctx, tx, keyID) })
}
