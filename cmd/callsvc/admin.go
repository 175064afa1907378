package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/google/uuid"

	"github.com/callsvc/callsvc/internal/service"
)

// adminService opens a small pool for one administrative command.
func adminService(ctx context.Context, cfg config) (*service.Service, func(), error) {
	pool, err := openPool(ctx, cfg, 2, nil)
	if err != nil {
		return nil, nil, err
	}
	return service.New(pool, slog.New(slog.DiscardHandler)), pool.Close, nil
}

// printJSON writes v as one JSON object on one line, for scripts to read.
func printJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

func orgCmd(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usagef("org: want `org create --name NAME`")
	}
	fs := flag.NewFlagSet("org create", flag.ContinueOnError)
	name := fs.String("name", "", "organization name, 1-200 characters")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" {
		return usagef("org create: --name is required")
	}
	svc, done, err := adminService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	var org service.Organization
	var key service.NewAPIKey
	err = svc.InTx(ctx, func(tx *service.Tx) (err error) {
		org, key, err = svc.CreateOrganization(ctx, tx, *name)
		return err
	})
	if err != nil {
		return fmt.Errorf("org create: %w", err)
	}
	// keyId goes beyond the contract's three fields: without it the first key
	// could never be revoked with `key revoke --id`.
	return printJSON(stdout, struct {
		OrganizationID uuid.UUID `json:"organizationId"`
		Name           string    `json:"name"`
		APIKey         string    `json:"apiKey"`
		KeyID          uuid.UUID `json:"keyId"`
	}{org.ID, org.Name, key.Secret, key.ID})
}

func keyCmd(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("key: want `key create --org ID` or `key revoke --id KEY_ID`")
	}
	switch args[0] {
	case "create":
		return keyCreate(ctx, cfg, args[1:], stdout)
	case "revoke":
		return keyRevoke(ctx, cfg, args[1:], stdout)
	}
	return usagef("key: unknown action %q, want create or revoke", args[0])
}

func keyCreate(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("key create", flag.ContinueOnError)
	org := fs.String("org", "", "organization id")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	orgID, err := uuid.Parse(*org)
	if err != nil {
		return usagef("key create: --org must be an organization id (UUID), got %q", *org)
	}
	svc, done, err := adminService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	var key service.NewAPIKey
	err = svc.InTx(ctx, func(tx *service.Tx) (err error) {
		key, err = svc.CreateAPIKey(ctx, tx, orgID)
		return err
	})
	if err != nil {
		return fmt.Errorf("key create: %w", err)
	}
	return printJSON(stdout, struct {
		KeyID          uuid.UUID `json:"keyId"`
		OrganizationID uuid.UUID `json:"organizationId"`
		APIKey         string    `json:"apiKey"`
	}{key.ID, key.OrganizationID, key.Secret})
}

func keyRevoke(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("key revoke", flag.ContinueOnError)
	id := fs.String("id", "", "key id, as printed by key create")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	keyID, err := uuid.Parse(*id)
	if err != nil {
		return usagef("key revoke: --id must be a key id (UUID), got %q", *id)
	}
	svc, done, err := adminService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	err = svc.InTx(ctx, func(tx *service.Tx) error { return svc.RevokeAPIKey(ctx, tx, keyID) })
	if err != nil {
		return fmt.Errorf("key revoke: %w", err)
	}
	return printJSON(stdout, struct {
		KeyID   uuid.UUID `json:"keyId"`
		Revoked bool      `json:"revoked"`
	}{keyID, true})
}
