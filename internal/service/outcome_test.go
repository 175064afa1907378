package service

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/internal/db"
)

// TestCreateOutcomeRules gives each rule of the contract, and the order in which
// they apply, a test of its own.
func TestCreateOutcomeRules(t *testing.T) {
	t.Parallel()

	t.Run("Success", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		c := b.call(t, ptr[int32](900), CallInProgress)
		var deferred []uuid.UUID
		for _, o := range []ObjectionOutcome{ObjectionDeferred, ObjectionResolved, ObjectionDeferred, ObjectionUnresolved} {
			obj, err := b.createObjection(c.ID, NewObjection{Objection: "price", Outcome: o})
			require.NoError(t, err)
			if o == ObjectionDeferred {
				deferred = append(deferred, obj.ID)
			}
		}
		out, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked, QualificationFlags: json.RawMessage(`{"budget": "approved"}`)})
		require.NoError(t, err)
		require.Equal(t, c.ID, out.CallID)
		require.Equal(t, OutcomeMeetingBooked, out.OutcomeType)
		require.False(t, out.AdvisoryMode)
		require.Nil(t, out.DisqualificationReason)
		require.JSONEq(t, `{"budget": "approved"}`, string(out.QualificationFlags))
		require.Len(t, out.DeferredObjections, 2)
		for i, o := range out.DeferredObjections {
			require.Equal(t, deferred[i], o.ID, "deferred objections in the order recorded")
			require.Equal(t, ObjectionDeferred, o.Outcome)
			require.Equal(t, c.ID, o.CallID)
		}

		call, err := b.svc.GetCall(b.ctx, b.org, c.ID)
		require.NoError(t, err)
		require.Equal(t, CallCompleted, call.Status)
		require.NotNil(t, call.EndedAt)

		got, err := b.svc.GetOutcome(b.ctx, b.org, c.ID)
		require.NoError(t, err)
		require.Equal(t, out.ID, got.ID)
		require.Equal(t, out.DeferredObjections, got.DeferredObjections)
		require.JSONEq(t, string(out.QualificationFlags), string(got.QualificationFlags))
	})

	t.Run("FlagsDefaultToEmptyObject", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		out, err := b.createOutcome(b.call(t, nil, CallInProgress).ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
		require.NoError(t, err)
		require.JSONEq(t, `{}`, string(out.QualificationFlags))
		require.Empty(t, out.DeferredObjections)
		require.NotNil(t, out.DeferredObjections, "[] not null")
		require.True(t, out.AdvisoryMode)
	})

	t.Run("1_CallNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		_, err := b.createOutcome(uuid.New(), NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
		require.ErrorIs(t, err, ErrCallNotFound)

		// Another organization's call does not exist for the caller.
		c := b.call(t, nil, CallInProgress)
		other, _, err := b.createOrganization("Other")
		require.NoError(t, err)
		ob := *b
		ob.org = OrgID(other.ID)
		_, err = ob.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeFollowUpScheduled})
		require.ErrorIs(t, err, ErrCallNotFound)
		require.Zero(t, b.outcomeRows(t, c.ID))
	})

	t.Run("2_OutcomeExistsBeforeEverythingElse", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		c := b.call(t, nil, CallCompleted)
		// Completed (not in progress), no reason, and not allowed in advisory
		// mode: the existing outcome decides.
		_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeDisqualified})
		require.ErrorIs(t, err, ErrOutcomeExists)
		_, err = b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked})
		require.ErrorIs(t, err, ErrOutcomeExists)
		require.Equal(t, 1, b.outcomeRows(t, c.ID))
	})

	t.Run("3_CallNotInProgressBeforeReasonAndAdvisory", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		for _, status := range []CallStatus{CallScheduled, CallCancelled} {
			c := b.call(t, nil, status)
			for _, in := range []NewOutcome{
				{OutcomeType: OutcomeFollowUpScheduled},
				{OutcomeType: OutcomeDisqualified},                                    // reason missing
				{OutcomeType: OutcomeMeetingBooked, DisqualificationReason: ptr("x")}, // reason not allowed
				{OutcomeType: OutcomeNotInterested},                                   // advisory
			} {
				_, err := b.createOutcome(c.ID, in)
				require.ErrorIs(t, err, ErrCallNotInProgress, "%s %+v", status, in)
			}
			require.Zero(t, b.outcomeRows(t, c.ID))
			got, err := b.svc.GetCall(b.ctx, b.org, c.ID)
			require.NoError(t, err)
			require.Equal(t, status, got.Status)
		}
	})

	t.Run("4_DisqualificationReasonRequired", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		c := b.call(t, nil, CallInProgress)
		for _, reason := range []*string{nil, ptr(""), ptr("   "), ptr("\t\n")} {
			_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeDisqualified, DisqualificationReason: reason})
			require.ErrorIs(t, err, ErrDisqualificationReasonRequired)
		}
		require.Zero(t, b.outcomeRows(t, c.ID))
		out, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeDisqualified, DisqualificationReason: ptr("no budget")})
		require.NoError(t, err)
		require.Equal(t, ptr("no budget"), out.DisqualificationReason)
	})

	t.Run("4_DisqualificationReasonNotAllowedBeforeAdvisory", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		c := b.call(t, nil, CallInProgress) // advisory: Meeting_Booked would be refused too
		for _, typ := range []OutcomeType{OutcomeMeetingBooked, OutcomeFollowUpScheduled, OutcomeNotInterested} {
			for _, reason := range []string{"", " ", "because"} {
				_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: typ, DisqualificationReason: &reason})
				require.ErrorIs(t, err, ErrDisqualificationReasonNotAllowed, "%s %q", typ, reason)
			}
		}
		require.Zero(t, b.outcomeRows(t, c.ID))
	})

	t.Run("5_AdvisoryMode", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		for _, tc := range []struct {
			clientCount *int32
			typ         OutcomeType
			allowed     bool
		}{
			{nil, OutcomeMeetingBooked, false},
			{nil, OutcomeNotInterested, false},
			{ptr[int32](499), OutcomeMeetingBooked, false},
			{ptr[int32](0), OutcomeNotInterested, false},
			{nil, OutcomeFollowUpScheduled, true},
			{ptr[int32](499), OutcomeDisqualified, true},
			{ptr[int32](500), OutcomeMeetingBooked, true},
			{ptr[int32](500), OutcomeNotInterested, true},
		} {
			c := b.call(t, tc.clientCount, CallInProgress)
			in := NewOutcome{OutcomeType: tc.typ}
			if tc.typ == OutcomeDisqualified {
				in.DisqualificationReason = ptr("too small")
			}
			out, err := b.createOutcome(c.ID, in)
			if !tc.allowed {
				require.ErrorIs(t, err, ErrOutcomeNotAllowedInAdvisoryMode, "%v %s", tc.clientCount, tc.typ)
				require.Zero(t, b.outcomeRows(t, c.ID))
				continue
			}
			require.NoError(t, err)
			require.Equal(t, tc.clientCount == nil || *tc.clientCount < 500, out.AdvisoryMode)
		}
	})

	t.Run("InvalidInputChangesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		c := b.call(t, ptr[int32](900), CallInProgress)
		for field, in := range map[string]NewOutcome{
			"outcomeType":            {OutcomeType: "Maybe"},
			"qualificationFlags":     {OutcomeType: OutcomeMeetingBooked, QualificationFlags: json.RawMessage(`[1]`)},
			"disqualificationReason": {OutcomeType: OutcomeDisqualified, DisqualificationReason: ptr(strings.Repeat("r", 2001))},
		} {
			_, err := b.createOutcome(c.ID, in)
			var inv *InvalidInputError
			require.True(t, errors.As(err, &inv), "%v", err)
			require.Equal(t, field, inv.Field)
		}
		big := `{"x": "` + strings.Repeat("x", maxQualificationFlagBytes) + `"}`
		_, err := b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked, QualificationFlags: json.RawMessage(big)})
		var inv *InvalidInputError
		require.True(t, errors.As(err, &inv))
		require.Equal(t, "qualificationFlags", inv.Field)
		require.Zero(t, b.outcomeRows(t, c.ID))

		// Exactly 16 KiB as sent is accepted, although jsonb's text form is longer.
		items := strings.Repeat("1,", (maxQualificationFlagBytes-8)/2)
		exact := `{"a":[` + items[:len(items)-1] + `]}`
		exact = exact[:len(exact)-2] + strings.Repeat(" ", maxQualificationFlagBytes-len(exact)) + `]}`
		require.Len(t, exact, maxQualificationFlagBytes)
		_, err = b.createOutcome(c.ID, NewOutcome{OutcomeType: OutcomeMeetingBooked, QualificationFlags: json.RawMessage(exact)})
		require.NoError(t, err)
	})

	t.Run("GetOutcomeOfCallWithoutOne", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		c := b.call(t, nil, CallInProgress)
		_, err := b.svc.GetOutcome(b.ctx, b.org, c.ID)
		require.ErrorIs(t, err, ErrOutcomeNotFound)
		_, err = b.svc.GetOutcome(b.ctx, b.org, uuid.New())
		require.ErrorIs(t, err, ErrCallNotFound)
	})
}

// TestCheckOutcomeUnlocked: a call that reads as in progress with no outcome
// but was not locked is run again; in the run again (it was started between
// the locking statement and the read) it is refused as not in progress; it was
// not, when the lock was asked for.
func TestCheckOutcomeUnlocked(t *testing.T) {
	t.Parallel()
	in := NewOutcome{OutcomeType: OutcomeFollowUpScheduled}
	call := lockedCall{GetOutcomeRow: db.GetOutcomeRow{CallStatus: db.CallStatusInProgress}}
	require.ErrorIs(t, checkOutcome(call, in, false), errCallLockMissed)
	require.ErrorIs(t, checkOutcome(call, in, true), ErrCallNotInProgress)
	call.locked = true
	require.NoError(t, checkOutcome(call, in, true))
}
