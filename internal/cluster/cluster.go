// Package cluster runs callsvc on one machine the way it runs in production:
// N `callsvc serve` replicas on loopback ports, PgBouncer in transaction
// pooling mode between them and PostgreSQL, and HAProxy in front, balancing
// them on /readyz. Migrations run directly against PostgreSQL, never through
// PgBouncer. Everything listens on 127.0.0.1 only, writes its configuration and
// logs into one folder, and is stopped by the PID it was started with.
//
// cmd/callcluster (make cluster-up, make cluster-down) and the cross-server
// tests (make test-cluster) use it. It needs the pgbouncer and haproxy
// programs (Debian's packages; scripts/cluster.sh installs them).
package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config says what to start. Zero ports are picked free.
type Config struct {
	// Dir holds the configuration, the logs and the state file; it is created.
	Dir string
	// Callsvc is the callsvc binary the replicas run.
	Callsvc string
	// DatabaseURL is PostgreSQL itself, on loopback. A missing database is
	// created and migrated.
	DatabaseURL string
	// Replicas is how many `callsvc serve` run.
	Replicas      int
	HTTPPort      int   // HAProxy
	PgBouncerPort int   // PgBouncer
	ReplicaPorts  []int // one per replica, or none: free ports
	// PgBouncerPoolSize is how many PostgreSQL connections PgBouncer opens for
	// the database; ReplicaPoolMaxConns is each replica's pool (of PgBouncer
	// client connections).
	PgBouncerPoolSize   int
	ReplicaPoolMaxConns int
	// MigrateEach makes every replica run `serve --migrate` at the same time
	// (they take turns on the migration lock); otherwise `callsvc migrate`
	// runs once before the replicas start.
	MigrateEach bool
	// Direct connects the replicas to PostgreSQL itself, without PgBouncer:
	// to measure what PgBouncer costs.
	Direct bool
	// ExecMode is the replicas' CALLSVC_QUERY_EXEC_MODE; default exec through
	// PgBouncer, cache_statement directly.
	ExecMode string
	// ShutdownDrain is the replicas' CALLSVC_SHUTDOWN_DRAIN: longer than
	// HAProxy takes to see /readyz fail (inter 500ms x fall 2, plus a check).
	ShutdownDrain time.Duration
	// LogLevel is the replicas' LOG_LEVEL ("info" logs every request).
	LogLevel string
	// Detach lets the processes outlive this program (cluster-up); otherwise
	// they are in its process group and Stop is expected.
	Detach bool
}

// Cluster is a running cluster.
type Cluster struct {
	Config    Config     `json:"config"`
	PgBouncer *process   `json:"pgbouncer,omitempty"`
	HAProxy   *process   `json:"haproxy"`
	Nodes     []*Replica `json:"replicas"`
	log       io.Writer
}

// Replica is one `callsvc serve`.
type Replica struct {
	Name string   `json:"name"`
	Port int      `json:"port"`
	Proc *process `json:"process"`
	env  []string
}

// URL is the replica's own address, bypassing HAProxy.
func (r *Replica) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", r.Port) }

const stateFile = "cluster.json"

// Start starts PgBouncer, the replicas and HAProxy, and returns once HAProxy
// sees every replica up. On failure it stops whatever it started and says
// which log to read.
func Start(ctx context.Context, cfg Config, log io.Writer) (c *Cluster, err error) {
	if err := cfg.complete(); err != nil {
		return nil, err
	}
	c = &Cluster{Config: cfg, log: log}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
		}
	}()
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return c, err
	}
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		return c, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pgHost, pgPort, err := loopbackHost(u)
	if err != nil {
		return c, err
	}
	direct := withHostPort(u, pgHost, pgPort)

	if !cfg.MigrateEach {
		// Once, directly: it creates the database when it is missing.
		logPath := filepath.Join(cfg.Dir, "migrate.log")
		cmd := exec.CommandContext(ctx, cfg.Callsvc, "migrate", "up")
		cmd.Env = append(baseEnv(), "DATABASE_URL="+direct)
		out, err := cmd.CombinedOutput()
		_ = os.WriteFile(logPath, out, 0o644)
		if err != nil {
			return c, fmt.Errorf("callsvc migrate up: %w: %s", err, strings.TrimSpace(string(out)))
		}
		c.logf("migrated %s (log %s)", redact(direct), logPath)
	}

	replicaURL := direct
	if !cfg.Direct {
		if err := c.startPgBouncer(u, pgHost, pgPort); err != nil {
			return c, err
		}
		replicaURL = withHost(u, cfg.PgBouncerPort)
	}
	for i := range cfg.Replicas {
		env := append(baseEnv(),
			"DATABASE_URL="+replicaURL,
			"CALLSVC_DIRECT_DATABASE_URL="+direct,
			fmt.Sprintf("CALLSVC_POOL_MAX_CONNS=%d", cfg.ReplicaPoolMaxConns),
			"CALLSVC_SHUTDOWN_DRAIN="+cfg.ShutdownDrain.String(),
			"LOG_LEVEL="+cfg.LogLevel,
		)
		env = append(env, "CALLSVC_QUERY_EXEC_MODE="+cfg.ExecMode)
		r := &Replica{Name: fmt.Sprintf("replica%d", i+1), Port: cfg.ReplicaPorts[i], env: env}
		c.Nodes = append(c.Nodes, r)
		if err := c.StartReplica(i); err != nil {
			return c, err
		}
	}
	if err := c.startHAProxy(); err != nil {
		return c, err
	}
	if err := c.save(); err != nil {
		return c, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for i := range c.Nodes {
		if err := c.WaitReady(waitCtx, i); err != nil {
			return c, err
		}
	}
	if err := c.WaitBackends(waitCtx, len(c.Nodes)); err != nil {
		return c, err
	}
	return c, nil
}

