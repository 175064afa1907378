package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

// constraintErrors names the domain error each constraint's violation means.
// TestConstraintErrorsExist holds the names to the migrated schema.
var constraintErrors = map[string]error{
	// The backstop behind the call's row lock: reaching it is a bug, logged
	// where it is caught, and still answered as the rule says.
	"call_outcome_call_session_id_key": ErrOutcomeExists,
	// A prospect of another organization is refused like a missing one.
	"call_session_organization_id_prospect_id_fkey": ErrProspectNotFound,
	"api_key_organization_id_fkey":                  ErrOrganizationNotFound,
}

// errNoRow is what dbErr makes of a missing row where that is an answer, not
// an error of its own: a conditional UPDATE that matched nothing, a key never stored.
var errNoRow = errors.New("no row")

// dbErr is the one place where the service reads errors of the driver and of
// PostgreSQL; nothing above internal/service sees them. It returns err joined
// with the domain error it means, so errors.Is finds both and the log keeps the
// driver's words:
//
//   - no row, where notFound says what a missing row means here;
//   - a constraint of constraintErrors;
//   - a value PostgreSQL refuses (SQLSTATE class 22, or a CHECK): ErrInvalidData,
//     for input that got past the service's own checks;
//   - the database out of reach, or a failure worth retrying later: ErrUnavailable.
//
// Anything else is returned as it is: a bug, which the caller answers with 500.
func dbErr(err, notFound error) error {
	var done *interpreted
	if err == nil || errors.As(err, &done) {
		return err
	}
	var domain error
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	switch {
	case notFound != nil && errors.Is(err, pgx.ErrNoRows):
		domain = notFound
	case errors.As(err, &connectErr):
		// No connection, whatever the server said why (the database is gone,
		// too many connections, it is starting up): nothing was sent.
		domain = ErrUnavailable
	case errors.As(err, &pgErr):
		domain = pgDomainError(pgErr)
	case unreachable(err):
		domain = ErrUnavailable
	}
	if domain == nil {
		return err
	}
	return &interpreted{domain: domain, err: err}
}

// pgDomainError maps an error PostgreSQL reported.
func pgDomainError(e *pgconn.PgError) error {
	if d, ok := constraintErrors[e.ConstraintName]; ok {
		return d
	}
	switch class := e.Code[:2]; {
	case class == "22" || e.Code == "23514": // data exception, check violation
		return ErrInvalidData
	case class == "08", // connection exception
		class == "53",     // insufficient resources: too many connections, disk full
		class == "57",     // operator intervention: shutdown, crash, query canceled
		class == "40",     // serialization failure or deadlock, after InTx's retries
		e.Code == "55P03": // lock not available (lock_timeout)
		return ErrUnavailable
	}
	return nil
}

// unreachable reports whether err means the request could not be carried to
// PostgreSQL and back: a connection lost or cut mid-request, a closed pool, or
// the request's own deadline. Whatever it was, the transaction
// did not commit: PostgreSQL rolls back a transaction whose connection dies.
func unreachable(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) ||
		pgconn.SafeToRetry(err) ||
		pgconn.Timeout(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, puddle.ErrClosedPool) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled)
}

// interpreted is an error dbErr has read: the domain error and the driver's.
type interpreted struct {
	domain error
	err    error
}

func (e *interpreted) Error() string   { return fmt.Sprintf("%v: %v", e.domain, e.err) }
func (e *interpreted) Unwrap() []error { return []error{e.domain, e.err} }
