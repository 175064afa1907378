package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/callsvc/callsvc/internal/db"
)

// The only place that begins, commits or rolls back a transaction. Every
// transaction is READ COMMITTED whatever the database or the connection says
// (ALTER DATABASE ... SET default_transaction_isolation, or the URL): the
// service's locking is written for it, and under REPEATABLE READ a write that
// waited for a row lock fails with a serialization error instead of re-reading.
const (
	beginSQL    = "BEGIN ISOLATION LEVEL READ COMMITTED"
	commitSQL   = "COMMIT"
	rollbackSQL = "ROLLBACK"
)

// maxTxAttempts bounds how often a transaction is run when it fails in a way
// that is safe to retry (see retryable).
const maxTxAttempts = 3

// rollbackTimeout bounds the ROLLBACK sent after a failure, on a context the
// request's cancellation cannot cut short (pgx#2557).
const rollbackTimeout = 5 * time.Second

// Tx is one READ COMMITTED transaction on one connection, opened by InTx or
// Idempotent. Its statements are sent in pipelined batches, so a transaction
// costs one round trip per step that needs an answer, not one per statement:
//
//   - the first statement sent goes with BEGIN;
//   - Queue queues :exec statements, sent with the next statement that is;
//   - Last sends the operation's last statement with COMMIT when the operation
//     is the whole transaction (InTx).
//
// A Tx is used by one goroutine, inside the function given to InTx.
type Tx struct {
	conn   *pgx.Conn
	queued *pgx.Batch
	// commitWithLast is true when the operation is the transaction's only work
	// (InTx), so its last statement may carry COMMIT. Idempotent stores the
	// answer after the operation, and commits with that.
	commitWithLast bool
	// retried is true when an earlier run of the same work failed in a way
	// that is safe to retry: an operation that retries only for itself
	// (errCallLockMissed) takes its slower, certain path then.
	retried bool
	begun   bool // BEGIN has been sent
	done    bool // COMMIT has run
}

func newTx(conn *pgx.Conn, commitWithLast, retried bool) *Tx {
	b := &pgx.Batch{}
	b.Queue(beginSQL)
	return &Tx{conn: conn, queued: b, commitWithLast: commitWithLast, retried: retried}
}

// Queries returns the generated queries on tx: each call sends whatever is
// queued (BEGIN first) with its own statement and waits for the answer, one
// round trip.
func (tx *Tx) Queries() *db.Queries { return db.New(sendNow{tx}) }

// Queue returns the generated queries for :exec statements whose answer nobody
// waits for: each call queues its statement and returns nil at once. It is sent
// with the next statement that is sent, and its error surfaces there.
func (tx *Tx) Queue() *db.Queries { return db.New(sendLater{tx}) }

// Last returns the generated queries for the operation's last statement. When
// the operation is the whole transaction COMMIT goes with it, which saves a
// round trip; the transaction is over once it returns.
func (tx *Tx) Last() *db.Queries {
	if tx.commitWithLast {
		return db.New(sendWithCommit{tx})
	}
	return tx.Queries()
}

// queueRow queues a one-row statement whose answer scan reads when the batch is
// sent: for the few statements whose answers are needed together, where the
// generated methods would each cost a round trip.
func (tx *Tx) queueRow(sql string, args []any, scan func(pgx.Row) error) {
	tx.queued.Queue(sql, args...).QueryRow(scan)
}

var errTxDone = errors.New("transaction already committed")

// send sends everything queued in one batch, with COMMIT after it when commit
// is true, and returns the first error. PostgreSQL skips the rest of a batch
// after a failed statement, COMMIT included, leaving the transaction aborted
// for InTx to roll back.
func (tx *Tx) send(ctx context.Context, commit bool) error {
	if tx.done {
		return errTxDone
	}
	b := tx.queued
	tx.queued = &pgx.Batch{}
	var commitTag pgconn.CommandTag
	if commit {
		b.Queue(commitSQL).Exec(func(ct pgconn.CommandTag) error { commitTag = ct; return nil })
	}
	tx.begun = true
	err := tx.conn.SendBatch(ctx, b).Close()
	if !commit {
		return err
	}
	// A statement that answered no row (pgx.ErrNoRows) ends the callbacks, yet
	// PostgreSQL ran COMMIT: the connection's status tells what happened.
	if tx.conn.IsClosed() || tx.conn.PgConn().TxStatus() != 'I' {
		if err == nil {
			err = errors.New("commit did not run")
		}
		return err
	}
	tx.done = true
	if err == nil && commitTag.String() == rollbackSQL {
		err = errors.New("commit rolled back: the transaction had failed")
	}
	return err
}