func (cfg *Config) complete() error {
	if cfg.Replicas < 1 {
		return errors.New("cluster: at least one replica")
	}
	if cfg.Callsvc == "" || cfg.Dir == "" || cfg.DatabaseURL == "" {
		return errors.New("cluster: Dir, Callsvc and DatabaseURL are required")
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return err
	}
	cfg.Dir = abs
	if cfg.Callsvc, err = filepath.Abs(cfg.Callsvc); err != nil {
		return err
	}
	if cfg.PgBouncerPoolSize == 0 {
		cfg.PgBouncerPoolSize = 20
	}
	if cfg.ReplicaPoolMaxConns == 0 {
		cfg.ReplicaPoolMaxConns = 32
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	if cfg.ExecMode == "" {
		cfg.ExecMode = map[bool]string{true: "cache_statement", false: "exec"}[cfg.Direct]
	}
	for _, p := range []*int{&cfg.HTTPPort, &cfg.PgBouncerPort} {
		if *p == 0 {
			if *p, err = freePort(); err != nil {
				return err
			}
		}
	}
	if len(cfg.ReplicaPorts) == 0 {
		for range cfg.Replicas {
			p, err := freePort()
			if err != nil {
				return err
			}
			cfg.ReplicaPorts = append(cfg.ReplicaPorts, p)
		}
	}
	if len(cfg.ReplicaPorts) != cfg.Replicas {
		return fmt.Errorf("cluster: %d replica ports for %d replicas", len(cfg.ReplicaPorts), cfg.Replicas)
	}
	ports := append([]int{cfg.HTTPPort}, cfg.ReplicaPorts...)
	if !cfg.Direct {
		ports = append(ports, cfg.PgBouncerPort)
	}
	for _, p := range ports {
		if !portFree(p) {
			return fmt.Errorf("cluster: port 127.0.0.1:%d is in use (a cluster already up? make cluster-down)", p)
		}
	}
	return nil
}

func (c *Cluster) startPgBouncer(u *url.URL, pgHost, pgPort string) error {
	cfg := c.Config
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		return errors.New("pgbouncer is not installed (apt-get install pgbouncer; make cluster-up does it)")
	}
	authType := "trust"
	if _, ok := u.User.Password(); ok {
		authType = "scram-sha-256"
	}
	authFile := filepath.Join(cfg.Dir, "pgbouncer-users.txt")
	if err := os.WriteFile(authFile, pgbouncerUserList(u), 0o600); err != nil {
		return err
	}
	ini := filepath.Join(cfg.Dir, "pgbouncer.ini")
	if err := render(pgbouncerIni, pgbouncerParams{
		PGHost: pgHost, PGPort: pgPort, Port: cfg.PgBouncerPort,
		AuthType: authType, AuthFile: authFile, User: u.User.Username(), PoolSize: cfg.PgBouncerPoolSize,
	}, ini, 0o644); err != nil {
		return err
	}
	argv := []string{bin}
	// PgBouncer refuses to run as root; it reads its files before it switches.
	if usr := serviceUser("postgres", "nobody"); usr != "" {
		argv = append(argv, "-u", usr)
	}
	argv = append(argv, ini)
	if c.PgBouncer, err = startProcess("pgbouncer", argv, baseEnv(), filepath.Join(cfg.Dir, "pgbouncer.log"), cfg.Detach); err != nil {
		return err
	}
	c.logf("pgbouncer on 127.0.0.1:%d (pid %d), transaction pooling, %d server connections", cfg.PgBouncerPort, c.PgBouncer.PID, cfg.PgBouncerPoolSize)
	return waitListening(c.PgBouncer, cfg.PgBouncerPort, 10*time.Second)
}

