package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is the real `callsvc serve` running as a child process on a free
// loopback port, against the scratch database.
type server struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	logPath string
	exited  chan struct{}
	waitErr error
}

// buildServer compiles ./cmd/callsvc of the module in dir into tmp.
func buildServer(ctx context.Context, dir, tmp string) (string, error) {
	bin := filepath.Join(tmp, "callsvc")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/callsvc")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/callsvc: %w\n%s", err, out)
	}
	return bin, nil
}

// startServer runs bin serve on 127.0.0.1 and waits until /readyz answers 200.
// env is added to this process's environment.
func startServer(ctx context.Context, bin, tmp, name string, env []string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(tmp, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "serve", "--addr", addr)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so Ctrl-C reaches only callbench, which stops the
	// server first and then drops the database; and SIGTERM if callbench dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, logPath: logPath, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\n%s", err, s.logTail(20))
	}
	return s, nil
}

func (s *server) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("callsvc serve exited before it was ready: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("callsvc serve not ready on %s/readyz: %w", s.base, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop asks the server to shut down (SIGTERM), and kills it after 10 s.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return s.waitErr
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("callsvc serve did not stop within 10 s of SIGTERM: killed")
	}
	return s.waitErr
}

// alive reports whether the server process is still running.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

func (s *server) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "callsvc log (last lines):\n  " + strings.Join(lines, "\n  ")
}

// memory is the server's resident memory: the peak the kernel recorded since it
// started (VmHWM) and the highest VmRSS sampled while a step ran.
type memory struct {
	SampledMaxRSSMiB float64 `json:"sampledMaxRssMiB"`
	PeakRSSMiB       float64 `json:"peakRssMiB"` // VmHWM: since the process started
	Samples          int     `json:"samples"`
}

// sampleMemory reads /proc/PID/status every 100 ms until ctx ends.
func (s *server) sampleMemory(ctx context.Context, into *memory) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if rss, hwm, err := procMemory(s.cmd.Process.Pid); err == nil {
			into.SampledMaxRSSMiB = max(into.SampledMaxRSSMiB, rss)
			into.PeakRSSMiB = max(into.PeakRSSMiB, hwm)
			into.Samples++
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// procMemory returns VmRSS and VmHWM of pid in MiB.
func procMemory(pid int) (rss, hwm float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s: %w", name, err)
		}
		if name == "VmRSS" {
			rss = kb / 1024
		} else {
			hwm = kb / 1024
		}
	}
	return rss, hwm, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
