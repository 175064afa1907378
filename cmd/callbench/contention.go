package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// contentionResult is what contention mode saw: rounds in which clients raced to
// decide ONE call.
type contentionResult struct {
	Clients int `json:"clients"`
	Rounds  int `json:"rounds"`
	// ExactRounds counts rounds answered exactly one 201 and clients-1 409s.
	ExactRounds     int            `json:"exactRounds"`
	Created         int            `json:"created"`
	Conflicts       int            `json:"conflicts"`
	ServerErrors    int            `json:"serverErrors"` // 5xx
	OtherStatuses   map[string]int `json:"otherStatuses"`
	TransportErrors int            `json:"transportErrors"`
	FirstErr        string         `json:"firstError,omitempty"`
	// Winner is the 201's latency, Losers the 409s': how long a loser waits for
	// its answer, from the moment all requests of the round are let go.
	Winner  latency `json:"winner"`
	Losers  latency `json:"losers"`
	Seconds float64 `json:"seconds"`
	// OutcomesStored is the outcome rows found afterwards for the raced calls:
	// one per round.
	OutcomesStored int `json:"outcomesStored"`
}

// runContention runs rounds: in each, every client sends the same outcome
// request for one fresh call at once.
func runContention(ctx context.Context, a *api, sup *supply, clients, rounds int) (contentionResult, [][16]byte, error) {
	res := contentionResult{Clients: clients, Rounds: rounds, OtherStatuses: map[string]int{}}
	var winners, losers []time.Duration
	raced := make([][16]byte, 0, rounds)
	statuses := make([]int, clients)
	took := make([]time.Duration, clients)
	errs := make([]error, clients)
	start := time.Now()
	for range rounds {
		id, ok := sup.take()
		if !ok {
			return res, raced, fmt.Errorf("contention: ran out of calls after %d rounds", len(raced))
		}
		raced = append(raced, id)
		url := a.outcomeURL(id)
		var ready, done sync.WaitGroup
		release := make(chan struct{})
		for i := range clients {
			ready.Add(1)
			done.Go(func() {
				ready.Done()
				<-release
				t0 := time.Now()
				statuses[i], errs[i] = a.send(ctx, http.MethodPost, url, meetingBooked)
				took[i] = time.Since(t0)
			})
		}
		ready.Wait()
		close(release)
		done.Wait()
		if err := ctx.Err(); err != nil {
			return res, raced, err
		}
		created, conflicts := 0, 0
		for i := range clients {
			switch st := statuses[i]; {
			case errs[i] != nil:
				res.TransportErrors++
				if res.FirstErr == "" {
					res.FirstErr = errs[i].Error()
				}
			case st == http.StatusCreated:
				created++
				winners = append(winners, took[i])
			case st == http.StatusConflict:
				conflicts++
				losers = append(losers, took[i])
			case st >= 500:
				res.ServerErrors++
				res.OtherStatuses[fmt.Sprint(st)]++
			default:
				res.OtherStatuses[fmt.Sprint(st)]++
			}
		}
		res.Created += created
		res.Conflicts += conflicts
		if created == 1 && conflicts == clients-1 {
			res.ExactRounds++
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.Winner = summarize(winners)
	res.Losers = summarize(losers)
	return res, raced, nil
}