func (c *Cluster) startHAProxy() error {
	cfg := c.Config
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return errors.New("haproxy is not installed (apt-get install haproxy; make cluster-up does it)")
	}
	p := haproxyParams{Socket: c.socket(), Port: cfg.HTTPPort, User: serviceUser("haproxy")}
	for _, r := range c.Nodes {
		p.Servers = append(p.Servers, haproxyServer{Name: r.Name, Port: r.Port})
	}
	file := filepath.Join(cfg.Dir, "haproxy.cfg")
	if err := render(haproxyCfg, p, file, 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(bin, "-c", "-q", "-f", file).CombinedOutput(); err != nil {
		return fmt.Errorf("haproxy -c %s: %w: %s", file, err, strings.TrimSpace(string(out)))
	}
	// -db: stay in the foreground, so the PID is HAProxy's and logs go to the file.
	if c.HAProxy, err = startProcess("haproxy", []string{bin, "-db", "-f", file}, baseEnv(), filepath.Join(cfg.Dir, "haproxy.log"), cfg.Detach); err != nil {
		return err
	}
	c.logf("haproxy on 127.0.0.1:%d (pid %d), balancing %d replicas on /readyz", cfg.HTTPPort, c.HAProxy.PID, len(c.Nodes))
	return waitListening(c.HAProxy, cfg.HTTPPort, 10*time.Second)
}