// commit ends fn's transaction: whatever is still queued goes with COMMIT. A
// transaction that never sent or queued a statement sends nothing.
func (tx *Tx) commit(ctx context.Context) error {
	if tx.done || (!tx.begun && tx.queued.Len() == 1) {
		return nil
	}
	if err := tx.send(ctx, true); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rollback ends a transaction that did not commit. It runs on a context that a
// cancelled request cannot cancel; a connection it cannot clean is closed, so
// the pool drops it instead of handing it out mid-transaction.
func (tx *Tx) rollback(ctx context.Context) {
	if tx.done || !tx.begun || tx.conn.IsClosed() || tx.conn.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if _, err := tx.conn.Exec(ctx, rollbackSQL); err != nil {
		_ = tx.conn.Close(ctx)
	}
}

// InTx runs fn in one READ COMMITTED transaction and commits it, retrying the
// whole transaction when it fails in a way that is safe to retry. fn may run
// more than once, so it must not act outside tx; what it returns is what its
// last run returned. The error is interpreted (dbErr): ErrUnavailable when the
// database could not be reached or the connection was lost.
func (s *Service) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return s.retry(ctx, func(retried bool) error { return s.runTx(ctx, true, retried, fn) })
}

// inTxOnce is InTx without the retries, for a transaction that acts outside
// the database before it commits (a webhook delivery attempt): running it again
// would act again. Its error is interpreted like InTx's.
func (s *Service) inTxOnce(ctx context.Context, fn func(tx *Tx) error) error {
	return dbErr(s.runTx(ctx, true, false, fn), nil)
}

// retry runs attempt until it succeeds, fails in a way that is not retryable,
// or has run maxTxAttempts times; retried tells attempt whether it runs again.
func (s *Service) retry(ctx context.Context, attempt func(retried bool) error) error {
	for n := 1; ; n++ {
		err := attempt(n > 1)
		if err == nil || n == maxTxAttempts || !retryable(err) || ctx.Err() != nil {
			return dbErr(err, nil)
		}
		s.log.WarnContext(ctx, "retrying transaction", "attempt", n, "err", err)
	}
}

func (s *Service) runTx(ctx context.Context, commitWithLast, retried bool, fn func(tx *Tx) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	tx := newTx(conn.Conn(), commitWithLast, retried)
	defer tx.rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	return tx.commit(ctx)
}

// retryable reports whether a failed transaction may simply be run again: a
// serialization failure or a deadlock (PostgreSQL rolled it back), a failure
// before anything reached the server (a connection that turned out dead), or
// an outcome that missed its call's lock (errCallLockMissed).
func retryable(err error) bool {
	if pgconn.SafeToRetry(err) || errors.Is(err, errCallLockMissed) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// The three ways a Tx hands statements to PostgreSQL, as sqlc's DBTX.

// sendNow sends each statement with whatever is queued, and waits.
type sendNow struct{ tx *Tx }

func (s sendNow) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return s.tx.exec(ctx, false, sql, args)
}

func (s sendNow) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return &pendingRow{ctx: ctx, tx: s.tx, qq: s.tx.queued.Queue(sql, args...)}
}

// Query sends what is queued first, then the query on its own: a multi-row
// answer is read as it streams, so it cannot share a batch. No operation sends
// one inside a transaction today.
func (s sendNow) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if s.tx.done {
		return nil, errTxDone
	}
	if s.tx.queued.Len() > 0 {
		if err := s.tx.send(ctx, false); err != nil {
			return nil, err
		}
	}
	return s.tx.conn.Query(ctx, sql, args...)
}

// sendLater queues :exec statements.
type sendLater struct{ tx *Tx }

func (s sendLater) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	s.tx.queued.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

var errNotQueueable = errors.New("Tx.Queue takes :exec statements only")

func (s sendLater) QueryRow(context.Context, string, ...any) pgx.Row { return errRow{errNotQueueable} }

func (s sendLater) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errNotQueueable
}

// sendWithCommit sends the statement with whatever is queued and COMMIT.
type sendWithCommit struct{ tx *Tx }

func (s sendWithCommit) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return s.tx.exec(ctx, true, sql, args)
}

func (s sendWithCommit) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return &pendingRow{ctx: ctx, tx: s.tx, qq: s.tx.queued.Queue(sql, args...), commit: true}
}

var errLastIsOneRow = errors.New("Tx.Last takes :exec and :one statements only")

func (s sendWithCommit) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errLastIsOneRow
}

func (tx *Tx) exec(ctx context.Context, commit bool, sql string, args []any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	tx.queued.Queue(sql, args...).Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	return tag, tx.send(ctx, commit)
}

// pendingRow is a queued one-row statement: Scan sends the batch it is in.
type pendingRow struct {
	ctx    context.Context
	tx     *Tx
	qq     *pgx.QueuedQuery
	commit bool
}

func (r *pendingRow) Scan(dest ...any) error {
	r.qq.QueryRow(func(row pgx.Row) error { return row.Scan(dest...) })
	return r.tx.send(r.ctx, r.commit)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
