// Package webhook is the wire side of callsvc's webhooks, apart from any
// database: the signing secrets and Standard Webhooks signatures
// (https://www.standardwebhooks.com), the event body, the guard that keeps
// deliveries off loopback, private, link-local, multicast and unspecified
// addresses (at creation and again at every dial), and the HTTP sender that
// makes one delivery attempt.
package webhook