// StartReplica starts replica i (again, after it stopped), without waiting
// for it to be ready.
func (c *Cluster) StartReplica(i int) error {
	r := c.Nodes[i]
	if r.Proc != nil && r.Proc.alive() {
		return fmt.Errorf("%s already runs (pid %d)", r.Name, r.Proc.PID)
	}
	args := []string{c.Config.Callsvc, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", r.Port)}
	if c.Config.MigrateEach {
		args = append(args, "--migrate")
	}
	p, err := startProcess(r.Name, args, r.env, filepath.Join(c.Config.Dir, r.Name+".log"), c.Config.Detach)
	if err != nil {
		return err
	}
	r.Proc = p
	c.logf("%s on 127.0.0.1:%d (pid %d)", r.Name, r.Port, p.PID)
	return c.save()
}

// Signal sends sig to replica i.
func (c *Cluster) Signal(i int, sig syscall.Signal) error { return c.Nodes[i].Proc.signal(sig) }

// WaitExit waits for replica i to exit and returns how it ended.
func (c *Cluster) WaitExit(i int, timeout time.Duration) error {
	p := c.Nodes[i].Proc
	if p.cmd == nil {
		return errors.New("cluster: WaitExit needs a replica started by this program")
	}
	if !p.wait(timeout) {
		return fmt.Errorf("%s (pid %d) still runs after %s", p.Name, p.PID, timeout)
	}
	return p.err
}

// WaitReady waits until replica i answers /readyz with 200.
func (c *Cluster) WaitReady(ctx context.Context, i int) error {
	r := c.Nodes[i]
	for {
		res, err := http.Get(r.URL() + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !r.Proc.alive() {
			return fmt.Errorf("%s exited at start: %s", r.Name, tail(r.Proc.Log, 5))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (log %s)", r.Name, ctx.Err(), r.Proc.Log)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ServerStats is what HAProxy says of one replica.
type ServerStats struct {
	State    string // UP, DOWN, ...
	Current  int    // requests it is serving now
	Errors   int    // connections refused, answers cut off (econ + eresp)
	Retried  int    // requests HAProxy sent again (wretr + wredis)
	Requests int    // sessions it served (stot)
}

// Stats returns HAProxy's view of each replica, by name.
func (c *Cluster) Stats() (map[string]ServerStats, error) {
	conn, err := net.DialTimeout("unix", c.socket(), 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("haproxy stats socket: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil, err
	}
	// CSV: "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,..."
	out := map[string]ServerStats{}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) > 17 && f[0] == "replicas" && f[1] != "BACKEND" {
			n := func(i int) int { v, _ := strconv.Atoi(f[i]); return v }
			out[f[1]] = ServerStats{State: f[17], Current: n(4), Requests: n(7), Errors: n(13) + n(14), Retried: n(15) + n(16)}
		}
	}
	return out, sc.Err()
}

// Backends returns the state HAProxy gives each replica: UP, DOWN, ...
func (c *Cluster) Backends() (map[string]string, error) {
	stats, err := c.Stats()
	out := map[string]string{}
	for name, s := range stats {
		out[name] = s.State
	}
	return out, err
}

// WaitBackends waits until HAProxy sees n replicas UP.
func (c *Cluster) WaitBackends(ctx context.Context, n int) error {
	for {
		states, err := c.Backends()
		up := 0
		for _, s := range states {
			if s == "UP" {
				up++
			}
		}
		if err == nil && up == n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("haproxy sees %d of %d replicas up (%v, %v): %w", up, n, states, err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WaitBackend waits until HAProxy gives replica i the state (UP, DOWN...);
// "DOWN" matches any state that takes no traffic.
func (c *Cluster) WaitBackend(ctx context.Context, i int, state string) error {
	name := c.Nodes[i].Name
	for {
		states, err := c.Backends()
		s := states[name]
		if err == nil && (s == state || (state == "DOWN" && strings.HasPrefix(s, "DOWN"))) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("haproxy: %s is %q, want %s: %w", name, s, state, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// URL is HAProxy's address: the cluster's front door.
func (c *Cluster) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", c.Config.HTTPPort) }

// PgBouncerURL is the database through PgBouncer, as the replicas use it.
func (c *Cluster) PgBouncerURL() string {
	u, _ := url.Parse(c.Config.DatabaseURL)
	return withHost(u, c.Config.PgBouncerPort)
}

// Stop stops every process the cluster started, replicas first, each by its
// PID: SIGTERM, then SIGKILL after a grace period. Then nothing of it listens.
func (c *Cluster) Stop() error {
	var errs []error
	grace := c.Config.ShutdownDrain + 15*time.Second
	done := make(chan error, len(c.Nodes))
	for _, r := range c.Nodes {
		go func() {
			if r.Proc == nil {
				done <- nil
				return
			}
			killed, err := r.Proc.stop(syscall.SIGTERM, grace)
			if killed {
				c.logf("%s (pid %d) did not stop within %s: killed", r.Name, r.Proc.PID, grace)
			}
			done <- err
		}()
	}
	for range c.Nodes {
		errs = append(errs, <-done)
	}
	for _, p := range []*process{c.HAProxy, c.PgBouncer} {
		if p == nil {
			continue
		}
		if _, err := p.stop(syscall.SIGTERM, 10*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	ports := []int{c.Config.HTTPPort}
	if c.PgBouncer != nil {
		ports = append(ports, c.Config.PgBouncerPort)
	}
	for _, r := range c.Nodes {
		ports = append(ports, r.Port)
	}
	for _, p := range ports {
		if !portFree(p) {
			errs = append(errs, fmt.Errorf("127.0.0.1:%d still listens after the cluster stopped", p))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(c.Config.Dir, stateFile))
	return nil
}

// Load reads the cluster a detached Start left running in dir (cluster-down).
func Load(dir string, log io.Writer) (*Cluster, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	c := &Cluster{log: log}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return c, nil
}

func (c *Cluster) save() error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Config.Dir, stateFile), b, 0o644)
}

func (c *Cluster) socket() string { return filepath.Join(c.Config.Dir, "haproxy.sock") }

func (c *Cluster) logf(format string, args ...any) {
	if c.log != nil {
		fmt.Fprintf(c.log, "cluster: "+format+"\n", args...)
	}
}

// baseEnv is this program's environment without callsvc's settings, which
// each process is given explicitly.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "DATABASE_URL" || k == "LOG_LEVEL" || strings.HasPrefix(k, "CALLSVC_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// withHostPort returns u with host:port (loopback, resolved).
func withHostPort(u *url.URL, host, port string) string {
	v := *u
	v.Host = net.JoinHostPort(host, port)
	return v.String()
}

func waitListening(p *process, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for portFree(port) {
		if !p.alive() {
			return fmt.Errorf("%s exited at start: %s", p.Name, tail(p.Log, 5))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not listen on 127.0.0.1:%d after %s (log %s)", p.Name, port, timeout, p.Log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// tail returns the last n lines of a log file, on one line.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("%s (log %s)", strings.Join(lines, " | "), path)
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
