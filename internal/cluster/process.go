package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one program the cluster started. It is known by its PID and the
// start time the kernel gives it, so a process that died and whose PID was
// reused is never signalled by mistake.
type process struct {
	Name  string `json:"name"`
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // field 22 of /proc/PID/stat
	Log   string `json:"log"`

	cmd    *exec.Cmd     // nil when loaded from the state file of another run
	exited chan struct{} // closed once Wait returned (started here only)
	err    error         // Wait's error, after exited
}

// startProcess runs argv with env, its output appended to logPath. A detached
// process gets a session of its own, so it outlives this program and a Ctrl-C
// in the terminal that started it.
func startProcess(name string, argv, env []string, logPath string, detach bool) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: detach}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{Name: name, PID: cmd.Process.Pid, Log: logPath, cmd: cmd, exited: make(chan struct{})}
	p.Start, _ = startTime(p.PID)
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// alive reports whether the process still runs (a zombie does not).
func (p *process) alive() bool {
	if p.cmd != nil {
		select {
		case <-p.exited:
			return false
		default:
			return true
		}
	}
	start, err := startTime(p.PID)
	return err == nil && start == p.Start
}

// signal sends sig to the process if it is still the one started.
func (p *process) signal(sig syscall.Signal) error {
	if !p.alive() {
		return nil
	}
	if err := syscall.Kill(p.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s (pid %d): %w", p.Name, p.PID, err)
	}
	return nil
}

// wait waits until the process is gone or timeout passes; it reports whether
// it is gone.
func (p *process) wait(timeout time.Duration) bool {
	if p.cmd != nil {
		select {
		case <-p.exited:
			return true
		case <-time.After(timeout):
			return false
		}
	}
	deadline := time.Now().Add(timeout)
	for p.alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// stop sends sig, waits up to grace, then kills. It reports whether the
// process had to be killed.
func (p *process) stop(sig syscall.Signal, grace time.Duration) (killed bool, err error) {
	if err := p.signal(sig); err != nil {
		return false, err
	}
	if p.wait(grace) {
		return false, nil
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return true, err
	}
	if !p.wait(10 * time.Second) {
		return true, fmt.Errorf("%s (pid %d) still runs after SIGKILL", p.Name, p.PID)
	}
	return true, nil
}

// startTime reads when the process started (clock ticks since boot); a zombie
// counts as gone.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("pid %d: unreadable stat", pid)
	}
	fields := strings.Fields(s[i+1:]) // fields[0] is field 3, the state
	if len(fields) < 20 {
		return 0, fmt.Errorf("pid %d: short stat", pid)
	}
	if fields[0] == "Z" || fields[0] == "X" {
		return 0, fmt.Errorf("pid %d: exited", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
