package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/db"
)

// race runs n functions released together by a barrier and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// tally counts errors by kind: nil, ErrOutcomeExists, and anything else.
func tally(t *testing.T, errs []error) (ok, exists int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrOutcomeExists):
			exists++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	return ok, exists
}

// The heavy races below are not parallel with each other, and their pools are
// smaller than their goroutines: PostgreSQL allows 100 connections, which the
// other test packages share. Requests still contend for the call's lock as they
// would behind a server's pool.

// TestConcurrentOutcomesOneCall: of 50 requests released together on one call,
// exactly one wins and 49 get "outcome exists" — not "not in progress", although
// every loser's locking read returns the call completed by the winner.
func TestConcurrentOutcomesOneCall(t *testing.T) {
	forEachIsolation(t, func(t *testing.T, iso string) {
		b := setupIsolation(t, 20, iso)
		c := b.call(t, nil, CallInProgress)
		errs := race(50, func(int) error {
			_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
			return err
		})
		ok, exists := tally(t, errs)
		require.Equal(t, 1, ok)
		require.Equal(t, 49, exists)
		require.Equal(t, 1, b.outcomeRows(t, c.ID))
	})
}

// waitingOutcomes starts n requests for an outcome of call, each sending its
// error to errs, and returns once all n wait for a lock in the database.
func (b *testBundle) waitingOutcomes(t *testing.T, call uuid.UUID, n int, errs chan<- error) {
	t.Helper()
	for range n {
		go func() {
			_, err := b.createOutcome(call, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
			errs <- err
		}()
	}
	require.Eventually(t, func() bool {
		return b.count(t, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == n
	}, 10*time.Second, 5*time.Millisecond, "%d outcomes wait for the lock's holder", n)
}

// TestLosersDoNotQueue: the requests that lose a race for a call wait for the
// winner only, not for each other. The winner is held after its lock until the
// losers wait for it; once it commits, every loser must get past its locking
// statement (into the hook) while the others are still there. Had a loser taken
// the call's lock, the next one would wait for it in the database and never
// reach the hook while the first is held.
func TestLosersDoNotQueue(t *testing.T) {
	t.Parallel()
	const losers = 8
	b := setup(t, losers+2)
	c := b.call(t, nil, CallInProgress)
	winnerLocked, held := make(chan struct{}), make(chan struct{})
	releaseWinner := sync.OnceFunc(func() { close(held) })
	loserPast, heldLosers := make(chan struct{}, losers), make(chan struct{})
	releaseLosers := sync.OnceFunc(func() { close(heldLosers) })
	t.Cleanup(func() { releaseWinner(); releaseLosers() }) // on failure, before the pool closes
	var first sync.Once
	b.svc.hooks.afterOutcomeLock = func(context.Context, *Tx) error {
		winner := false
		first.Do(func() { winner = true })
		if winner {
			close(winnerLocked)
			<-held
			return nil
		}
		loserPast <- struct{}{}
		<-heldLosers
		return nil
	}
	errs := make(chan error, losers+1)
	go func() {
		_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
		errs <- err
	}()
	<-winnerLocked
	b.waitingOutcomes(t, c.ID, losers, errs)
	releaseWinner()
	require.NoError(t, <-errs, "the winner")
	timeout := time.After(10 * time.Second)
	for i := range losers {
		select {
		case <-loserPast:
		case <-timeout:
			t.Fatalf("%d of %d losers got past the lock while the others were held: they queue behind each other", i, losers)
		}
	}
	releaseLosers()
	for range losers {
		require.ErrorIs(t, <-errs, ErrOutcomeExists)
	}
	require.Equal(t, 1, b.outcomeRows(t, c.ID))
}

// TestOutcomeAfterRefusedHolder: outcomes that waited for a request which then
// was refused find the call still in progress. One waiter alone takes the lock
// in the same batch; several share the call after the wait, so they run again,
// waiting for the lock in its queue: either way exactly one is decided.
func TestOutcomeAfterRefusedHolder(t *testing.T) {
	t.Parallel()
	for _, waiters := range []int{1, 6} {
		t.Run(fmt.Sprintf("%dWaiters", waiters), func(t *testing.T) {
			t.Parallel()
			b := setup(t, int32(waiters+2))
			c := b.call(t, nil, CallInProgress)
			locked, held := make(chan struct{}), make(chan struct{})
			release := sync.OnceFunc(func() { close(held) })
			t.Cleanup(release)
			var first sync.Once
			b.svc.hooks.afterOutcomeLock = func(context.Context, *Tx) error {
				first.Do(func() { close(locked); <-held })
				return nil
			}
			refused := make(chan error, 1)
			go func() {
				_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeDisqualified})
				refused <- err
			}()
			<-locked
			decided := make(chan error, waiters)
			b.waitingOutcomes(t, c.ID, waiters, decided)
			release()
			require.ErrorIs(t, <-refused, ErrDisqualificationReasonRequired)
			errs := make([]error, waiters)
			for i := range errs {
				errs[i] = <-decided
			}
			ok, exists := tally(t, errs)
			require.Equal(t, []int{1, waiters - 1}, []int{ok, exists})
			require.Equal(t, 1, b.outcomeRows(t, c.ID))
		})
	}
}

