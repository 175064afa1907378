package webhook

import (
	"crypto/rand"
	"encoding/base64"
)

// SecretPrefix starts every secret as the client sees it.
const SecretPrefix = "whsec_"

// SecretSize is the size of a signing key: 32 random bytes.
const SecretSize = 32

// NewSecret returns a fresh signing key.
func NewSecret() []byte {
	key := make([]byte, SecretSize)
	// crypto/rand.Read never fails (Go 1.24+).
	_, _ = rand.Read(key)
	return key
}

// FormatSecret is key as the client sees it, once: "whsec_" and the standard,
// padded base64 of the key, the form the Standard Webhooks libraries take.
func FormatSecret(key []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}
