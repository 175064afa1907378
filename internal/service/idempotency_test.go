package service

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// createProspectAnswer is what a handler does: the operation, then its answer.
func (b *testBundle) createProspectAnswer(name string) func(tx *Tx) (StoredResponse, error) {
	return func(tx *Tx) (StoredResponse, error) {
		p, err := b.svc.CreateProspect(b.ctx, tx, b.org, NewProspect{Name: name})
		if err != nil {
			return StoredResponse{}, err
		}
		body, _ := json.Marshal(map[string]any{"id": p.ID})
		return StoredResponse{Status: http.StatusCreated, Location: "/v1/prospects/" + p.ID.String(), Body: body}, nil
	}
}

func TestIdempotent(t *testing.T) {
	t.Parallel()

	req := func(key, body string) IdempotentRequest {
		return IdempotentRequest{Key: key, Method: "POST", Path: "/v1/prospects", Body: []byte(body)}
	}
	prospects := func(b *testBundle) int { return b.count(t, `SELECT count(*) FROM prospect`) }

	t.Run("ReplaysTheFirstAnswer", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		first, replayed, err := b.svc.Idempotent(b.ctx, b.org, req("k1", `{"name":"A"}`), b.createProspectAnswer("A"))
		require.NoError(t, err)
		require.False(t, replayed)
		again, replayed, err := b.svc.Idempotent(b.ctx, b.org, req("k1", `{"name":"A"}`), b.createProspectAnswer("A"))
		require.NoError(t, err)
		require.True(t, replayed)
		require.Equal(t, first, again)
		require.Equal(t, 1, prospects(b))
	})

	t.Run("ReusedWithAnotherRequest", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		_, _, err := b.svc.Idempotent(b.ctx, b.org, req("k1", `{"name":"A"}`), b.createProspectAnswer("A"))
		require.NoError(t, err)
		_, _, err = b.svc.Idempotent(b.ctx, b.org, req("k1", `{"name":"B"}`), b.createProspectAnswer("B"))
		require.ErrorIs(t, err, ErrIdempotencyKeyReused)
		// Another path or method is another scope: the same key is free there.
		other := req("k1", `{"name":"B"}`)
		other.Path = "/v1/calls"
		_, replayed, err := b.svc.Idempotent(b.ctx, b.org, other, b.createProspectAnswer("B"))
		require.NoError(t, err)
		require.False(t, replayed)
		require.Equal(t, 2, prospects(b))
	})

	t.Run("KeysArePerOrganization", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		_, _, err := b.svc.Idempotent(b.ctx, b.org, req("shared", `{"name":"A"}`), b.createProspectAnswer("A"))
		require.NoError(t, err)
		other, _, err := b.createOrganization("Other")
		require.NoError(t, err)
		ob := *b
		ob.org = OrgID(other.ID)
		_, replayed, err := ob.svc.Idempotent(b.ctx, ob.org, req("shared", `{"name":"B"}`), ob.createProspectAnswer("B"))
		require.NoError(t, err)
		require.False(t, replayed, "B's key equal to A's is independent")
		require.Equal(t, 2, prospects(b))
	})

	t.Run("FailuresAreNotStored", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		_, _, err := b.svc.Idempotent(b.ctx, b.org, req("k", `{"name":""}`), b.createProspectAnswer(""))
		requireInvalid(t, err, "name")
		refused := func(tx *Tx) (StoredResponse, error) {
			_, err := b.svc.CreateProspect(b.ctx, tx, b.org, NewProspect{Name: "written, then rolled back"})
			require.NoError(t, err)
			return StoredResponse{}, ErrCallNotFound
		}
		_, _, err = b.svc.Idempotent(b.ctx, b.org, req("k", `{"name":"x"}`), refused)
		require.ErrorIs(t, err, ErrCallNotFound)
		require.Zero(t, prospects(b), "a refusal rolls its writes back")
		require.Zero(t, b.count(t, `SELECT count(*) FROM idempotency_key`))
		// The key is still free for a request that succeeds.
		_, replayed, err := b.svc.Idempotent(b.ctx, b.org, req("k", `{"name":"A"}`), b.createProspectAnswer("A"))
		require.NoError(t, err)
		require.False(t, replayed)
	})

	t.Run("ExpiredKeysAreForgottenAndCleanedUp", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		_, _, err := b.svc.Idempotent(b.ctx, b.org, req("old", `{"name":"A"}`), b.createProspectAnswer("A"))
		require.NoError(t, err)
		_, err = b.pool.Exec(b.ctx, `UPDATE idempotency_key SET created_at = now() - interval '25 hours', expires_at = now() - interval '1 hour'`)
		require.NoError(t, err)
		_, replayed, err := b.svc.Idempotent(b.ctx, b.org, req("old", `{"name":"B"}`), b.createProspectAnswer("B"))
		require.NoError(t, err, "an expired key is free again")
		require.False(t, replayed)
		require.Equal(t, 2, prospects(b))

		for i := range 5 {
			_, _, err := b.svc.Idempotent(b.ctx, b.org, req("x"+string(rune('a'+i)), `{}`), b.createProspectAnswer("C"))
			require.NoError(t, err)
		}
		_, err = b.pool.Exec(b.ctx, `UPDATE idempotency_key SET created_at = now() - interval '25 hours', expires_at = now() - interval '1 hour' WHERE key <> 'old'`)
		require.NoError(t, err)
		n, err := b.svc.DeleteExpiredIdempotencyKeys(b.ctx, 2)
		require.NoError(t, err)
		require.EqualValues(t, 5, n)
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM idempotency_key`))
	})

	t.Run("ConcurrentRequestsWithOneKeyRunOnce", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 10)
		c := b.call(t, ptr[int32](900), CallInProgress)
		outcome := func(tx *Tx) (StoredResponse, error) {
			o, err := b.svc.CreateOutcome(b.ctx, tx, b.org, c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
			if err != nil {
				return StoredResponse{}, err
			}
			return StoredResponse{Status: http.StatusCreated, Body: []byte(o.ID.String())}, nil
		}
		r := IdempotentRequest{Key: "retry-1", Method: "POST", Path: "/v1/calls/" + c.ID.String() + "/outcome", Body: []byte(`{"outcomeType":"Meeting_Booked"}`)}
		bodies := make([][]byte, 20)
		errs := race(20, func(i int) error {
			resp, _, err := b.svc.Idempotent(b.ctx, b.org, r, outcome)
			bodies[i] = resp.Body
			return err
		})
		var first []byte
		answered := 0
		for i, err := range errs {
			if errors.Is(err, ErrIdempotencyKeyInUse) {
				continue
			}
			require.NoError(t, err, "every answer is the outcome or 'in use'")
			if first == nil {
				first = bodies[i]
			}
			require.Equal(t, first, bodies[i], "the same outcome, replayed")
			answered++
		}
		require.GreaterOrEqual(t, answered, 1)
		require.Equal(t, 1, b.outcomeRows(t, c.ID), "the operation ran once")
	})

	t.Run("FailureBetweenOperationAndStoreLosesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		c := b.call(t, ptr[int32](900), CallInProgress)
		outcome := func(tx *Tx) (StoredResponse, error) {
			o, err := b.svc.CreateOutcome(b.ctx, tx, b.org, c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
			if err != nil {
				return StoredResponse{}, err
			}
			return StoredResponse{Status: http.StatusCreated, Body: []byte(o.ID.String())}, nil
		}
		r := IdempotentRequest{Key: "k", Method: "POST", Path: "/v1/calls/" + c.ID.String() + "/outcome", Body: []byte(`{}`)}
		crash := errors.New("crash before the answer is stored")
		b.svc.hooks.beforeIdempotentStore = func() error { return crash }
		_, _, err := b.svc.Idempotent(b.ctx, b.org, r, outcome)
		require.ErrorIs(t, err, crash)
		require.Zero(t, b.outcomeRows(t, c.ID), "the write went with the answer")
		got, err := b.svc.GetCall(b.ctx, b.org, c.ID)
		require.NoError(t, err)
		require.Equal(t, CallInProgress, got.Status)

		b.svc.hooks.beforeIdempotentStore = nil
		first, replayed, err := b.svc.Idempotent(b.ctx, b.org, r, outcome)
		require.NoError(t, err, "the retry runs the operation")
		require.False(t, replayed)
		again, replayed, err := b.svc.Idempotent(b.ctx, b.org, r, outcome)
		require.NoError(t, err)
		require.True(t, replayed)
		require.Equal(t, first, again)
		require.Equal(t, 1, b.outcomeRows(t, c.ID), "exactly one write")
		_, err = uuid.ParseBytes(first.Body)
		require.NoError(t, err)
	})
}
