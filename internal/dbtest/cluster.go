package dbtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Cluster is a PostgreSQL server of the test's own, in a temporary directory,
// listening on 127.0.0.1 only: for tests that stop, crash and restart the
// database, which they must never do to the shared server. It needs the server
// binaries (Debian's postgresql package puts them in /usr/lib/postgresql/N/bin).
type Cluster struct {
	t    testing.TB
	bin  string
	dir  string
	port int
}

// NewCluster initializes and starts a private cluster, removed when t ends.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := serverBinaries()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "callsvc-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, bin: bin, dir: dir, port: freePort(t)}
	t.Cleanup(func() {
		_ = c.pgCtl("stop", "-m", "immediate")
		_ = os.RemoveAll(dir)
	})
	// PostgreSQL refuses to run as root: as root, the cluster belongs to postgres.
	if os.Geteuid() == 0 {
		if err := chownToPostgres(dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.as(filepath.Join(bin, "initdb"), "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v", err)
	}
	c.Start()
	return c
}

// URL returns the URL of database on the cluster.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, database)
}

// Start starts the cluster and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50", c.port, c.dir)
	if err := c.pgCtl("start", "-w", "-l", filepath.Join(c.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("start cluster: %v\n%s", err, log)
	}
}

// Crash stops the cluster as a crash would: every backend killed at once, no
// checkpoint (pg_ctl stop -m immediate). The next Start recovers from the WAL.
func (c *Cluster) Crash() {
	c.t.Helper()
	if err := c.pgCtl("stop", "-w", "-m", "immediate"); err != nil {
		c.t.Fatalf("crash cluster: %v", err)
	}
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) pgCtl(args ...string) error {
	return c.as(filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", c.data()}, args...)...)
}

// as runs a server binary, as postgres when the test runs as root.
func (c *Cluster) as(name string, args ...string) error {
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// serverBinaries finds the directory of initdb and pg_ctl: on PATH, or the
// newest of Debian's /usr/lib/postgresql/N/bin.
func serverBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("dbtest: no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql package")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func chownToPostgres(dir string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("dbtest: running as root needs a postgres user to own the cluster: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
