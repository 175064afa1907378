package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/callsvc/callsvc/internal/db"
)

// API keys look like "csk_" followed by 43 base64url characters (32 random bytes).
// Only their SHA-256 is stored; the first characters are kept for display.
const (
	keyPrefix        = "csk_"
	keyDisplayLength = 12
	// keyCacheTTL bounds how long a revoked key can still authenticate on a
	// server that saw it valid: the contract allows one second.
	keyCacheTTL = 500 * time.Millisecond
)

// CreateOrganization creates an organization and its first API key, in tx.
func (s *Service) CreateOrganization(ctx context.Context, tx *Tx, name string) (Organization, NewAPIKey, error) {
	if err := validateName(name); err != nil {
		return Organization{}, NewAPIKey{}, err
	}
	row, err := tx.Queries().CreateOrganization(ctx, name)
	if err != nil {
		return Organization{}, NewAPIKey{}, fmt.Errorf("create organization: %w", dbErr(err, nil))
	}
	key, err := s.CreateAPIKey(ctx, tx, row.ID)
	if err != nil {
		return Organization{}, NewAPIKey{}, err
	}
	return Organization{ID: row.ID, Name: row.Name, CreatedAt: row.CreatedAt}, key, nil
}

// CreateAPIKey issues another key for an organization, in tx.
func (s *Service) CreateAPIKey(ctx context.Context, tx *Tx, orgID uuid.UUID) (NewAPIKey, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return NewAPIKey{}, fmt.Errorf("generate api key: %w", err)
	}
	secret := keyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	hash := sha256.Sum256([]byte(secret))
	row, err := tx.Last().CreateAPIKey(ctx, db.CreateAPIKeyParams{
		OrganizationID: orgID,
		KeyHash:        hash[:],
		KeyPrefix:      secret[:keyDisplayLength],
	})
	if err != nil {
		return NewAPIKey{}, fmt.Errorf("create api key for organization %s: %w", orgID, dbErr(err, nil))
	}
	return NewAPIKey{ID: row.ID, OrganizationID: orgID, Secret: secret}, nil
}

// RevokeAPIKey revokes a key, in tx; every server refuses it within keyCacheTTL.
func (s *Service) RevokeAPIKey(ctx context.Context, tx *Tx, keyID uuid.UUID) error {
	if _, err := tx.Last().RevokeAPIKey(ctx, keyID); err != nil {
		return fmt.Errorf("revoke api key %s: %w", keyID, dbErr(err, ErrAPIKeyNotFound))
	}
	return nil
}

// Authenticate returns the organization of a valid, unrevoked API key, or
// ErrUnauthorized. Keys are looked up by their SHA-256, so no comparison of
// secrets depends on how much of them matches.
func (s *Service) Authenticate(ctx context.Context, secret string) (OrgID, error) {
	if !strings.HasPrefix(secret, keyPrefix) || len(secret) > 128 {
		return OrgID{}, ErrUnauthorized
	}
	hash := sha256.Sum256([]byte(secret))
	if org, ok := s.keys.get(hash); ok {
		return org, nil
	}
	row, err := s.q.GetActiveAPIKeyByHash(ctx, hash[:])
	if err != nil {
		return OrgID{}, fmt.Errorf("authenticate: %w", dbErr(err, ErrUnauthorized))
	}
	org := OrgID(row.OrganizationID)
	s.keys.put(hash, org)
	return org, nil
}

// keyCache remembers valid keys for a short time, saving a round trip per request.
type keyCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[[32]byte]keyCacheEntry
}

type keyCacheEntry struct {
	org     OrgID
	expires time.Time
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, entries: make(map[[32]byte]keyCacheEntry)}
}

func (c *keyCache) get(hash [32]byte) (OrgID, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || time.Now().After(e.expires) {
		delete(c.entries, hash)
		return OrgID{}, false
	}
	return e.org, true
}

func (c *keyCache) put(hash [32]byte, org OrgID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if len(c.entries) > 10000 { // bounded: drop what has expired
		for k, e := range c.entries {
			if now.After(e.expires) {
				delete(c.entries, k)
			}
		}
	}
	c.entries[hash] = keyCacheEntry{org: org, expires: now.Add(c.ttl)}
}
