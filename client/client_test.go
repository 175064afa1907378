package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callsvc/callsvc/client"
)

// recorder is an HTTP client that notes each request's method, URL and headers.
type recorder struct {
	mu   sync.Mutex
	seen []*http.Request
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.Clone(context.Background()))
	r.mu.Unlock()
	return http.DefaultClient.Do(req)
}

func (r *recorder) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.seen...)
}

func TestNewSendsKeyAndIdempotencyKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, apiKey := exampleServer()
	rec := &recorder{}
	c, err := client.New(url, apiKey, client.WithHTTPClient(rec))
	require.NoError(t, err)

	body := client.ProspectCreate{Name: "Acme"}
	a, err := client.Check(c.CreateProspectWithResponse(ctx, nil, body))
	require.NoError(t, err)
	b, err := client.Check(c.CreateProspectWithResponse(ctx, nil, body))
	require.NoError(t, err)
	require.NotEqual(t, a.JSON201.Id, b.JSON201.Id, "a new key per call: two prospects")
	own := "retry-" + uuid.NewString()
	_, err = client.Check(c.CreateProspectWithResponse(ctx, &client.CreateProspectParams{IdempotencyKey: &own}, body))
	require.NoError(t, err)
	_, err = client.Check(c.GetProspectWithResponse(ctx, a.JSON201.Id))
	require.NoError(t, err)

	reqs := rec.requests()
	require.Len(t, reqs, 4)
	for _, r := range reqs {
		require.Equal(t, "Bearer "+apiKey, r.Header.Get("Authorization"))
	}
	k0, k1 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key")
	require.NoError(t, uuid.Validate(k0))
	require.NoError(t, uuid.Validate(k1))
	require.NotEqual(t, k0, k1)
	require.Equal(t, own, reqs[2].Header.Get("Idempotency-Key"), "the caller's own key is kept")
	require.Empty(t, reqs[3].Header.Get("Idempotency-Key"), "no key on GET")
}

func TestAllCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, apiKey := exampleServer()
	rec := &recorder{}
	c, err := client.New(url, apiKey, client.WithHTTPClient(rec))
	require.NoError(t, err)
	prospect, err := client.Check(c.CreateProspectWithResponse(ctx, nil, client.ProspectCreate{Name: "Acme"}))
	require.NoError(t, err)
	var created []uuid.UUID
	for range 5 {
		call, err := client.Check(c.CreateCallWithResponse(ctx, nil, client.CallCreate{ProspectId: prospect.JSON201.Id}))
		require.NoError(t, err)
		created = append([]uuid.UUID{call.JSON201.Id}, created...) // newest first
	}
	limit := 2
	seq := c.AllCalls(ctx, client.ListCallsParams{ProspectId: &prospect.JSON201.Id, Limit: &limit})
	lists := func() int {
		n := 0
		for _, r := range rec.requests() {
			if r.Method == http.MethodGet {
				n++
			}
		}
		return n
	}

	t.Run("EveryItemOnePageAtATime", func(t *testing.T) {
		var got []uuid.UUID
		for call, err := range seq {
			require.NoError(t, err)
			got = append(got, call.Id)
		}
		require.Equal(t, created, got)
		require.Equal(t, 3, lists(), "pages of 2, 2 and 1")
	})

	t.Run("RangingAgainStartsOver", func(t *testing.T) {
		before := lists()
		for call, err := range seq {
			require.NoError(t, err)
			require.Equal(t, created[0], call.Id)
			break
		}
		require.Equal(t, before+1, lists(), "stopping after the first item fetches no more pages")
	})

	t.Run("AnErrorEndsTheSequence", func(t *testing.T) {
		zero := 0
		var errs []error
		for _, err := range c.AllCalls(ctx, client.ListCallsParams{Limit: &zero}) {
			errs = append(errs, err)
		}
		require.Len(t, errs, 1)
		require.True(t, client.IsProblem(errs[0], client.ProblemCodeInvalidRequest), "%v", errs[0])
	})
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Problem", func(t *testing.T) {
		t.Parallel()
		url, apiKey := exampleServer()
		c, err := client.New(url, apiKey)
		require.NoError(t, err)
		res, err := client.Check(c.GetCallWithResponse(ctx, uuid.New()))
		pe, ok := errors.AsType[*client.ProblemError](err)
		require.True(t, ok, "%v", err)
		require.Equal(t, http.StatusNotFound, pe.Status)
		require.Equal(t, client.ProblemCodeCallNotFound, pe.Code)
		require.Equal(t, res.HTTPResponse.Header.Get("X-Request-Id"), pe.RequestId)
		require.Contains(t, pe.Error(), "404 call_not_found")
	})

	t.Run("NotAProblemDocument", func(t *testing.T) {
		t.Parallel()
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<h1>502 Bad Gateway</h1>\n<p>upstream gone</p>"))
		}))
		defer proxy.Close()
		c, err := client.New(proxy.URL, "key")
		require.NoError(t, err)
		_, err = client.Check(c.GetCallWithResponse(ctx, uuid.New()))
		pe, ok := errors.AsType[*client.ProblemError](err)
		require.True(t, ok, "%v", err)
		require.Equal(t, client.Problem{Status: 502, Title: "Bad Gateway", Detail: "<h1>502 Bad Gateway</h1>"}, pe.Problem)
	})

	t.Run("TransportError", func(t *testing.T) {
		t.Parallel()
		c, err := client.New("http://127.0.0.1:1", "key")
		require.NoError(t, err)
		_, err = client.Check(c.GetCallWithResponse(ctx, uuid.New()))
		require.Error(t, err)
		_, ok := errors.AsType[*client.ProblemError](err)
		require.False(t, ok)
	})
}
