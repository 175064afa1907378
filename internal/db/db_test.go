package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/db"
	"github.com/callsvc/callsvc/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type testBundle struct {
	pool *pgxpool.Pool
	q    *db.Queries
	org  db.Organization
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	pool := dbtest.NewPool(t)
	q := db.New(pool)
	org, err := q.CreateOrganization(context.Background(), "Acme")
	require.NoError(t, err)
	return &testBundle{pool: pool, q: q, org: org}
}

func ptr[T any](v T) *T { return &v }

func (b *testBundle) prospect(t *testing.T, org uuid.UUID, clientCount *int32) db.Prospect {
	t.Helper()
	p, err := b.q.CreateProspect(context.Background(), db.CreateProspectParams{OrganizationID: org, Name: "Globex", ClientCount: clientCount})
	require.NoError(t, err)
	return p
}

func (b *testBundle) call(t *testing.T, p db.Prospect, status db.CallStatus) db.CallSession {
	t.Helper()
	c, err := b.q.CreateCall(context.Background(), db.CreateCallParams{OrganizationID: p.OrganizationID, ProspectID: p.ID, Status: status})
	require.NoError(t, err)
	return c
}

func requireSQLState(t *testing.T, err error, code string) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "want SQLSTATE %s, got %v", code, err)
	require.Equal(t, code, pgErr.Code, pgErr.Message)
}

