package main

import (
	"errors"
	"flag"
	"io"
)

// parseFlags parses args with fs, quietly: a mistake becomes one usageError
// line instead of the flag package's multi-line usage dump.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usagef("%s: see the usage", fs.Name())
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
