package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	var outs []string
	for _, arg := range []string{"version", "--version"} {
		var stdout bytes.Buffer
		// A broken environment does not stop version (nor help).
		getenv := func(k string) string { return map[string]string{"DATABASE_URL": "mysql://x"}[k] }
		require.NoError(t, run(context.Background(), []string{arg}, getenv, &stdout, &bytes.Buffer{}))
		outs = append(outs, stdout.String())
	}
	require.Equal(t, outs[0], outs[1])
	require.Regexp(t, `^callsvc \S+\n`, outs[0])
	require.Contains(t, outs[0], "\n  api:      1.1.0\n", "the spec's info.version")

	err := run(context.Background(), []string{"version", "extra"}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	require.ErrorAs(t, err, new(usageError))
}

// TestVersionFromCleanCheckout builds the binary as `make build` does, from a
// fresh git repository holding this tree, and checks that `callsvc version`
// names that repository's commit.
func TestVersionFromCleanCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	t.Parallel()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	repo := t.TempDir()
	sh := func(dir string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
		return string(out)
	}
	// The tree as it is now (tracked and new files), so this tests the code under test.
	files := strings.Split(strings.TrimRight(sh(root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"), "\x00"), "\x00")
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted, not yet committed
		}
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(repo, filepath.Dir(f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(repo, f), data, 0o644))
	}
	sh(repo, "git", "init", "-q")
	sh(repo, "git", "add", "-A")
	sh(repo, "git", "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "clean checkout")
	commit := strings.TrimSpace(sh(repo, "git", "rev-parse", "HEAD"))

	bin := filepath.Join(t.TempDir(), "callsvc")
	sh(repo, "go", "build", "-buildvcs=true", "-o", bin, "./cmd/callsvc")
	out := sh(repo, bin, "version")

	require.Regexp(t, `^callsvc v0\.0\.0-\d{14}-`+commit[:12]+`\n`, out, "a pseudo-version of the commit")
	require.Contains(t, out, "\n  commit:   "+commit+"\n")
	require.Regexp(t, `\n  time:     \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(of the commit\)\n`, out)
	require.Contains(t, out, "\n  modified: false\n")
	require.Equal(t, out, sh(repo, bin, "--version"))
}

func TestServerHeader(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	product := regexp.MustCompile(`^callsvc/\S+$`)
	for _, path := range []string{"/healthz", "/v1/prospects", "/no/such/route"} {
		res, err := srv.httpClient().Get(srv.URL + path)
		require.NoError(t, err)
		res.Body.Close()
		require.Regexp(t, product, res.Header.Get("Server"), "%s answered %d", path, res.StatusCode)
	}
	res, err := srv.httpClient().Post(srv.URL+"/v1/prospects", "application/json", strings.NewReader(`{"name":"x"}`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Regexp(t, product, res.Header.Get("Server"))
}
