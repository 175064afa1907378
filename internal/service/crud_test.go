package service

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var inv *InvalidInputError
	require.True(t, errors.As(err, &inv), "want invalid %s, got %v", field, err)
	require.Equal(t, field, inv.Field)
}

func TestProspects(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	p := b.prospect(t, nil)
	require.True(t, p.AdvisoryMode)

	got, err := b.svc.GetProspect(b.ctx, b.org, p.ID)
	require.NoError(t, err)
	require.Equal(t, p, got)
	_, err = b.svc.GetProspect(b.ctx, b.org, uuid.New())
	require.ErrorIs(t, err, ErrProspectNotFound)

	up, err := b.updateProspect(p.ID, ProspectPatch{SetClientCount: true, ClientCount: ptr[int32](500)})
	require.NoError(t, err)
	require.False(t, up.AdvisoryMode)
	up, err = b.updateProspect(p.ID, ProspectPatch{Name: ptr("Initech")})
	require.NoError(t, err)
	require.Equal(t, "Initech", up.Name)
	require.Equal(t, ptr[int32](500), up.ClientCount, "absent clientCount is kept")
	up, err = b.updateProspect(p.ID, ProspectPatch{SetClientCount: true})
	require.NoError(t, err)
	require.Nil(t, up.ClientCount, "null clears it")
	_, err = b.updateProspect(uuid.New(), ProspectPatch{Name: ptr("x")})
	require.ErrorIs(t, err, ErrProspectNotFound)

	for _, in := range []NewProspect{{Name: ""}, {Name: "  "}, {Name: strings.Repeat("n", 201)}, {Name: "a\x00b"}} {
		_, err := b.createProspect(in)
		requireInvalid(t, err, "name")
	}
	_, err = b.createProspect(NewProspect{Name: "x", ClientCount: ptr[int32](-1)})
	requireInvalid(t, err, "clientCount")
	_, err = b.updateProspect(p.ID, ProspectPatch{SetClientCount: true, ClientCount: ptr[int32](-5)})
	requireInvalid(t, err, "clientCount")
}

func TestPagination(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	var want []uuid.UUID
	for range 7 {
		want = append([]uuid.UUID{b.prospect(t, nil).ID}, want...)
	}
	var got []uuid.UUID
	page := Page{Limit: 3}
	var first *List[Prospect]
	for {
		l, err := b.svc.ListProspects(b.ctx, b.org, page)
		require.NoError(t, err)
		if first == nil {
			first = &l
		}
		for _, p := range l.Items {
			got = append(got, p.ID)
		}
		// A prospect created between pages does not shift later pages.
		b.prospect(t, nil)
		if l.NextCursor == nil {
			break
		}
		page.Cursor = *l.NextCursor
	}
	require.Equal(t, want, got)

	l, err := b.svc.ListProspects(b.ctx, b.org, Page{})
	require.NoError(t, err)
	require.Len(t, l.Items, 10, "7, and one added after each of the 3 pages")
	require.Nil(t, l.NextCursor, "the last page has no cursor")

	for _, p := range []Page{{Limit: -1}, {Limit: 101}} {
		_, err := b.svc.ListProspects(b.ctx, b.org, p)
		requireInvalid(t, err, "limit")
	}
	for _, c := range []string{"garbage", "AAAA", *first.NextCursor + "x"} {
		_, err := b.svc.ListProspects(b.ctx, b.org, Page{Cursor: c})
		requireInvalid(t, err, "cursor")
	}
}

func TestCalls(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	p := b.prospect(t, nil)
	c, err := b.createCall(NewCall{ProspectID: p.ID})
	require.NoError(t, err)
	require.Equal(t, CallScheduled, c.Status, "scheduled by default")
	require.Nil(t, c.StartedAt)

	_, err = b.createCall(NewCall{ProspectID: uuid.New()})
	require.ErrorIs(t, err, ErrProspectNotFound)
	_, err = b.createCall(NewCall{ProspectID: p.ID, Status: CallCompleted})
	requireInvalid(t, err, "status")

	started, err := b.startCall(c.ID)
	require.NoError(t, err)
	require.Equal(t, CallInProgress, started.Status)
	require.NotNil(t, started.StartedAt)
	_, err = b.startCall(c.ID)
	require.ErrorIs(t, err, ErrInvalidCallTransition)
	_, err = b.startCall(uuid.New())
	require.ErrorIs(t, err, ErrCallNotFound)

	cancelled, err := b.cancelCall(c.ID)
	require.NoError(t, err)
	require.Equal(t, CallCancelled, cancelled.Status)
	require.NotNil(t, cancelled.EndedAt)
	_, err = b.cancelCall(c.ID)
	require.ErrorIs(t, err, ErrInvalidCallTransition)
	_, err = b.cancelCall(uuid.New())
	require.ErrorIs(t, err, ErrCallNotFound)

	done := b.callFor(t, p, CallCompleted)
	_, err = b.cancelCall(done.ID)
	require.ErrorIs(t, err, ErrInvalidCallTransition, "a completed call cannot be cancelled")

	inProgress := CallInProgress
	l, err := b.svc.ListCalls(b.ctx, b.org, CallFilter{Status: &inProgress}, Page{})
	require.NoError(t, err)
	require.Empty(t, l.Items)
	l, err = b.svc.ListCalls(b.ctx, b.org, CallFilter{ProspectID: &p.ID}, Page{})
	require.NoError(t, err)
	require.Len(t, l.Items, 2)
	bad := CallStatus("ringing")
	_, err = b.svc.ListCalls(b.ctx, b.org, CallFilter{Status: &bad}, Page{})
	requireInvalid(t, err, "status")
}

