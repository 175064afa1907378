package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/callsvc/callsvc/internal/db"
)

// The SQL limit: the outcome transaction sent straight to PostgreSQL, one
// connection per client (as pgbench does), with pgx's statement cache. Each form
// decides Meeting_Booked with the service's checks and writes what it writes.
const (
	// sqlEach is the service's statements, one round trip each: BEGIN; the lock
	// (GetCallForOutcomeForUpdate, the form that waits in the lock's queue); the
	// read after it (GetOutcome); the checks in Go; UPDATE the call; INSERT the
	// outcome; COMMIT.
	sqlEach = "sql-6"
	// sqlPipelined sends the service's statements in its two round trips: BEGIN
	// with the lock (TryLockCallForOutcome, WaitForCallWriters, TryLockCallForOutcome) and the read,
	// then UPDATE, INSERT and COMMIT.
	sqlPipelined = "sql-2"
	// sqlOne is one statement, its checks in SQL: one round trip.
	sqlOne = "sql-1"
)

// roundTrips is what each form costs per outcome.
var roundTrips = map[string]int{formReference: 5, sqlEach: 6, sqlPipelined: 2, sqlOne: 1}

// decideOutcomeSQL is sqlOne: the same locking read, checks and writes as the
// service, in one statement. Data-modifying CTEs run once each, in one snapshot;
// the call is locked by c before ins and upd write.
const decideOutcomeSQL = `
WITH c AS (
    SELECT
        c.id,
        c.organization_id,
        c.status,
        p.advisory_mode,
        EXISTS (
            SELECT 1
            FROM call_outcome o
            WHERE o.call_session_id = c.id
        ) AS has_outcome,
        coalesce((
            SELECT json_agg(json_build_object(
                'id', r.id,
                'callId', r.call_session_id,
                'objection', r.objection,
                'response', r.response,
                'outcome', r.outcome,
                'createdAt', r.created_at
            ) ORDER BY r.created_at, r.id)
            FROM objection_response r
            WHERE r.call_session_id = c.id
                AND r.outcome = 'Deferred'
        ), '[]')::jsonb AS deferred_objections
    FROM call_session c
    JOIN prospect p
        ON p.organization_id = c.organization_id
        AND p.id = c.prospect_id
    WHERE c.organization_id = $1::uuid
        AND c.id = $2::uuid
    FOR UPDATE OF c
), ins AS (
    INSERT INTO call_outcome (
        organization_id,
        call_session_id,
        outcome_type,
        qualification_flags,
        advisory_mode
    )
    SELECT
        c.organization_id,
        c.id,
        $3::outcome_type,
        '{}'::jsonb,
        c.advisory_mode
    FROM c
    WHERE NOT c.has_outcome
        AND c.status = 'in_progress'
        AND (NOT c.advisory_mode OR $3::outcome_type IN ('Follow_up_Scheduled', 'Disqualified'))
    RETURNING id, created_at, organization_id, call_session_id
), upd AS (
    UPDATE call_session s
    SET
        status = 'completed',
        ended_at = now(),
        updated_at = now()
    FROM ins
    WHERE s.organization_id = ins.organization_id
        AND s.id = ins.call_session_id
)
SELECT
    ins.id,
    ins.created_at,
    c.deferred_objections
FROM c
LEFT JOIN ins
    ON true`

// sqlClient runs one form of the transaction on its own connection.
type sqlClient struct {
	form string
	conn *pgx.Conn
	q    *db.Queries
	org  uuid.UUID
}

func newSQLClient(ctx context.Context, url, form string, org uuid.UUID) (*sqlClient, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("%s client: %w", form, err)
	}
	return &sqlClient{form: form, conn: conn, q: db.New(conn), org: org}, nil
}

func (c *sqlClient) close() { _ = c.conn.Close(context.Background()) }

// errRefused is a transaction the checks refused: the service would answer 409
// or 422 and roll back.
var errRefused = errors.New("refused")