func TestConstraints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("SecondOutcomeForOneCallIsUniqueViolation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.call(t, b.prospect(t, b.org.ID, ptr[int32](900)), db.CallStatusInProgress)
		params := db.CreateOutcomeParams{OrganizationID: b.org.ID, CallSessionID: c.ID, OutcomeType: db.OutcomeTypeMeetingBooked, QualificationFlags: json.RawMessage(`{}`)}
		_, err := b.q.CreateOutcome(ctx, params)
		require.NoError(t, err)
		_, err = b.q.CreateOutcome(ctx, params)
		requireSQLState(t, err, "23505")
	})

	t.Run("DisqualificationReasonExactlyWhenDisqualified", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.prospect(t, b.org.ID, nil)
		for _, tc := range []struct {
			typ    db.OutcomeType
			reason *string
			ok     bool
		}{
			{db.OutcomeTypeDisqualified, nil, false},
			{db.OutcomeTypeDisqualified, ptr(""), false},
			{db.OutcomeTypeDisqualified, ptr(" \t\n"), false},
			{db.OutcomeTypeFollowUpScheduled, ptr("budget"), false},
			{db.OutcomeTypeFollowUpScheduled, ptr(""), false},
			{db.OutcomeTypeDisqualified, ptr("no budget"), true},
			{db.OutcomeTypeFollowUpScheduled, nil, true},
		} {
			c := b.call(t, p, db.CallStatusInProgress)
			_, err := b.q.CreateOutcome(ctx, db.CreateOutcomeParams{OrganizationID: b.org.ID, CallSessionID: c.ID, OutcomeType: tc.typ, DisqualificationReason: tc.reason, QualificationFlags: json.RawMessage(`{}`)})
			if tc.ok {
				require.NoError(t, err, "%s %v", tc.typ, tc.reason)
			} else {
				requireSQLState(t, err, "23514")
			}
		}
	})

	t.Run("QualificationFlagsMustBeSmallObject", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.prospect(t, b.org.ID, nil)
		big, _ := json.Marshal(map[string]string{"x": strings.Repeat("x", 33000)})
		for _, flags := range []string{`[]`, `"x"`, string(big)} {
			c := b.call(t, p, db.CallStatusInProgress)
			_, err := b.q.CreateOutcome(ctx, db.CreateOutcomeParams{OrganizationID: b.org.ID, CallSessionID: c.ID, OutcomeType: db.OutcomeTypeFollowUpScheduled, QualificationFlags: json.RawMessage(flags)})
			requireSQLState(t, err, "23514")
		}
	})

	t.Run("NegativeClientCount", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.q.CreateProspect(ctx, db.CreateProspectParams{OrganizationID: b.org.ID, Name: "x", ClientCount: ptr[int32](-1)})
		requireSQLState(t, err, "23514")
	})

	t.Run("NameLength", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, name := range []string{"", " \t ", strings.Repeat("n", 201)} {
			_, err := b.q.CreateProspect(ctx, db.CreateProspectParams{OrganizationID: b.org.ID, Name: name})
			requireSQLState(t, err, "23514")
		}
	})

	t.Run("CallStatusAndTimestampsAgree", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.prospect(t, b.org.ID, nil)
		for _, stmt := range []string{
			`INSERT INTO call_session (organization_id, prospect_id, status) VALUES ($1, $2, 'in_progress')`,
			`INSERT INTO call_session (organization_id, prospect_id, status, started_at) VALUES ($1, $2, 'scheduled', now())`,
			`INSERT INTO call_session (organization_id, prospect_id, status, started_at) VALUES ($1, $2, 'completed', now())`,
			`INSERT INTO call_session (organization_id, prospect_id, status, started_at, ended_at) VALUES ($1, $2, 'in_progress', now(), now())`,
			`INSERT INTO call_session (organization_id, prospect_id, status, started_at, ended_at) VALUES ($1, $2, 'completed', now(), now() - interval '1 hour')`,
		} {
			_, err := b.pool.Exec(ctx, stmt, b.org.ID, p.ID)
			requireSQLState(t, err, "23514")
		}
	})

	t.Run("ParentOfAnotherOrganizationIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		other, err := b.q.CreateOrganization(ctx, "Other")
		require.NoError(t, err)
		theirs := b.prospect(t, other.ID, nil)
		theirCall := b.call(t, theirs, db.CallStatusInProgress)

		_, err = b.q.CreateCall(ctx, db.CreateCallParams{OrganizationID: b.org.ID, ProspectID: theirs.ID, Status: db.CallStatusScheduled})
		requireSQLState(t, err, "23503")
		_, err = b.q.CreateObjection(ctx, db.CreateObjectionParams{OrganizationID: b.org.ID, CallSessionID: theirCall.ID, Objection: "price", Outcome: db.ObjectionOutcomeDeferred})
		requireSQLState(t, err, "23503")
		_, err = b.q.CreateOutcome(ctx, db.CreateOutcomeParams{OrganizationID: b.org.ID, CallSessionID: theirCall.ID, OutcomeType: db.OutcomeTypeFollowUpScheduled, QualificationFlags: json.RawMessage(`{}`)})
		requireSQLState(t, err, "23503")
	})

	t.Run("AdvisoryModeIsDerived", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, tc := range []struct {
			count    *int32
			advisory bool
		}{{nil, true}, {ptr[int32](0), true}, {ptr[int32](499), true}, {ptr[int32](500), false}} {
			require.Equal(t, tc.advisory, b.prospect(t, b.org.ID, tc.count).AdvisoryMode)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	hash := make([]byte, 32)
	hash[0] = 7
	k, err := b.q.CreateAPIKey(ctx, db.CreateAPIKeyParams{OrganizationID: b.org.ID, KeyHash: hash, KeyPrefix: "csk_abcd"})
	require.NoError(t, err)

	got, err := b.q.GetActiveAPIKeyByHash(ctx, hash)
	require.NoError(t, err)
	require.Equal(t, db.GetActiveAPIKeyByHashRow{ID: k.ID, OrganizationID: b.org.ID}, got)

	revoked, err := b.q.RevokeAPIKey(ctx, k.ID)
	require.NoError(t, err)
	require.NotNil(t, revoked.RevokedAt)
	again, err := b.q.RevokeAPIKey(ctx, k.ID)
	require.NoError(t, err)
	require.Equal(t, revoked.RevokedAt, again.RevokedAt, "revoking twice keeps the first time")

	_, err = b.q.GetActiveAPIKeyByHash(ctx, hash)
	require.ErrorIs(t, err, pgx.ErrNoRows)

	_, err = b.q.CreateAPIKey(ctx, db.CreateAPIKeyParams{OrganizationID: b.org.ID, KeyHash: hash, KeyPrefix: "csk_abcd"})
	requireSQLState(t, err, "23505")

	org, err := b.q.GetOrganization(ctx, b.org.ID)
	require.NoError(t, err)
	require.Equal(t, "Acme", org.Name)
}

func TestProspectQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	other, err := b.q.CreateOrganization(ctx, "Other")
	require.NoError(t, err)
	b.prospect(t, other.ID, nil)

	var ids []uuid.UUID
	for range 5 {
		ids = append(ids, b.prospect(t, b.org.ID, nil).ID)
	}

	// Pages of two, newest first, never another organization's rows.
	var seen []uuid.UUID
	params := db.ListProspectsParams{OrganizationID: b.org.ID, MaxRows: 2}
	for {
		page, err := b.q.ListProspects(ctx, params)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			seen = append(seen, p.ID)
		}
		last := page[len(page)-1]
		params.CursorCreatedAt, params.CursorID = &last.CreatedAt, &last.ID
	}
	require.Len(t, seen, 5)
	for i := range ids {
		require.Equal(t, ids[len(ids)-1-i], seen[i])
	}

	p, err := b.q.GetProspect(ctx, db.GetProspectParams{OrganizationID: b.org.ID, ID: ids[0]})
	require.NoError(t, err)
	_, err = b.q.GetProspect(ctx, db.GetProspectParams{OrganizationID: other.ID, ID: ids[0]})
	require.ErrorIs(t, err, pgx.ErrNoRows)

	// Merge semantics: name only keeps client_count; set_client_count with NULL clears it.
	up, err := b.q.UpdateProspect(ctx, db.UpdateProspectParams{OrganizationID: b.org.ID, ID: p.ID, SetClientCount: true, ClientCount: ptr[int32](700)})
	require.NoError(t, err)
	require.Equal(t, ptr[int32](700), up.ClientCount)
	require.False(t, up.AdvisoryMode)
	up, err = b.q.UpdateProspect(ctx, db.UpdateProspectParams{OrganizationID: b.org.ID, ID: p.ID, Name: ptr("Renamed")})
	require.NoError(t, err)
	require.Equal(t, "Renamed", up.Name)
	require.Equal(t, ptr[int32](700), up.ClientCount)
	up, err = b.q.UpdateProspect(ctx, db.UpdateProspectParams{OrganizationID: b.org.ID, ID: p.ID, SetClientCount: true})
	require.NoError(t, err)
	require.Nil(t, up.ClientCount)
	require.True(t, up.AdvisoryMode)
	require.True(t, !up.UpdatedAt.Before(p.UpdatedAt))
	_, err = b.q.UpdateProspect(ctx, db.UpdateProspectParams{OrganizationID: other.ID, ID: p.ID, Name: ptr("x")})
	require.ErrorIs(t, err, pgx.ErrNoRows)
}

func TestCallQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	p1 := b.prospect(t, b.org.ID, nil)
	p2 := b.prospect(t, b.org.ID, nil)

	scheduled := b.call(t, p1, db.CallStatusScheduled)
	require.Nil(t, scheduled.StartedAt)
	running := b.call(t, p2, db.CallStatusInProgress)
	require.NotNil(t, running.StartedAt)

	got, err := b.q.GetCall(ctx, db.GetCallParams{OrganizationID: b.org.ID, ID: scheduled.ID})
	require.NoError(t, err)
	require.Equal(t, scheduled, got)

	list := func(status *db.CallStatus, prospect *uuid.UUID) []uuid.UUID {
		var rows []db.CallSession
		var err error
		if prospect != nil {
			rows, err = b.q.ListCallsOfProspect(ctx, db.ListCallsOfProspectParams{OrganizationID: b.org.ID, ProspectID: *prospect, Status: status, MaxRows: 10})
		} else {
			rows, err = b.q.ListCalls(ctx, db.ListCallsParams{OrganizationID: b.org.ID, Status: status, MaxRows: 10})
		}
		require.NoError(t, err)
		var ids []uuid.UUID
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		return ids
	}
	require.Equal(t, []uuid.UUID{running.ID, scheduled.ID}, list(nil, nil))
	require.Equal(t, []uuid.UUID{scheduled.ID}, list(ptr(db.CallStatusScheduled), nil))
	require.Equal(t, []uuid.UUID{running.ID}, list(nil, &p2.ID))
	require.Empty(t, list(ptr(db.CallStatusScheduled), &p2.ID))
	rows, err := b.q.ListCalls(ctx, db.ListCallsParams{OrganizationID: b.org.ID, CursorCreatedAt: &running.CreatedAt, CursorID: &running.ID, MaxRows: 10})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, scheduled.ID, rows[0].ID)

	started, err := b.q.StartCall(ctx, db.StartCallParams{OrganizationID: b.org.ID, ID: scheduled.ID})
	require.NoError(t, err)
	require.Equal(t, db.CallStatusInProgress, started.Status)
	require.NotNil(t, started.StartedAt)
	_, err = b.q.StartCall(ctx, db.StartCallParams{OrganizationID: b.org.ID, ID: scheduled.ID})
	require.ErrorIs(t, err, pgx.ErrNoRows, "start is only from scheduled")

	cancelled, err := b.q.CancelCall(ctx, db.CancelCallParams{OrganizationID: b.org.ID, ID: scheduled.ID})
	require.NoError(t, err)
	require.Equal(t, db.CallStatusCancelled, cancelled.Status)
	require.NotNil(t, cancelled.EndedAt)
	_, err = b.q.CancelCall(ctx, db.CancelCallParams{OrganizationID: b.org.ID, ID: scheduled.ID})
	require.ErrorIs(t, err, pgx.ErrNoRows)

	status, err := b.q.LockCallForObjection(ctx, db.LockCallForObjectionParams{OrganizationID: b.org.ID, ID: running.ID})
	require.NoError(t, err)
	require.Equal(t, db.CallStatusInProgress, status)

	require.NoError(t, b.q.CompleteCall(ctx, db.CompleteCallParams{OrganizationID: b.org.ID, ID: running.ID}))
	done, err := b.q.GetCall(ctx, db.GetCallParams{OrganizationID: b.org.ID, ID: running.ID})
	require.NoError(t, err)
	require.Equal(t, db.CallStatusCompleted, done.Status)
	require.NotNil(t, done.EndedAt)
}

func TestObjectionAndOutcomeQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	c := b.call(t, b.prospect(t, b.org.ID, ptr[int32](42)), db.CallStatusInProgress)

	var deferred []uuid.UUID
	var all []uuid.UUID
	for i, outcome := range []db.ObjectionOutcome{db.ObjectionOutcomeDeferred, db.ObjectionOutcomeResolved, db.ObjectionOutcomeDeferred, db.ObjectionOutcomeUnresolved} {
		var response *string
		if i%2 == 0 {
			response = ptr("we can phase it")
		}
		o, err := b.q.CreateObjection(ctx, db.CreateObjectionParams{OrganizationID: b.org.ID, CallSessionID: c.ID, Objection: "too expensive", Response: response, Outcome: outcome})
		require.NoError(t, err)
		require.Equal(t, response, o.Response)
		all = append(all, o.ID)
		if outcome == db.ObjectionOutcomeDeferred {
			deferred = append(deferred, o.ID)
		}
	}
	page, err := b.q.ListObjections(ctx, db.ListObjectionsParams{OrganizationID: b.org.ID, CallSessionID: c.ID, MaxRows: 3})
	require.NoError(t, err)
	require.Len(t, page, 3)
	require.Equal(t, all[3], page[0].ID, "newest first")
	last := page[2]
	rest, err := b.q.ListObjections(ctx, db.ListObjectionsParams{OrganizationID: b.org.ID, CallSessionID: c.ID, CursorCreatedAt: &last.CreatedAt, CursorID: &last.ID, MaxRows: 3})
	require.NoError(t, err)
	require.Len(t, rest, 1)
	require.Equal(t, all[0], rest[0].ID)

	_, err = b.q.GetCallForOutcomeForUpdate(ctx, db.GetCallForOutcomeForUpdateParams{OrganizationID: b.org.ID, ID: c.ID})
	require.NoError(t, err)
	none, err := b.q.GetOutcome(ctx, db.GetOutcomeParams{OrganizationID: b.org.ID, CallID: c.ID})
	require.NoError(t, err)
	require.Nil(t, none.OutcomeID)
	require.Equal(t, db.CallStatusInProgress, none.CallStatus)
	require.True(t, none.ProspectAdvisoryMode, "42 clients")
	require.Equal(t, deferred, objectionIDs(t, none.DeferredObjections))

	out, err := b.q.CreateOutcome(ctx, db.CreateOutcomeParams{OrganizationID: b.org.ID, CallSessionID: c.ID, OutcomeType: db.OutcomeTypeFollowUpScheduled, QualificationFlags: json.RawMessage(`{"budget": true}`), AdvisoryMode: true})
	require.NoError(t, err)
	got, err := b.q.GetOutcome(ctx, db.GetOutcomeParams{OrganizationID: b.org.ID, CallID: c.ID})
	require.NoError(t, err)
	require.Equal(t, &out.ID, got.OutcomeID)
	require.Equal(t, ptr(db.OutcomeTypeFollowUpScheduled), got.OutcomeType)
	require.JSONEq(t, `{"budget": true}`, string(got.QualificationFlags))
	require.Equal(t, ptr(true), got.AdvisoryMode)
	require.Equal(t, deferred, objectionIDs(t, got.DeferredObjections))

	_, err = b.q.GetOutcome(ctx, db.GetOutcomeParams{OrganizationID: uuid.New(), CallID: c.ID})
	require.ErrorIs(t, err, pgx.ErrNoRows)
}

