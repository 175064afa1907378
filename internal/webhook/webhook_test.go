package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

func TestSecretFormat(t *testing.T) {
	t.Parallel()
	key := NewSecret()
	require.Len(t, key, 32)
	s := FormatSecret(key)
	require.True(t, strings.HasPrefix(s, "whsec_"))
	require.Len(t, s, len("whsec_")+44, "padded standard base64 of 32 bytes")
	require.True(t, strings.HasSuffix(s, "="))
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	require.NoError(t, err)
	require.Equal(t, key, decoded)
	require.NotEqual(t, key, NewSecret())
}

// TestSignatureVerifiedByStandardWebhooks holds the signature to the
// specification's own Go library, an independent implementation.
func TestSignatureVerifiedByStandardWebhooks(t *testing.T) {
	t.Parallel()
	key := NewSecret()
	event := Event{ID: uuid.New(), Type: "outcome.created", CreatedAt: time.Now(), Data: json.RawMessage(`{"id":"x","n":1}`)}
	body, err := event.Body()
	require.NoError(t, err)
	h := http.Header{}
	SetHeaders(h, key, event.ID.String(), time.Now(), body)

	wh, err := standardwebhooks.NewWebhook(FormatSecret(key))
	require.NoError(t, err)
	require.NoError(t, wh.Verify(body, h))
	require.Error(t, wh.Verify(append(body, ' '), h), "another body")
	other, err := standardwebhooks.NewWebhook(FormatSecret(NewSecret()))
	require.NoError(t, err)
	require.Error(t, other.Verify(body, h), "another key")

	// The library signs alike.
	want, err := wh.Sign(event.ID.String(), time.Unix(1700000000, 0), body)
	require.NoError(t, err)
	require.Equal(t, want, Signature(key, event.ID.String(), time.Unix(1700000000, 0), body))

	var decoded map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &decoded))
	require.JSONEq(t, `"outcome.created"`, string(decoded["type"]))
	require.JSONEq(t, `{"id":"x","n":1}`, string(decoded["data"]))
	require.True(t, strings.HasPrefix(string(body), `{"id":"`+event.ID.String()+`","type":"outcome.created","createdAt":"`))
}

func TestDisallowed(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1":        "loopback",
		"127.255.0.9":      "loopback",
		"::1":              "loopback",
		"::ffff:127.0.0.1": "loopback",
		"10.0.0.1":         "private",
		"172.16.5.4":       "private",
		"192.168.1.1":      "private",
		"fd00::1":          "private",
		"100.64.0.1":       "private",
		"169.254.169.254":  "link-local",
		"fe80::1":          "link-local",
		"224.0.0.1":        "multicast",
		"ff02::1":          "multicast",
		"0.0.0.0":          "unspecified",
		"::":               "unspecified",
		"0.1.2.3":          "unspecified",
		"255.255.255.255":  "reserved",
		"64:ff9b::a00:1":   "private",  // NAT64 of 10.0.0.1
		"2002:7f00:1::1":   "loopback", // 6to4 of 127.0.0.1
		"93.184.216.34":    "",
		"8.8.8.8":          "",
		"2606:4700::1111":  "",
		"64:ff9b::808:808": "", // NAT64 of 8.8.8.8
	} {
		require.Equal(t, want, Disallowed(netip.MustParseAddr(addr)), addr)
	}
}

// stubResolver answers from a map, as a DNS server would, and never sends a query.
type stubResolver map[string][]string

