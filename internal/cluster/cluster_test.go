package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/cluster"
	"github.com/callsvc/callsvc/internal/dbtest"
	"github.com/callsvc/callsvc/sql/schema"
)

// The tests of this package start a real cluster — PgBouncer, HAProxy and
// callsvc replicas — so they run only when asked: CALLSVC_TEST_CLUSTER=1, as
// `make test-cluster` does (it installs pgbouncer and haproxy when missing).
// CALLSVC_BIN names the callsvc binary (default: built here).
var enabled = os.Getenv("CALLSVC_TEST_CLUSTER") == "1"

var callsvcBin string

func TestMain(m *testing.M) {
	if !enabled {
		os.Exit(m.Run()) // every cluster test skips
	}
	callsvcBin = os.Getenv("CALLSVC_BIN")
	if callsvcBin == "" {
		dir, err := os.MkdirTemp("", "callsvc-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		callsvcBin = filepath.Join(dir, "callsvc")
		if out, err := exec.Command("go", "build", "-o", callsvcBin, "../../cmd/callsvc").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build callsvc: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	dbtest.Main(m)
}

func needCluster(t *testing.T) {
	t.Helper()
	if !enabled {
		t.Skip("starts PgBouncer, HAProxy and callsvc replicas: CALLSVC_TEST_CLUSTER=1 (make test-cluster)")
	}
}

// bundle is a running cluster with what the tests need around it.
type bundle struct {
	c      *cluster.Cluster
	direct *pgxpool.Pool // PostgreSQL itself, for the checks in SQL
	ctx    context.Context
}

// startCluster starts 3 replicas that all run `serve --migrate` at once on a
// database that does not exist yet, and stops everything when t ends. Its logs
// stay in a folder named in the test's output when t fails.
func startCluster(t *testing.T) *bundle {
	t.Helper()
	dir, err := os.MkdirTemp("", "callsvc-test-cluster-")
	require.NoError(t, err)
	t.Logf("cluster logs in %s", dir)
	dbURL := dbtest.NewMissingDatabase(t)
	ctx := context.Background()
	var progress bytes.Buffer
	c, err := cluster.Start(ctx, cluster.Config{
		Dir:                 dir,
		Callsvc:             callsvcBin,
		DatabaseURL:         dbURL,
		Replicas:            3,
		PgBouncerPoolSize:   16,
		ReplicaPoolMaxConns: 16,
		MigrateEach:         true,
		ShutdownDrain:       2 * time.Second,
		LogLevel:            "info",
	}, &progress)
	require.NoError(t, err, "start the cluster:\n%s", progress.String())
	t.Cleanup(func() {
		require.NoError(t, c.Stop(), "stop the cluster")
		if !t.Failed() && os.Getenv("CALLSVC_TEST_CLUSTER_KEEP") == "" {
			_ = os.RemoveAll(dir)
		}
	})
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return &bundle{c: c, direct: pool, ctx: ctx}
}

// TestCluster holds the contract's "More than one server" section to a real
// cluster, one rule after another on the same three replicas.
func TestCluster(t *testing.T) {
	needCluster(t)
	b := startCluster(t)
	t.Run("MigratedOnceByConcurrentServers", b.testMigratedOnce)
	t.Run("ReplicasGoThroughPgBouncer", b.testThroughPgBouncer)
	t.Run("OutcomeRoundTripsThroughPgBouncer", b.testRoundTrips)
	t.Run("OutcomeRace", b.testOutcomeRace)
	t.Run("OutcomeVersusCancel", b.testOutcomeVersusCancel)
	t.Run("ObjectionsVersusOutcome", b.testObjectionsVersusOutcome)
	t.Run("IdempotencyKeyAcrossReplicas", b.testIdempotencyAcrossReplicas)
	t.Run("RevokedKeyRefusedByEveryReplica", b.testRevokedKey)
	t.Run("PoolerMisconfigurationIsOneClearLine", b.testPoolerMisconfiguration)
	t.Run("RollingRestartUnderLoad", b.testRollingRestart)
	t.Run("ReplicaKilledUnderLoad", b.testKillUnderLoad)
}

// testMigratedOnce: the three replicas ran `serve --migrate` at the same time
// on a database that did not exist; each migration was applied by exactly one
// of them (their "migrated" log lines say which files each applied), and all
// three serve.
func (b *bundle) testMigratedOnce(t *testing.T) {
	files, err := fs.Glob(schema.FS, "*.sql")
	require.NoError(t, err)
	byFile := map[string]int{}
	for _, r := range b.c.Nodes {
		applied := migratedLine(t, r.Proc.Log)
		t.Logf("%s applied %d migrations", r.Name, len(applied))
		for _, f := range applied {
			byFile[f]++
		}
	}
	require.Len(t, byFile, len(files), "every migration applied")
	for f, n := range byFile {
		require.Equal(t, 1, n, "%s applied %d times", f, n)
	}
	var rows int
	require.NoError(t, b.direct.QueryRow(b.ctx, "SELECT count(*) FROM schema_migrations").Scan(&rows))
	require.Equal(t, len(files), rows)
	for i, r := range b.c.Nodes {
		require.NoError(t, b.c.WaitReady(b.ctx, i), "%s serves", r.Name)
	}
	states, err := b.c.Backends()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"replica1": "UP", "replica2": "UP", "replica3": "UP"}, states)
}

