package service

import (
	"errors"
	"fmt"
)

// Domain errors. Callers test them with errors.Is; the HTTP layer maps each to a
// status and a stable code in one place. They are returned wrapped with context.
var (
	ErrProspectNotFound                 = errors.New("prospect not found")
	ErrCallNotFound                     = errors.New("call not found")
	ErrOutcomeNotFound                  = errors.New("outcome not found")
	ErrOutcomeExists                    = errors.New("call already has an outcome")
	ErrCallNotInProgress                = errors.New("call is not in progress")
	ErrInvalidCallTransition            = errors.New("invalid call status transition")
	ErrDisqualificationReasonRequired   = errors.New("disqualification reason required")
	ErrDisqualificationReasonNotAllowed = errors.New("disqualification reason not allowed for this outcome type")
	ErrOutcomeNotAllowedInAdvisoryMode  = errors.New("outcome type not allowed in advisory mode")
	ErrOrganizationNotFound             = errors.New("organization not found")
	ErrAPIKeyNotFound                   = errors.New("api key not found")
	ErrUnauthorized                     = errors.New("unknown or revoked api key")
	ErrWebhookEndpointNotFound          = errors.New("webhook endpoint not found")
	// ErrWebhookURLNotAllowed: the URL's host is or resolves to an address
	// webhooks may not reach. It comes wrapped with a *webhook.NotAllowedError
	// that says which and why.
	ErrWebhookURLNotAllowed = errors.New("webhook url not allowed")

	// ErrUnavailable: the database could not be reached, the connection was
	// lost mid-request, or it could not serve the request now. Nothing was
	// committed; the request may be retried.
	ErrUnavailable = errors.New("database unavailable")
	// ErrInvalidData: PostgreSQL refused a value that passed the service's own
	// checks (a data exception or a CHECK). The input was bad, but a check is
	// missing before SQL: worth a warning in the log.
	ErrInvalidData = errors.New("the database refused a value")
)

// InvalidInputError is bad input the service refuses before touching data; Field
// names the offending field as the API spells it.
type InvalidInputError struct {
	Field  string
	Reason string
}

func (e *InvalidInputError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

func invalid(field, format string, args ...any) error {
	return &InvalidInputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