func (c *sqlClient) do(ctx context.Context, id [16]byte) (int, error) {
	var err error
	switch c.form {
	case sqlEach:
		err = c.each(ctx, id)
	case sqlPipelined:
		err = c.pipelined(ctx, id)
	case sqlOne:
		err = c.one(ctx, id)
	default:
		err = fmt.Errorf("unknown form %q", c.form)
	}
	switch {
	case err == nil:
		return http.StatusCreated, nil
	case errors.Is(err, errRefused):
		return http.StatusConflict, nil
	default:
		return 0, err
	}
}

// check is the service's checks for Meeting_Booked on the locked call.
func check(call db.GetOutcomeRow) error {
	if call.OutcomeID != nil || call.CallStatus != db.CallStatusInProgress || call.ProspectAdvisoryMode {
		return errRefused
	}
	return nil
}

// outcomeParams is the outcome's insert, with a time-ordered id as the
// service makes.
func (c *sqlClient) outcomeParams(id [16]byte) db.CreateOutcomeParams {
	outcomeID := uuid.Must(uuid.NewV7())
	return db.CreateOutcomeParams{
		ID:                 &outcomeID,
		OrganizationID:     c.org,
		CallSessionID:      id,
		OutcomeType:        db.OutcomeTypeMeetingBooked,
		QualificationFlags: []byte(`{}`),
		AdvisoryMode:       false,
	}
}

func (c *sqlClient) each(ctx context.Context, id [16]byte) error {
	tx, err := c.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := c.q.WithTx(tx)
	if _, err := q.GetCallForOutcomeForUpdate(ctx, db.GetCallForOutcomeForUpdateParams{OrganizationID: c.org, ID: id}); err != nil {
		return err
	}
	call, err := q.GetOutcome(ctx, db.GetOutcomeParams{OrganizationID: c.org, CallID: id})
	if err != nil {
		return err
	}
	if err := check(call); err != nil {
		return err
	}
	if err := q.CompleteCall(ctx, db.CompleteCallParams{OrganizationID: c.org, ID: id}); err != nil {
		return err
	}
	if _, err := q.CreateOutcome(ctx, c.outcomeParams(id)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// pipelined is the service's transaction without the service: the same
// statements and batches, decoded only as far as the checks need.
func (c *sqlClient) pipelined(ctx context.Context, id [16]byte) error {
	var call db.GetOutcomeRow
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue(db.TryLockCallForOutcome, c.org, id)
	b.Queue(db.WaitForCallWriters, c.org, id)
	b.Queue(db.TryLockCallForOutcome, c.org, id)
	b.Queue(db.GetOutcome, c.org, id).QueryRow(func(row pgx.Row) error {
		var deferred []byte
		return row.Scan(&call.CallID, &call.CallStatus, &call.ProspectAdvisoryMode, &call.OutcomeID, nil, nil, nil, nil, nil, &deferred, nil)
	})
	err := c.conn.SendBatch(ctx, b).Close()
	if err == nil {
		err = check(call)
	}
	if err == nil {
		p := c.outcomeParams(id)
		var commit pgconn.CommandTag
		b = &pgx.Batch{}
		b.Queue(db.CompleteCall, c.org, id)
		b.Queue(db.CreateOutcome, p.ID, p.OrganizationID, p.CallSessionID, p.OutcomeType, p.DisqualificationReason, p.QualificationFlags, p.AdvisoryMode, p.CreatedAt)
		b.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error { commit = ct; return nil })
		err = c.conn.SendBatch(ctx, b).Close()
		if err == nil && commit.String() != "COMMIT" {
			err = fmt.Errorf("commit answered %q", commit.String())
		}
	}
	if err != nil && c.conn.PgConn().TxStatus() != 'I' {
		_, _ = c.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return err
}

func (c *sqlClient) one(ctx context.Context, id [16]byte) error {
	var outcomeID *[16]byte
	var deferred []byte
	var createdAt pgtype.Timestamptz
	err := c.conn.QueryRow(ctx, decideOutcomeSQL, c.org, id, db.OutcomeTypeMeetingBooked).
		Scan(&outcomeID, &createdAt, &deferred)
	if err != nil {
		return err
	}
	if outcomeID == nil {
		return errRefused
	}
	return nil
}
