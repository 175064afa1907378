// Package service holds callsvc's business rules. Every operation takes the caller's
// organization; the HTTP layer calls it and never the database directly.
//
// # Transactions
//
// A write runs in the transaction its caller passes it, a *Tx opened by InTx (the
// operation alone) or by Idempotent (the operation and its stored answer); reads
// take no transaction. tx.go is the only code that begins, commits or rolls back:
// every transaction is READ COMMITTED, whatever the database's default, and is
// sent in pipelined batches — the first statement goes with BEGIN, the
// operation's last (Tx.Last) with COMMIT — so a transaction costs one round trip
// per step that needs an answer. InTx retries deadlocks, serialization failures
// and failures before anything was sent.
//
// Errors of the driver and of PostgreSQL are read in one place, dberror.go, and
// become domain errors (errors.go): not found, outcome exists, invalid data,
// unavailable. Nothing above this package sees pgx.
//
// # Locking
//
// Writers serialize on the call row, by locking it, never by writing to it:
//
//   - CreateOutcome locks the call in progress FOR UPDATE SKIP LOCKED
//     (TryLockCallForOutcome); when another transaction holds it, it waits for
//     that one with a share lock (WaitForCallWriters), so the losers of a race
//     wait together for the winner instead of queueing for the lock one after
//     the other. It reads what its checks need in the next statement
//     (GetOutcome). Under READ COMMITTED a statement that waited for a lock sees
//     the locked row as the winner left it but reads everything else from the
//     snapshot it took before the wait; a statement that starts once the wait is
//     over takes a new one and sees every committed writer. All go in one batch.
//     On a call still in progress after the wait (its holder rolled back, or was
//     an objection) the lock is tried again in the same batch, which turns the
//     share lock into the call's lock; when other waiters share the call too,
//     the transaction is run again and waits for the lock in its queue
//     (GetCallForOutcomeForUpdate): two share holders that both asked for it
//     would deadlock.
//   - CreateObjection locks the call FOR NO KEY UPDATE and checks its status.
//   - StartCall and CancelCall are single conditional UPDATEs of the call row.
//   - UpdateProspect locks only the prospect. An outcome reads the prospect's
//     client_count without locking it: a change is ordered before that read (and
//     used) or after it; the outcome records what it used.
//
// Only one row is ever locked per transaction, so no two can deadlock. The
// unique constraint on call_outcome.call_session_id is the backstop: a violation
// still maps to ErrOutcomeExists, and is logged as the bug it would be.
//
// # Round trips
//
// CreateOutcome in a transaction of its own costs 2 round trips, whether it
// waited for the lock or not: BEGIN, the lock, the transaction's time and the
// read; then the call's update, the outcome.created event (with its deliveries
// and their River jobs), the insert and COMMIT. CreateObjection and CancelCall
// (its call.cancelled event) cost 2, the other writes 1.
// TestCreateOutcomeRoundTrips counts them with a pgx tracer.
package service
