package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSettingsMatchREADME holds the three places a setting is described to each
// other: the settings list (which loadConfig reads), `callsvc help`, and the
// README's Configuration table, defaults included.
func TestSettingsMatchREADME(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(readme), "\n## Configuration\n")
	require.True(t, ok, "README has a Configuration section")
	table, _, _ = strings.Cut(table, "\n## ")

	// | `NAME` | `default` or unset | what it does |
	row := regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]+)` \\| (`([^`]*)`|unset) \\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		documented[m[1]] = m[3]
	}
	help := usageText()
	for _, s := range settings {
		def, ok := documented[s.name]
		require.True(t, ok, "README's Configuration table lists %s", s.name)
		require.Equal(t, s.def, def, "README's default of %s", s.name)
		require.Contains(t, help, s.name, "callsvc help lists %s", s.name)
		if s.def != "" {
			require.Contains(t, help, "default "+s.def, "callsvc help gives the default of %s", s.name)
		}
		delete(documented, s.name)
	}
	require.Empty(t, documented, "README documents settings callsvc does not read")
}