// migratedLine returns the files a replica's "migrated" log line lists.
func migratedLine(t *testing.T, logPath string) []string {
	t.Helper()
	f, err := os.Open(logPath)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg   string   `json:"msg"`
			Files []string `json:"files"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "migrated" {
			return line.Files
		}
	}
	t.Fatalf("%s has no \"migrated\" line", logPath)
	return nil
}

// adminCLI runs a callsvc admin command the way an operator of the cluster
// would: through PgBouncer, in exec mode.
func (b *bundle) adminCLI(t *testing.T, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(callsvcBin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+b.c.PgBouncerURL(), "CALLSVC_QUERY_EXEC_MODE=exec")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "callsvc %s: %s", strings.Join(args, " "), stderr.String())
	var o map[string]any
	if len(bytes.TrimSpace(out)) > 0 {
		require.NoError(t, json.Unmarshal(out, &o), "callsvc %s printed %q", strings.Join(args, " "), out)
	}
	return o
}

// newOrg creates an organization and returns its id and API key.
func (b *bundle) newOrg(t *testing.T, name string) (id, key string) {
	t.Helper()
	o := b.adminCLI(t, "org", "create", "--name", name)
	return o["organizationId"].(string), o["apiKey"].(string)
}

// client sends JSON requests with an API key.
type client struct {
	key  string
	http *http.Client
}

func newClient(key string) *client {
	return &client{key: key, http: &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 0, IdleConnTimeout: 30 * time.Second},
	}}
}

// answer is a response, read whole.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// code is the problem code of a problem answer, or "".
func (a answer) code() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(a.Body, &p)
	return p.Code
}

func (a answer) id() string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(a.Body, &v)
	return v.ID
}

func (a answer) replayed() bool { return a.Header.Get("Idempotent-Replayed") == "true" }

func (a answer) String() string { return fmt.Sprintf("%d %.300s", a.Status, a.Body) }

// do sends method base+path with body as JSON (nil: none) and idemKey ("" for none).
func (c *client) do(ctx context.Context, method, url string, body any, idemKey string) (answer, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// must sends a request that must get want.
func (c *client) must(t *testing.T, want int, method, url string, body any) answer {
	t.Helper()
	a, err := c.do(context.Background(), method, url, body, "")
	require.NoError(t, err)
	require.Equal(t, want, a.Status, "%s %s: %s", method, url, a)
	return a
}

// inProgressCall creates a prospect with 900 clients (no advisory mode) and an
// in-progress call, through base, and returns the call's id.
func (c *client) inProgressCall(t *testing.T, base, prospect string) string {
	t.Helper()
	return c.must(t, http.StatusCreated, "POST", base+"/v1/calls", map[string]any{"prospectId": prospect, "status": "in_progress"}).id()
}

func (c *client) prospect(t *testing.T, base string) string {
	t.Helper()
	return c.must(t, http.StatusCreated, "POST", base+"/v1/prospects", map[string]any{"name": "Acme Wealth", "clientCount": 900}).id()
}