func TestObjections(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	c := b.call(t, nil, CallInProgress)
	o, err := b.createObjection(c.ID, NewObjection{Objection: "price", Response: ptr("discount"), Outcome: ObjectionResolved})
	require.NoError(t, err)
	require.Equal(t, ptr("discount"), o.Response)
	_, err = b.createObjection(c.ID, NewObjection{Objection: "timing", Outcome: ObjectionDeferred})
	require.NoError(t, err)

	l, err := b.svc.ListObjections(b.ctx, b.org, c.ID, Page{Limit: 1})
	require.NoError(t, err)
	require.Len(t, l.Items, 1)
	require.Equal(t, "timing", l.Items[0].Objection, "newest first")
	require.NotNil(t, l.NextCursor)
	_, err = b.svc.ListObjections(b.ctx, b.org, uuid.New(), Page{})
	require.ErrorIs(t, err, ErrCallNotFound)

	_, err = b.createObjection(uuid.New(), NewObjection{Objection: "x", Outcome: ObjectionDeferred})
	require.ErrorIs(t, err, ErrCallNotFound)
	for _, status := range []CallStatus{CallScheduled, CallCancelled, CallCompleted} {
		closed := b.call(t, nil, status)
		_, err = b.createObjection(closed.ID, NewObjection{Objection: "x", Outcome: ObjectionDeferred})
		require.ErrorIs(t, err, ErrCallNotInProgress, status)
		require.Zero(t, b.count(t, `SELECT count(*) FROM objection_response WHERE call_session_id = $1`, closed.ID))
	}

	requireInvalid(t, func() error {
		_, err := b.createObjection(c.ID, NewObjection{Objection: "", Outcome: ObjectionDeferred})
		return err
	}(), "objection")
	requireInvalid(t, func() error {
		_, err := b.createObjection(c.ID, NewObjection{Objection: "x", Response: ptr(strings.Repeat("r", 4001)), Outcome: ObjectionDeferred})
		return err
	}(), "response")
	requireInvalid(t, func() error {
		_, err := b.createObjection(c.ID, NewObjection{Objection: "x", Outcome: "Maybe"})
		return err
	}(), "outcome")
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	org, key, err := b.createOrganization("Keyed")
	require.NoError(t, err)
	require.Equal(t, org.ID, key.OrganizationID)
	require.True(t, strings.HasPrefix(key.Secret, keyPrefix))

	got, err := b.svc.Authenticate(b.ctx, key.Secret)
	require.NoError(t, err)
	require.Equal(t, OrgID(org.ID), got)
	stored := b.count(t, `SELECT count(*) FROM api_key WHERE key_hash = sha256(convert_to($1, 'UTF8'))`, key.Secret)
	require.Equal(t, 1, stored, "only the hash is stored")
	require.Zero(t, b.count(t, `SELECT count(*) FROM api_key WHERE key_prefix = $1`, key.Secret))

	for _, bad := range []string{"", "csk_nope", key.Secret + "x", strings.ToUpper(key.Secret)} {
		_, err := b.svc.Authenticate(b.ctx, bad)
		require.ErrorIs(t, err, ErrUnauthorized)
	}

	second, err := b.createAPIKey(org.ID)
	require.NoError(t, err)
	_, err = b.createAPIKey(uuid.New())
	require.ErrorIs(t, err, ErrOrganizationNotFound)

	require.NoError(t, b.revokeAPIKey(key.ID))
	require.ErrorIs(t, b.revokeAPIKey(uuid.New()), ErrAPIKeyNotFound)
	require.Eventually(t, func() bool {
		_, err := b.svc.Authenticate(b.ctx, key.Secret)
		return errors.Is(err, ErrUnauthorized)
	}, time.Second, 20*time.Millisecond, "a revoked key is refused within one second")
	_, err = b.svc.Authenticate(b.ctx, second.Secret)
	require.NoError(t, err, "other keys keep working")

	_, _, err = b.createOrganization("")
	requireInvalid(t, err, "name")
}
