// Package secretbox seals small secrets for storage with AES-256-GCM under a key
// from configuration, so a copy of the database alone does not reveal them. The
// key is configuration, not made per process: every server of a deployment opens
// what any of them sealed.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// version is the first byte of every sealed value, so that another key or
// algorithm can be told apart later (a key rotation, say).
const version byte = 1

// Overhead is what sealing adds to a secret: the version byte, the nonce and
// GCM's tag.
const Overhead = 1 + 12 + 16

// ErrOpen means a sealed value could not be opened: another key sealed it, or it
// (or its additional data) was changed.
var ErrOpen = errors.New("secretbox: cannot open sealed value")

// Box seals and opens with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a KeySize-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// ParseKey decodes a key given as standard base64 (as `openssl rand -base64 32`
// prints one).
func ParseKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: a key is %d random bytes in standard base64 (openssl rand -base64 32)", KeySize)
	}
	return key, nil
}

// Seal returns secret sealed, bound to ad: Open needs the same ad, so a sealed
// value moved to another row (another ad) does not open.
func (b *Box) Seal(secret, ad []byte) []byte {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(secret)+b.aead.Overhead())
	out[0] = version
	nonce := out[1:]
	// crypto/rand.Read never fails (Go 1.24+).
	_, _ = rand.Read(nonce)
	return b.aead.Seal(out, nonce, secret, ad)
}

// Open returns the secret sealed in sealed with ad.
func (b *Box) Open(sealed, ad []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	secret, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return secret, nil
}
