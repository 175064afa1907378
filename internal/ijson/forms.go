package ijson

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// Canonical returns b in the JSON Canonicalization Scheme (RFC 8785): members
// sorted by name, no whitespace, strings in their shortest escaping, numbers as
// the doubles they are. Two bodies that are the same JSON value — whatever their
// whitespace, member order or number spelling (5, 5.0, 5e0) — have the same
// canonical form; array order still matters. b must pass Check.
func Canonical(b []byte) ([]byte, error) {
	if err := Check(b); err != nil {
		return nil, err
	}
	v := jsontext.Value(bytes.Clone(b))
	if err := v.Canonicalize(); err != nil {
		return nil, fmt.Errorf("canonicalize JSON: %w", err)
	}
	return v, nil
}

// Compact returns b without whitespace and with every number written as a
// plain decimal, digit for digit (1.5e2 is 150, 1e-3 is 0.001, 0e9 is 0). That is
// how PostgreSQL's numeric (and so jsonb) keeps and prints a number, so the size
// of what PostgreSQL will store is known before it parses anything: 1e131071 in
// 9 bytes is 131072 digits there.
// Strings are written with the least escaping, as PostgreSQL prints them.
// b must pass Check.
func Compact(b []byte) ([]byte, error) {
	w := writers.Get().(*writer)
	defer writers.Put(w)
	w.out.Reset()
	w.enc.Reset(&w.out)
	enc := w.enc
	var plain []byte
	err := walk(b, func(_ *jsontext.Decoder, kind jsontext.Kind, raw jsontext.Value) error {
		switch kind {
		case '{':
			return enc.WriteToken(jsontext.BeginObject)
		case '}':
			return enc.WriteToken(jsontext.EndObject)
		case '[':
			return enc.WriteToken(jsontext.BeginArray)
		case ']':
			return enc.WriteToken(jsontext.EndArray)
		case '0':
			var err error
			if plain, err = appendPlain(plain[:0], raw); err != nil {
				return err
			}
			return enc.WriteValue(plain)
		}
		return enc.WriteValue(raw)
	})
	if err != nil {
		return nil, err
	}
	return bytes.Clone(bytes.TrimSuffix(w.out.Bytes(), []byte("\n"))), nil
}

// writer is an encoder and its buffer, reused like reader.
type writer struct {
	out bytes.Buffer
	enc *jsontext.Encoder
}

var writers = sync.Pool{New: func() any {
	w := &writer{}
	w.enc = jsontext.NewEncoder(&w.out)
	return w
}}

// appendPlain appends the number literal raw without an exponent, exactly: the
// decimal point is moved, digits are not rounded. Zero is "0". raw must be in
// double range (Check), which bounds how many zeros the shift can add.
func appendPlain(dst, raw []byte) ([]byte, error) {
	e := bytes.IndexAny(raw, "eE")
	if e < 0 {
		return append(dst, raw...), nil
	}
	if isZero(raw) {
		return append(dst, '0'), nil
	}
	exp, err := strconv.Atoi(string(raw[e+1:]))
	if err != nil {
		return nil, fmt.Errorf("number %.40q: exponent: %w", raw, err)
	}
	mantissa := raw[:e]
	if mantissa[0] == '-' {
		dst = append(dst, '-')
		mantissa = mantissa[1:]
	}
	intPart, frac, _ := bytes.Cut(mantissa, []byte("."))
	digits := append(append(make([]byte, 0, len(intPart)+len(frac)), intPart...), frac...)
	point := len(intPart) + exp // where the decimal point goes in digits
	var whole, fraction []byte
	switch {
	case point <= 0:
		fraction = append(bytes.Repeat([]byte("0"), -point), digits...)
	case point >= len(digits):
		whole = append(digits, bytes.Repeat([]byte("0"), point-len(digits))...)
	default:
		whole, fraction = digits[:point], digits[point:]
	}
	whole = bytes.TrimLeft(whole, "0")
	if len(whole) == 0 {
		whole = []byte("0")
	}
	dst = append(dst, whole...)
	if len(fraction) > 0 {
		dst = append(append(dst, '.'), fraction...)
	}
	return dst, nil
}
