package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// ProblemError is a non-2xx answer as an error. Code is the problem's stable,
// machine-readable code (switch on it); RequestId equals the answer's
// X-Request-Id, for finding the request in the server's log.
type ProblemError struct {
	Problem
}

func (e *ProblemError) Error() string {
	s := fmt.Sprintf("callsvc: %d %s", e.Status, e.Code)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.RequestId != "" {
		s += " (request " + e.RequestId + ")"
	}
	return s
}

// response is what every generated ...Response has.
type response interface {
	StatusCode() int
	ContentType() string
	GetBody() []byte
}

// Check returns res and a *ProblemError when res is not a 2xx answer, so the
// generated ...WithResponse methods read like ordinary Go calls:
//
//	res, err := client.Check(c.GetCallWithResponse(ctx, id))
//	if err != nil {
//		return err // a transport error, or a *ProblemError
//	}
//	call := res.JSON200
func Check[R response](res R, err error) (R, error) {
	if err != nil {
		return res, err
	}
	status := res.StatusCode()
	if status >= 200 && status < 300 {
		return res, nil
	}
	pe := &ProblemError{}
	if mt, _, _ := mime.ParseMediaType(res.ContentType()); mt == "application/problem+json" && json.Unmarshal(res.GetBody(), &pe.Problem) == nil {
		return res, pe
	}
	// Not a problem document (a proxy's error page, say): keep what is known.
	pe.Problem = Problem{Status: status, Title: http.StatusText(status), Detail: firstLine(res.GetBody())}
	return res, pe
}

// IsProblem reports whether err is, or wraps, a *ProblemError with that code.
func IsProblem(err error, code ProblemCode) bool {
	pe, ok := errors.AsType[*ProblemError](err)
	return ok && pe.Code == code
}

func firstLine(body []byte) string {
	s, _, _ := strings.Cut(string(body), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(s)
}
