// Command scratchdb runs one command against a throw-away PostgreSQL database that
// the project's own migrations (internal/migrate, the same embedded sql/schema files
// the callsvc binary applies) have brought up to date, then drops that database,
// also when the migration or the command fails or is interrupted.
//
//	go run ./cmd/scratchdb [-admin URL] [-v] -- COMMAND [ARG...]
//
// COMMAND finds the database URL in $SCRATCH_DATABASE_URL. The server is the one
// -admin names (default $SCHEMA_DATABASE_URL, else the local PostgreSQL at
// 127.0.0.1:5432); the database is created there as callsvc_scratch_<random>.
// scratchdb exits with COMMAND's exit code.
//
// The schema tooling (make schema-dump, schema-docs, schema-check) uses it; it is
// not part of the callsvc binary.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/callsvc/callsvc/internal/migrate"
)

const defaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// exitError carries the exit code of the command scratchdb ran.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// interrupted reports that scratchdb got sig while the command ran; the command
// has ended and the database is dropped.
type interrupted struct{ sig syscall.Signal }

func (e interrupted) Error() string { return "interrupted by " + e.sig.String() }

func main() {
	err := run(os.Args[1:], os.Getenv, os.Stderr)
	var (
		exit exitError
		intr interrupted
	)
	switch {
	case errors.As(err, &intr):
		// Die of the same signal, so a calling shell stops too instead of taking
		// the interrupt as handled by us.
		signal.Reset(intr.sig)
		_ = syscall.Kill(os.Getpid(), intr.sig)
		time.Sleep(time.Second)
		os.Exit(128 + int(intr.sig))
	case errors.As(err, &exit):
		os.Exit(exit.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "scratchdb:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, stderr io.Writer) (err error) {
	flags := flag.NewFlagSet("scratchdb", flag.ContinueOnError)
	flags.SetOutput(stderr)
	admin := flags.String("admin", cmp.Or(getenv("SCHEMA_DATABASE_URL"), defaultAdminURL),
		"URL of a database on the server where the scratch database is created")
	verbose := flags.Bool("v", false, "print the migration log and the database's name")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: scratchdb [-admin URL] [-v] -- COMMAND [ARG...]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() == 0 {
		flags.Usage()
		return errors.New("no command given")
	}

	name := "callsvc_scratch_" + randomSuffix()
	dbURL, err := withDatabase(*admin, name)
	if err != nil {
		return err
	}
	log := io.Discard
	if *verbose {
		log = stderr
		fmt.Fprintf(stderr, "scratchdb: database %s\n", name)
	}

	// From here on the database may exist: drop it whatever happens. Signals are
	// caught so an interrupt still reaches the drop; they are passed on to COMMAND.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	defer func() {
		if dropErr := drop(*admin, name); dropErr != nil {
			fmt.Fprintf(stderr, "scratchdb: drop database %s: %v (drop it by hand)\n", name, dropErr)
			if err == nil {
				err = dropErr
			}
		}
	}()

	m, err := migrate.New(dbURL, log)
	if err != nil {
		return err
	}
	if _, err := m.Up(context.Background()); err != nil {
		return fmt.Errorf("migrate scratch database: %w", err)
	}

	cmd := exec.Command(flags.Arg(0), flags.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "SCRATCH_DATABASE_URL="+dbURL)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var got os.Signal
	for {
		select {
		case sig := <-signals:
			got = sig
			_ = cmd.Process.Signal(sig)
		case err := <-done:
			if got != nil {
				return interrupted{got.(syscall.Signal)}
			}
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code := exit.ExitCode()
				if code < 0 { // killed by a signal
					code = 128 + int(exit.Sys().(syscall.WaitStatus).Signal())
				}
				return exitError{code}
			}
			return err
		}
	}
}

// drop removes database name from the server of adminURL, closing its connections.
func drop(adminURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// withDatabase returns dsn pointed at database name.
func withDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("admin database url must be a postgres:// url")
	}
	u.Path = "/" + name
	q := u.Query()
	q.Set("sslmode", cmp.Or(q.Get("sslmode"), "disable"))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