// TestConcurrentOutcomesManyCalls runs the same race on 20 calls at once.
func TestConcurrentOutcomesManyCalls(t *testing.T) {
	forEachIsolation(t, func(t *testing.T, iso string) {
		b := setupIsolation(t, 20, iso)
		const calls, perCall = 20, 50
		ids := make([]uuid.UUID, calls)
		for i := range ids {
			ids[i] = b.call(t, ptr[int32](900), CallInProgress).ID
		}
		errs := race(calls*perCall, func(i int) error {
			_, err := b.createOutcome(ids[i%calls], NewOutcome{OutcomeType: OutcomeMeetingBooked})
			return err
		})
		ok, exists := tally(t, errs)
		require.Equal(t, calls, ok)
		require.Equal(t, calls*(perCall-1), exists)
		for _, id := range ids {
			require.Equal(t, 1, b.outcomeRows(t, id))
		}
		require.Equal(t, calls, b.count(t, `SELECT count(*) FROM call_session WHERE status = 'completed'`))
	})
}

// TestOutcomeRacingCancel: exactly one of outcome and cancel wins, and the
// invariants hold: never an outcome on a cancelled call, never a completed call
// without one.
func TestOutcomeRacingCancel(t *testing.T) {
	forEachIsolation(t, func(t *testing.T, iso string) {
		b := setupIsolation(t, 10, iso)
		wins := map[string]int{}
		for range 100 {
			c := b.call(t, nil, CallInProgress)
			errs := race(2, func(i int) error {
				if i == 0 {
					_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
					return err
				}
				_, err := b.cancelCall(c.ID)
				return err
			})
			outcomeErr, cancelErr := errs[0], errs[1]
			got, err := b.svc.GetCall(b.ctx, b.org, c.ID)
			require.NoError(t, err)
			switch {
			case outcomeErr == nil:
				require.ErrorIs(t, cancelErr, ErrInvalidCallTransition)
				require.Equal(t, CallCompleted, got.Status)
				require.Equal(t, 1, b.outcomeRows(t, c.ID))
				wins["outcome"]++
			case cancelErr == nil:
				require.ErrorIs(t, outcomeErr, ErrCallNotInProgress)
				require.Equal(t, CallCancelled, got.Status)
				require.Zero(t, b.outcomeRows(t, c.ID))
				wins["cancel"]++
			default:
				t.Fatalf("both failed: outcome %v, cancel %v", outcomeErr, cancelErr)
			}
		}
		t.Logf("wins: %v", wins)
		require.Zero(t, b.count(t, `SELECT count(*) FROM call_session c JOIN call_outcome o ON o.call_session_id = c.id WHERE c.status <> 'completed'`))
		require.Zero(t, b.count(t, `SELECT count(*) FROM call_session c WHERE c.status = 'completed' AND NOT EXISTS (SELECT 1 FROM call_outcome o WHERE o.call_session_id = c.id)`))
	})
}

// TestObjectionsRacingOutcome: no objection lands on a completed call, and the
// outcome's deferred objections are exactly the Deferred ones committed before it.
func TestObjectionsRacingOutcome(t *testing.T) {
	forEachIsolation(t, func(t *testing.T, iso string) {
		b := setupIsolation(t, 20, iso)
		for range 20 {
			c := b.call(t, nil, CallInProgress)
			_, err := b.createObjection(c.ID, NewObjection{Objection: "early", Outcome: ObjectionDeferred})
			require.NoError(t, err)

			var out Outcome
			errs := race(16, func(i int) error {
				if i == 0 {
					var err error
					out, err = b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
					return err
				}
				outcome := ObjectionDeferred
				if i%3 == 0 {
					outcome = ObjectionResolved
				}
				_, err := b.createObjection(c.ID, NewObjection{Objection: "late", Outcome: outcome})
				if errors.Is(err, ErrCallNotInProgress) {
					return nil // closed by the outcome: refused, as it must be
				}
				return err
			})
			for _, err := range errs {
				require.NoError(t, err)
			}
			rows, err := b.pool.Query(b.ctx, `SELECT id FROM objection_response WHERE call_session_id = $1 AND outcome = 'Deferred' ORDER BY created_at, id`, c.ID)
			require.NoError(t, err)
			var stored []uuid.UUID
			for rows.Next() {
				var id uuid.UUID
				require.NoError(t, rows.Scan(&id))
				stored = append(stored, id)
			}
			require.NoError(t, rows.Err())
			var reported []uuid.UUID
			for _, o := range out.DeferredObjections {
				reported = append(reported, o.ID)
			}
			require.Equal(t, stored, reported, "every stored Deferred objection committed before the outcome, and the outcome lists them all")
		}
	})
}

