// Package ijson holds request bodies to the contract's JSON rules: a body is
// exactly one I-JSON value (RFC 7493) — no trailing data, no member name twice in
// one object, valid UTF-8, no lone surrogate, no NUL character (PostgreSQL text
// cannot hold one) and no number an IEEE 754 double cannot hold. It also gives the
// two forms callsvc derives from such a value: a canonical one (RFC 8785), for
// comparing request bodies, and a compact one with every number written out as a
// plain decimal, for values PostgreSQL stores as jsonb.
//
// The syntax (grammar, duplicate names, UTF-8, surrogates, nesting) is checked by
// go-json-experiment's jsontext, the decoder that became encoding/json/v2; this
// package adds only what jsontext allows and the contract does not.
package ijson

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxDepth bounds the nesting of a value. Request bodies are a few levels deep;
// a bound keeps every later decoder (and PostgreSQL's recursive jsonb parser)
// far from its own limits.
const MaxDepth = 64

// minNormal is the smallest positive normal double (~2.2e-308); the contract
// refuses non-zero numbers below it, subnormals included.
const minNormal = 0x1p-1022

// Error is a value that breaks the rules. Pointer locates it (RFC 6901), Reason
// says what is wrong in words safe to show a client.
type Error struct {
	Pointer jsontext.Pointer
	Reason  string
}

func (e *Error) Error() string { return e.Field() + ": " + e.Reason }

// Field names the offending member as a dotted path ("qualificationFlags.a",
// "items.2"), or "body" for the value as a whole. Long names are shortened.
func (e *Error) Field() string {
	return FieldName(e.Pointer)
}

// FieldName renders a JSON pointer as the dotted path error messages use, or
// "body" for the root. An empty member name shows as "".
func FieldName(p jsontext.Pointer) string {
	if p == "" || !p.IsValid() {
		return "body"
	}
	var parts []string
	for tok := range p.Tokens() {
		if tok == "" {
			tok = `""`
		}
		parts = append(parts, shorten(tok, 64))
	}
	return shorten(strings.Join(parts, "."), 200)
}

// shorten cuts s to at most n bytes of valid UTF-8, marking the cut.
func shorten(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

var (
	nulEscape = []byte(`\u0000`)
	// options: the defaults already refuse duplicate names and invalid UTF-8
	// (lone surrogates included); say so.
	options = []jsontext.Options{
		jsontext.AllowDuplicateNames(false),
		jsontext.AllowInvalidUTF8(false),
	}
)

// reader is a decoder and its source, reused: a new decoder costs more than
// checking a small body.
type reader struct {
	src bytes.Reader
	dec *jsontext.Decoder
}

var readers = sync.Pool{New: func() any {
	r := &reader{}
	r.dec = jsontext.NewDecoder(&r.src)
	return r
}}

// Check reports whether b is exactly one value that follows the rules, and if
// not, returns an *Error naming the first place that does not. An empty b (or
// only whitespace) is an error: there is no value.
func Check(b []byte) error {
	return walk(b, nil)
}

// walk checks b token by token and calls visit (if not nil) with each token
// once it has passed, so a caller can rebuild the value without a second parse.
func walk(b []byte, visit func(d *jsontext.Decoder, kind jsontext.Kind, raw jsontext.Value) error) error {
	r := readers.Get().(*reader)
	defer readers.Put(r)
	r.src.Reset(b)
	r.dec.Reset(&r.src, options...)
	defer r.src.Reset(nil) // keep no reference to b
	d := r.dec
	for {
		kind := d.PeekKind()
		var raw jsontext.Value
		var err error
		switch kind {
		case '{', '}', '[', ']':
			_, err = d.ReadToken()
		default: // scalars, object names, and the error (or end) PeekKind cached
			raw, err = d.ReadValue()
		}
		if err != nil {
			return syntaxError(d, err)
		}
		switch kind {
		case '{', '[':
			if d.StackDepth() > MaxDepth {
				return &Error{Pointer: d.StackPointer(), Reason: fmt.Sprintf("nested deeper than %d levels", MaxDepth)}
			}
		case '"':
			if bytes.Contains(raw, nulEscape) && hasNUL(raw) {
				return &Error{Pointer: d.StackPointer(), Reason: `must not contain the NUL character (\u0000)`}
			}
		case '0':
			if !inDoubleRange(raw) {
				return &Error{Pointer: d.StackPointer(), Reason: "number out of range: a JSON number must fit an IEEE 754 double (magnitude at most ~1.8e308, and zero or at least ~2.2e-308)"}
			}
		}
		if visit != nil {
			if err := visit(d, kind, raw); err != nil {
				return err
			}
		}
		if d.StackDepth() == 0 {
			break // the one top-level value is complete
		}
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return &Error{Reason: "unexpected data after the JSON value"}
	}
	return nil
}

// syntaxError turns a jsontext error into an *Error.
func syntaxError(d *jsontext.Decoder, err error) error {
	var se *jsontext.SyntacticError
	switch {
	case err == io.EOF:
		return &Error{Reason: "a JSON value is required"}
	case errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName):
		return &Error{Pointer: se.JSONPointer, Reason: "duplicate member name"}
	case errors.As(err, &se) && errors.Is(se.Err, io.ErrUnexpectedEOF):
		return &Error{Reason: "malformed JSON: unexpected end of input"}
	case errors.As(err, &se):
		return &Error{Pointer: se.JSONPointer, Reason: "malformed JSON: " + shorten(se.Err.Error(), 120)}
	}
	return &Error{Pointer: d.StackPointer(), Reason: "malformed JSON"}
}

// hasNUL reports whether the quoted JSON string raw decodes to a string with a
// NUL character (`"\\u0000"` is a backslash and "u0000", not one).
func hasNUL(raw []byte) bool {
	s, err := jsontext.AppendUnquote(nil, raw)
	return err != nil || bytes.IndexByte(s, 0) >= 0
}

// inDoubleRange reports whether the number literal raw is one an IEEE 754 double
// holds: zero, or a magnitude from the smallest normal to the largest finite.
func inDoubleRange(raw []byte) bool {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return false // ±Inf: above ~1.8e308
	}
	if f = math.Abs(f); f >= minNormal {
		return true
	}
	return isZero(raw) // below the smallest normal: fine only for 0, -0.0, 0e5
}

// isZero reports whether the number literal raw is zero: no digit of its
// mantissa is 1-9.
func isZero(raw []byte) bool {
	mantissa := raw
	if i := bytes.IndexAny(raw, "eE"); i >= 0 {
		mantissa = raw[:i]
	}
	return !bytes.ContainsAny(mantissa, "123456789")
}