func objectionIDs(t *testing.T, raw json.RawMessage) []uuid.UUID {
	t.Helper()
	var objs []struct {
		ID        uuid.UUID `json:"id"`
		CreatedAt time.Time `json:"createdAt"`
	}
	require.NoError(t, json.Unmarshal(raw, &objs))
	var ids []uuid.UUID
	for _, o := range objs {
		ids = append(ids, o.ID)
	}
	return ids
}

// TestTryLockCallForOutcome: the first transaction takes the call's lock; a
// second one does not and does not wait (SKIP LOCKED); two waiters
// (WaitForCallWriters) wait for the holder and not for each other, and both go
// on when it commits; a completed call is not locked.
func TestTryLockCallForOutcome(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a wait that should not happen fails, not hangs
	defer cancel()
	b := setup(t)
	c := b.call(t, b.prospect(t, b.org.ID, nil), db.CallStatusInProgress)
	try := db.TryLockCallForOutcomeParams{OrganizationID: b.org.ID, ID: c.ID}
	begin := func() pgx.Tx {
		tx, err := b.pool.Begin(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
		return tx
	}

	holder := begin()
	lock, err := b.q.WithTx(holder).TryLockCallForOutcome(ctx, try)
	require.NoError(t, err)
	require.True(t, lock.Locked)
	var holderPID int32
	require.NoError(t, holder.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&holderPID))

	waiters := make(chan error, 2)
	for range 2 {
		tx := begin()
		lock, err := b.q.WithTx(tx).TryLockCallForOutcome(ctx, try)
		require.NoError(t, err)
		require.False(t, lock.Locked, "the call is held: skipped, not waited for")
		go func() {
			waiters <- b.q.WithTx(tx).WaitForCallWriters(ctx, db.WaitForCallWritersParams{OrganizationID: b.org.ID, ID: c.ID})
		}()
	}
	require.Eventually(t, func() bool {
		var onHolder int
		err := b.pool.QueryRow(ctx, `
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND pg_blocking_pids(pid) = ARRAY[$1::int]`, holderPID).Scan(&onHolder)
		return err == nil && onHolder == 2
	}, 10*time.Second, 10*time.Millisecond, "both waiters wait for the holder alone")
	require.NoError(t, b.q.WithTx(holder).CompleteCall(ctx, db.CompleteCallParams{OrganizationID: b.org.ID, ID: c.ID}))
	require.NoError(t, holder.Commit(ctx))
	require.NoError(t, <-waiters)
	require.NoError(t, <-waiters)

	lock, err = b.q.WithTx(begin()).TryLockCallForOutcome(ctx, try)
	require.NoError(t, err)
	require.False(t, lock.Locked, "a completed call is not locked")
}