// TestClientCountRacingAdvisoryDecision flips a prospect's client_count across
// the advisory threshold while outcomes are decided for its calls. Every decision
// must match the rule for the advisory mode it recorded, and the recorded mode must
// be the prospect's at commit: the FOR SHARE lock makes a flip wait for the
// outcome's commit, or land before the outcome reads it.
func TestClientCountRacingAdvisoryDecision(t *testing.T) {
	forEachIsolation(t, func(t *testing.T, iso string) {
		b := setupIsolation(t, 20, iso)
		p := b.prospect(t, ptr[int32](100))
		const n = 40
		calls := make([]Call, n)
		for i := range calls {
			calls[i] = b.callFor(t, p, CallInProgress)
		}
		outcomes := make([]Outcome, n)
		errs := race(2*n, func(i int) error {
			if i%2 == 1 {
				count := int32(100)
				if i%4 == 1 {
					count = 900
				}
				_, err := b.updateProspect(p.ID, ProspectPatch{SetClientCount: true, ClientCount: &count})
				return err
			}
			var err error
			outcomes[i/2], err = b.createOutcome(calls[i/2].ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
			return err
		})
		booked := 0
		for i, err := range errs {
			if i%2 == 1 {
				require.NoError(t, err)
				continue
			}
			if errors.Is(err, ErrOutcomeNotAllowedInAdvisoryMode) {
				require.Zero(t, b.outcomeRows(t, calls[i/2].ID))
				continue
			}
			require.NoError(t, err)
			require.False(t, outcomes[i/2].AdvisoryMode, "Meeting_Booked only when not advisory")
			booked++
		}
		t.Logf("%d of %d Meeting_Booked decided while the prospect had >= 500 clients", booked, n)
	})
}

// TestClientCountChangeDuringDecision: the outcome reads client_count without
// locking the prospect, so a change never waits for a decision, nor a decision
// for a change; the decision records the state it used.
func TestClientCountChangeDuringDecision(t *testing.T) {
	t.Parallel()

	t.Run("ChangeWhileDecidingGoesAhead", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 10)
		c := b.call(t, ptr[int32](900), CallInProgress)
		locked, release := make(chan struct{}), make(chan struct{})
		b.svc.hooks.afterOutcomeLock = func(context.Context, *Tx) error {
			close(locked)
			<-release
			return nil
		}
		outcome := make(chan error, 1)
		go func() {
			_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
			outcome <- err
		}()
		<-locked
		_, err := b.updateProspect(c.ProspectID, ProspectPatch{SetClientCount: true, ClientCount: ptr[int32](10)})
		require.NoError(t, err, "the change does not wait for the decision")
		close(release)
		require.NoError(t, <-outcome)
		out, err := b.svc.GetOutcome(b.ctx, b.org, c.ID)
		require.NoError(t, err)
		require.False(t, out.AdvisoryMode, "decided on the 900 clients it read")
	})

	t.Run("UncommittedChangeIsNotWaitedFor", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 10)
		c := b.call(t, ptr[int32](900), CallInProgress)
		tx, err := b.pool.Begin(b.ctx)
		require.NoError(t, err)
		defer tx.Rollback(context.WithoutCancel(b.ctx))
		_, err = tx.Exec(b.ctx, `UPDATE prospect SET client_count = 10 WHERE id = $1`, c.ProspectID)
		require.NoError(t, err)
		out, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
		require.NoError(t, err, "ordered before the change, on the committed 900 clients")
		require.False(t, out.AdvisoryMode)
		require.NoError(t, tx.Commit(b.ctx))
	})
}

