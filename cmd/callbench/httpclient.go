package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"time"
)

// meetingBooked is the one request body every outcome request sends.
var meetingBooked = []byte(`{"outcomeType":"Meeting_Booked"}`)

// api talks to callsvc over HTTP/1.1 keep-alive: one transport shared by every
// client of a run, with an idle connection kept for each of them. The client
// side is kept cheap, as it shares the machine's cores with the server and
// PostgreSQL: one body, reused; responses drained, never decoded.
type api struct {
	base   string
	auth   []string
	client *http.Client
}

func newAPI(base, apiKey string, maxClients int) *api {
	tr := &http.Transport{
		MaxIdleConns:        maxClients + 8,
		MaxIdleConnsPerHost: maxClients + 8,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &api{
		base:   base,
		auth:   []string{"Bearer " + apiKey},
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
	}
}

func (a *api) close() { a.client.CloseIdleConnections() }

// send runs one request and returns its status, the body read and discarded so
// the connection goes back to the pool.
func (a *api) send(ctx context.Context, method, url string, body []byte) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	req.Header["Authorization"] = a.auth
	if body != nil {
		req.Header["Content-Type"] = jsonContentType
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

var jsonContentType = []string{"application/json"}

// outcomeURL is POST /v1/calls/{id}/outcome for call id.
func (a *api) outcomeURL(id [16]byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], id[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], id[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], id[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], id[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], id[10:])
	return a.base + "/v1/calls/" + string(buf[:]) + "/outcome"
}

// outcomeClient decides each call it is given with Meeting_Booked.
type outcomeClient struct{ api *api }

func (c outcomeClient) do(ctx context.Context, id [16]byte) (int, error) {
	return c.api.send(ctx, http.MethodPost, c.api.outcomeURL(id), meetingBooked)
}
func (outcomeClient) close() {}

// listClient reads the first page of calls, newest first.
type listClient struct{ api *api }

func (c listClient) do(ctx context.Context, _ [16]byte) (int, error) {
	return c.api.send(ctx, http.MethodGet, c.api.base+"/v1/calls?limit=20", nil)
}
func (listClient) close() {}
