package service

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/callsvc/callsvc/internal/ijson"
)

// normalizeFlags returns an outcome's qualificationFlags as they are stored:
// one JSON object by the contract's rules (ijson.Check), compact, with every
// number written out as the plain decimal PostgreSQL keeps (ijson.Compact). So
// PostgreSQL never parses client text it could refuse (a number beyond its
// numeric, a lone surrogate, \u0000) and what it stores has a size known here: at most
// 16 KiB as sent and as written out, which its text form (a space after each
// colon and comma) keeps within the column's CHECK of 32 KiB. Absent or null is {}.
func normalizeFlags(raw json.RawMessage) (json.RawMessage, error) {
	flags := bytes.TrimSpace(raw)
	if len(flags) == 0 || bytes.Equal(flags, []byte("null")) {
		return json.RawMessage(`{}`), nil
	}
	if len(flags) > maxQualificationFlagBytes {
		return nil, invalid("qualificationFlags", "must be at most %d bytes", maxQualificationFlagBytes)
	}
	compact, err := ijson.Compact(flags)
	if e := (*ijson.Error)(nil); errors.As(err, &e) {
		field := "qualificationFlags"
		if e.Pointer != "" {
			field += "." + e.Field()
		}
		return nil, invalid(field, "%s", e.Reason)
	}
	if err != nil {
		return nil, invalid("qualificationFlags", "must be a JSON object")
	}
	if compact[0] != '{' {
		return nil, invalid("qualificationFlags", "must be a JSON object")
	}
	if len(compact) > maxQualificationFlagBytes {
		return nil, invalid("qualificationFlags", "must be at most %d bytes with every number written out in full (1e300 is 301 digits)", maxQualificationFlagBytes)
	}
	return compact, nil
}
