package version

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFromBuildInfo(t *testing.T) {
	t.Parallel()

	t.Run("StampedBuild", func(t *testing.T) {
		t.Parallel()
		info := fromBuildInfo(&debug.BuildInfo{
			GoVersion: "go1.26.0",
			Main:      debug.Module{Path: "github.com/callsvc/callsvc", Version: "v0.0.0-20260102150405-abcdef123456+dirty"},
			Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "abcdef1234567890abcdef1234567890abcdef12"},
				{Key: "vcs.time", Value: "2026-01-02T15:04:05Z"},
				{Key: "vcs.modified", Value: "true"},
			},
		})
		require.Equal(t, Info{
			Version:    "v0.0.0-20260102150405-abcdef123456+dirty",
			Commit:     "abcdef1234567890abcdef1234567890abcdef12",
			CommitTime: "2026-01-02T15:04:05Z",
			Modified:   true,
			Go:         "go1.26.0",
		}, info)
		require.Equal(t, "callsvc/v0.0.0-20260102150405-abcdef123456+dirty", info.Product())
		require.Equal(t, "callsvc v0.0.0-20260102150405-abcdef123456+dirty\n"+
			"  commit:   abcdef1234567890abcdef1234567890abcdef12\n"+
			"  time:     2026-01-02T15:04:05Z (of the commit)\n"+
			"  modified: true\n"+
			"  api:      1.0.0\n"+
			"  go:       go1.26.0\n", info.Text("1.0.0"))
	})

	t.Run("UnstampedBuild", func(t *testing.T) {
		t.Parallel()
		info := fromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}})
		require.Equal(t, "callsvc/devel", info.Product())
		require.Contains(t, info.Text("1.0.0"), "commit:   unknown")
	})

	t.Run("NoBuildInfo", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "callsvc/devel", fromBuildInfo(nil).Product())
	})
}
