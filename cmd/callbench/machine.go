package main

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// machine is what the numbers were measured on.
type machine struct {
	CPUs       int               `json:"cpus"`
	CPUModel   string            `json:"cpuModel"`
	MemoryMiB  int               `json:"memoryMiB"`
	Kernel     string            `json:"kernel"`
	GoVersion  string            `json:"goVersion"`
	PostgreSQL string            `json:"postgresql"`
	PGSettings map[string]string `json:"postgresqlSettings"`
}

func describeMachine(ctx context.Context, conn *pgx.Conn) machine {
	m := machine{
		CPUs:       runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		PGSettings: map[string]string{},
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.Atoi(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB")); err == nil {
		m.MemoryMiB = kb / 1024
	}
	_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&m.PostgreSQL)
	for _, name := range []string{"max_connections", "shared_buffers", "synchronous_commit", "fsync"} {
		var v string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err == nil {
			m.PGSettings[name] = v
		}
	}
	return m
}

// procField returns the value of the first "name: value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
