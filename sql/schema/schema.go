// Package schema embeds the dbmate migrations, so the callsvc binary and the tests
// migrate from exactly the files sqlc compiles against.
package schema

import "embed"

// FS holds the migration files at its root.
//
//go:embed *.sql
var FS embed.FS