// TestGetCallForOutcomeForUpdateLocks holds the lock in one transaction and shows a
// second one waiting for it in pg_stat_activity until the first commits an
// outcome. The waiter's next statement, GetOutcome, sees that outcome. A single
// statement that locked and read at once would not: its subquery reads the
// snapshot from before the wait (the READ COMMITTED trap the split avoids).
func TestGetCallForOutcomeForUpdateLocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	c := b.call(t, b.prospect(t, b.org.ID, nil), db.CallStatusInProgress)
	params := db.GetCallForOutcomeForUpdateParams{OrganizationID: b.org.ID, ID: c.ID}

	tx1, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx1.Rollback(context.WithoutCancel(ctx))
	_, err = b.q.WithTx(tx1).GetCallForOutcomeForUpdate(ctx, params)
	require.NoError(t, err)
	var holder int32
	require.NoError(t, tx1.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&holder))

	type result struct {
		row           db.GetOutcomeRow
		lockAsked     time.Time // what the locking statement answered: when it started
		oneStatement  bool      // what a lock-and-read in one statement said of the outcome
		oneStatementS db.CallStatus
		err           error
	}
	waiter := func(split bool) chan result {
		done := make(chan result, 1)
		go func() {
			tx2, err := b.pool.Begin(ctx)
			if err != nil {
				done <- result{err: err}
				return
			}
			defer tx2.Rollback(context.WithoutCancel(ctx))
			var r result
			if split {
				var lock db.GetCallForOutcomeForUpdateRow
				if lock, r.err = b.q.WithTx(tx2).GetCallForOutcomeForUpdate(ctx, params); r.err == nil {
					r.lockAsked = lock.LockRequestedAt
					r.row, r.err = b.q.WithTx(tx2).GetOutcome(ctx, db.GetOutcomeParams{OrganizationID: b.org.ID, CallID: c.ID})
				}
			} else {
				r.err = tx2.QueryRow(ctx, `
					SELECT c.status, EXISTS (SELECT 1 FROM call_outcome o WHERE o.call_session_id = c.id)
					FROM call_session c WHERE c.id = $1 FOR UPDATE`, c.ID).Scan(&r.oneStatementS, &r.oneStatement)
			}
			done <- r
		}()
		return done
	}
	split, single := waiter(true), waiter(false)

	// Both show up waiting, the first for the holder, the second in line
	// behind it (or the holder).
	require.Eventually(t, func() bool {
		var waiting, onHolder int
		err := b.pool.QueryRow(ctx, `
			SELECT count(*), count(*) FILTER (WHERE $1::int = ANY (pg_blocking_pids(pid)))
			FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`, holder).Scan(&waiting, &onHolder)
		return err == nil && waiting == 2 && onHolder >= 1
	}, 10*time.Second, 10*time.Millisecond)
	seenWaiting := time.Now()

	_, err = b.q.WithTx(tx1).CreateOutcome(ctx, db.CreateOutcomeParams{OrganizationID: b.org.ID, CallSessionID: c.ID, OutcomeType: db.OutcomeTypeFollowUpScheduled, QualificationFlags: json.RawMessage(`{}`), AdvisoryMode: true})
	require.NoError(t, err)
	require.NoError(t, b.q.WithTx(tx1).CompleteCall(ctx, db.CompleteCallParams{OrganizationID: b.org.ID, ID: c.ID}))
	held := time.Since(seenWaiting)
	require.NoError(t, tx1.Commit(ctx))

	r := <-split
	require.NoError(t, r.err)
	require.Equal(t, db.CallStatusCompleted, r.row.CallStatus, "the read after the lock sees the call as the winner left it")
	require.NotNil(t, r.row.OutcomeID, "and the winner's outcome")
	// The read's checked_at minus the lock's start is the wait, by PostgreSQL's
	// clock: at least as long as the holder kept the lock after the waiter was seen.
	require.GreaterOrEqual(t, r.row.CheckedAt.Sub(r.lockAsked), held)

	r = <-single
	require.NoError(t, r.err)
	require.Equal(t, db.CallStatusCompleted, r.oneStatementS, "one statement: the locked row is the new version")
	require.False(t, r.oneStatement, "but its subquery still reads the old snapshot")
}