// TestObjectionCommittedWhileOutcomeWaits: an objection holds the call's lock
// when an outcome arrives; the outcome waits, and its checks, which read in the
// statement after the lock, see the objection that committed meanwhile.
func TestObjectionCommittedWhileOutcomeWaits(t *testing.T) {
	t.Parallel()
	forEachIsolation(t, func(t *testing.T, iso string) {
		b := setupIsolation(t, 10, iso)
		c := b.call(t, nil, CallInProgress)
		inserted, release := make(chan Objection, 1), make(chan struct{})
		objection := make(chan error, 1)
		go func() {
			// Inside Idempotent the objection's transaction stays open until the
			// answer is stored: the test holds it there.
			req := IdempotentRequest{Key: "k", Method: "POST", Path: "/v1/calls/" + c.ID.String() + "/objections", Body: []byte(`{}`)}
			_, _, err := b.svc.Idempotent(b.ctx, b.org, req, func(tx *Tx) (StoredResponse, error) {
				o, err := b.svc.CreateObjection(b.ctx, tx, b.org, c.ID, NewObjection{Objection: "budget", Outcome: ObjectionDeferred})
				if err != nil {
					return StoredResponse{}, err
				}
				inserted <- o
				<-release
				return StoredResponse{Status: http.StatusCreated, Body: []byte(`{}`)}, nil
			})
			objection <- err
		}()
		obj := <-inserted
		outcome := make(chan Outcome, 1)
		outcomeErr := make(chan error, 1)
		go func() {
			out, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
			outcome <- out
			outcomeErr <- err
		}()
		b.waitUntilBlocked(t)
		close(release)
		require.NoError(t, <-objection)
		out := <-outcome
		require.NoError(t, <-outcomeErr)
		require.Len(t, out.DeferredObjections, 1, "the objection committed while the outcome waited")
		require.Equal(t, obj.ID, out.DeferredObjections[0].ID)
	})
}

// TestStatusChangeDuringOutcomeCreation: a cancel that arrives while an outcome
// holds the call waits and then fails; an outcome that arrives while a cancel
// holds the call waits and then fails.
func TestStatusChangeDuringOutcomeCreation(t *testing.T) {
	t.Parallel()

	t.Run("CancelWaitsForOutcome", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 10)
		c := b.call(t, nil, CallInProgress)
		locked, release := make(chan struct{}), make(chan struct{})
		b.svc.hooks.afterOutcomeLock = func(context.Context, *Tx) error {
			close(locked)
			<-release
			return nil
		}
		outcome := make(chan error, 1)
		go func() {
			_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
			outcome <- err
		}()
		<-locked
		cancel := make(chan error, 1)
		go func() {
			_, err := b.cancelCall(c.ID)
			cancel <- err
		}()
		b.waitUntilBlocked(t)
		close(release)
		require.NoError(t, <-outcome)
		require.ErrorIs(t, <-cancel, ErrInvalidCallTransition)
		got, err := b.svc.GetCall(b.ctx, b.org, c.ID)
		require.NoError(t, err)
		require.Equal(t, CallCompleted, got.Status)
	})

	t.Run("OutcomeWaitsForCancel", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 10)
		c := b.call(t, nil, CallInProgress)
		tx, err := b.pool.Begin(b.ctx)
		require.NoError(t, err)
		defer tx.Rollback(context.WithoutCancel(b.ctx))
		_, err = tx.Exec(b.ctx, db.CancelCall, uuid.UUID(b.org), c.ID)
		require.NoError(t, err)
		outcome := make(chan error, 1)
		go func() {
			_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
			outcome <- err
		}()
		b.waitUntilBlocked(t)
		require.NoError(t, tx.Commit(b.ctx))
		require.ErrorIs(t, <-outcome, ErrCallNotInProgress)
		require.Zero(t, b.outcomeRows(t, c.ID))
	})
}

// TestUniqueConstraintBackstop bypasses the lock's protection: a second outcome
// row is inserted inside the outcome's own transaction after its checks passed.
// The unique violation that follows still answers "outcome exists".
func TestUniqueConstraintBackstop(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	c := b.call(t, nil, CallInProgress)
	b.svc.hooks.afterOutcomeLock = func(ctx context.Context, tx *Tx) error {
		_, err := tx.Queries().CreateOutcome(ctx, db.CreateOutcomeParams{
			OrganizationID: uuid.UUID(b.org), CallSessionID: c.ID, OutcomeType: db.OutcomeTypeFollowUpScheduled,
			QualificationFlags: []byte(`{}`), AdvisoryMode: true,
		})
		return err
	}
	_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
	require.ErrorIs(t, err, ErrOutcomeExists)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr, "it came from the constraint")
	require.Equal(t, "call_outcome_call_session_id_key", pgErr.ConstraintName)
	require.Zero(t, b.outcomeRows(t, c.ID), "the transaction rolled back")
	got, err := b.svc.GetCall(b.ctx, b.org, c.ID)
	require.NoError(t, err)
	require.Equal(t, CallInProgress, got.Status)
}