func (s stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := s[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, ip := range ips {
		out = append(out, netip.MustParseAddr(ip))
	}
	return out, nil
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	g := &Guard{Resolver: stubResolver{
		"evil.example":   {"127.0.0.1"},
		"mixed.example":  {"93.184.216.34", "10.1.2.3"},
		"public.example": {"93.184.216.34"},
	}}
	ctx := context.Background()
	refused := []string{
		"http://127.0.0.1/", "http://[::1]/", "http://169.254.169.254/latest/meta-data",
		"http://10.0.0.1/", "https://evil.example/hook", "http://mixed.example/",
		"http://localhost:8080/", "http://api.localhost/", "http://[::ffff:10.0.0.1]/",
		"http://0.0.0.0/", "http://[fe80::1%25eth0]/",
	}
	for _, raw := range refused {
		u, err := ParseURL(raw)
		require.NoError(t, err, raw)
		err = g.CheckURL(ctx, u)
		var na *NotAllowedError
		require.True(t, errors.As(err, &na), "%s: %v", raw, err)
	}
	for _, raw := range []string{"https://public.example/hook", "http://93.184.216.34:8080/x", "https://unresolvable.example/"} {
		u, err := ParseURL(raw)
		require.NoError(t, err, raw)
		require.NoError(t, g.CheckURL(ctx, u), raw)
	}
	open := &Guard{AllowPrivate: true, Resolver: g.Resolver}
	for _, raw := range refused {
		u, _ := ParseURL(raw)
		require.NoError(t, open.CheckURL(ctx, u), raw)
	}
	for _, raw := range []string{"ftp://example.com/", "/relative", "http://", "http:///x", "mailto:a@b.c", "http://example.com:0/", "http://example.com:99999/", "http://[::1/"} {
		_, err := ParseURL(raw)
		require.ErrorIs(t, err, ErrInvalidURL, raw)
	}
}

// TestDialRefusesDisallowedAddress: a name that passed the check at creation
// resolves to loopback when a delivery dials it (DNS rebinding). The dialer's
// Control hook refuses it before connecting: the listener on 127.0.0.1 never
// sees a connection, and the error says why.
func TestDialRefusesDisallowedAddress(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(receiver.Close)
	port := receiver.Listener.Addr().(*net.TCPAddr).Port

	rebinding := stubResolver{"rebound.example": {"127.0.0.1"}}
	s := NewSender(&Guard{Resolver: rebinding})
	for _, u := range []string{
		"http://rebound.example:" + itoa(port) + "/",
		receiver.URL + "/",
	} {
		res := s.Send(context.Background(), Attempt{URL: u, Key: NewSecret(), Event: Event{ID: uuid.New(), Type: "call.cancelled", Data: json.RawMessage(`{}`)}})
		require.False(t, res.OK(), u)
		require.Zero(t, res.Status)
		require.Contains(t, res.Error, "127.0.0.1", u)
		require.Contains(t, res.Error, "a loopback address, which webhooks may not reach", u)
	}
	require.Zero(t, hits.Load(), "no connection reached the receiver")

	// With the flag, the same name is dialled.
	open := NewSender(&Guard{AllowPrivate: true, Resolver: rebinding})
	res := open.Send(context.Background(), Attempt{URL: "http://rebound.example:" + itoa(port) + "/", Key: NewSecret(), Event: Event{ID: uuid.New(), Type: "call.cancelled", Data: json.RawMessage(`{}`)}})
	require.True(t, res.OK(), res.Error)
	require.Equal(t, http.StatusOK, res.Status)
	require.EqualValues(t, 1, hits.Load())
}

func TestSendResults(t *testing.T) {
	t.Parallel()
	key := NewSecret()
	var got http.Header
	var gotBody []byte
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		got, gotBody = r.Header.Clone(), readBody(r)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusInternalServerError) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	receiver := httptest.NewServer(mux)
	t.Cleanup(receiver.Close)
	s := NewSender(&Guard{AllowPrivate: true})
	event := Event{ID: uuid.New(), Type: "outcome.created", CreatedAt: time.Now(), Data: json.RawMessage(`{"a":1}`)}

	res := s.Send(context.Background(), Attempt{URL: receiver.URL + "/ok", Key: key, Event: event})
	require.Equal(t, Result{Status: http.StatusNoContent}, res)
	require.Equal(t, "application/json", got.Get("Content-Type"))
	require.Equal(t, event.ID.String(), got.Get("webhook-id"))
	wh, err := standardwebhooks.NewWebhook(FormatSecret(key))
	require.NoError(t, err)
	require.NoError(t, wh.Verify(gotBody, got))

	res = s.Send(context.Background(), Attempt{URL: receiver.URL + "/fail", Key: key, Event: event})
	require.Equal(t, Result{Status: 500, Error: "the endpoint answered 500 Internal Server Error"}, res)

	got = nil
	res = s.Send(context.Background(), Attempt{URL: receiver.URL + "/moved", Key: key, Event: event})
	require.Equal(t, http.StatusFound, res.Status)
	require.Contains(t, res.Error, "redirects are not followed")
	require.Nil(t, got, "the redirect was not followed")

	closed := httptest.NewServer(mux)
	closed.Close()
	res = s.Send(context.Background(), Attempt{URL: closed.URL + "/ok", Key: key, Event: event})
	require.Equal(t, Result{Error: "connection refused"}, res)
}

func readBody(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	return b
}

func itoa(n int) string { return strconv.Itoa(n) }
