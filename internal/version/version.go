// Package version says which build of callsvc is running, from what the Go
// toolchain stamps into the binary: the main module's version and, when built
// from a git clone with -buildvcs=true (make build does), the commit.
//
// Go stamps the commit's time (vcs.time), not the moment of the build, so two
// builds of one commit are identical.
package version

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Info describes one build.
type Info struct {
	// Version is the main module's version: v1.2.3 on a tagged commit, a
	// pseudo-version (v0.0.0-20260102150405-abcdef123456) otherwise, with
	// "+dirty" when the tree had uncommitted changes; "(devel)" when unknown.
	Version string
	// Commit is the full git revision, "" when the build carries none
	// (go test, go run, a git worktree, -buildvcs=false).
	Commit string
	// CommitTime is the commit's time, RFC 3339 in UTC; "" with no Commit.
	CommitTime string
	// Modified is true when the tree had uncommitted changes.
	Modified bool
	// Go is the toolchain that built the binary.
	Go string
}

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "(devel)"}
	if bi == nil {
		return info
	}
	info.Go = bi.GoVersion
	if bi.Main.Version != "" {
		info.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.CommitTime = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// Product is the build as an HTTP product token (RFC 9110), e.g.
// "callsvc/v0.0.0-20260102150405-abcdef123456", for the Server header.
func (i Info) Product() string {
	v := i.Version
	if v == "(devel)" || v == "" {
		v = "devel"
	}
	return "callsvc/" + v
}

// Text is what `callsvc version` prints; apiVersion is the contract's
// semantic version (the spec's info.version).
func (i Info) Text(apiVersion string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "callsvc %s\n", i.Version)
	if i.Commit == "" {
		fmt.Fprintf(&b, "  commit:   unknown (build from a git clone with go build -buildvcs=true, as make build does)\n")
	} else {
		fmt.Fprintf(&b, "  commit:   %s\n", i.Commit)
		fmt.Fprintf(&b, "  time:     %s (of the commit)\n", i.CommitTime)
		fmt.Fprintf(&b, "  modified: %t\n", i.Modified)
	}
	fmt.Fprintf(&b, "  api:      %s\n", apiVersion)
	fmt.Fprintf(&b, "  go:       %s\n", i.Go)
	return b.String()
}
