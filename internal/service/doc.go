// Package service holds callsvc's business rules. Every operation takes the caller's
// organization and runs in ONE pgx transaction that reads before it writes; the HTTP
// layer calls it and never the database directly.
//
// # Locking
//
// Writers serialize on the call row. Row locks are always taken in one order, call
// first, then its prospect, so no two transactions can wait on each other:
//
//   - CreateOutcome locks the call FOR UPDATE and its prospect FOR SHARE in one
//     statement (GetCallForOutcomeForUpdate), so neither the call's status nor the
//     prospect's client_count can change between the checks and the commit.
//   - StartCall and CancelCall are single conditional UPDATEs of the call row.
//   - AddObjection updates the call row (LockCallForObjection) before inserting.
//   - UpdateProspect locks only the prospect.
//
// Under READ COMMITTED a locking read that waited returns the winner's version of
// the call but evaluates its subqueries (outcome exists, deferred objections) on
// the snapshot taken before it waited. Every writer of a call's objections or
// outcome updates the call row, so the locking query can tell (snapshot_current)
// and CreateOutcome then reads once more, holding the lock. The unique constraint
// on call_outcome.call_session_id is the backstop: a violation still maps to
// ErrOutcomeExists.
//
// # Round trips
//
// CreateOutcome costs 2 round trips to PostgreSQL on the uncontended path:
// BEGIN with the locking read, then the insert, the call update and COMMIT
// pipelined in one batch. A request that waited for the lock pays one more (the
// re-read). The count is asserted by a test with a pgx tracer.
package service
