package cluster

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"postgres://postgres@127.0.0.1:5432/callsvc": "127.0.0.1:5432",
		"postgres://postgres@localhost/callsvc":      "127.0.0.1:5432",
		"postgres://postgres@[::1]:5433/callsvc":     "::1:5433",
		"postgres://postgres@10.0.0.5:5432/callsvc":  "",
		"postgres://postgres@db.example.com/callsvc": "",
	} {
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		host, port, err := loopbackHost(u)
		if want == "" {
			require.ErrorContains(t, err, "not loopback", dsn)
			continue
		}
		require.NoError(t, err, dsn)
		require.Equal(t, want, host+":"+port, dsn)
	}
}

func TestPgBouncerURL(t *testing.T) {
	t.Parallel()
	u, err := url.Parse("postgres://app:s3cret@127.0.0.1:5432/callsvc?sslmode=require&default_query_exec_mode=cache_statement&application_name=x")
	require.NoError(t, err)
	got, err := url.Parse(withHost(u, 6432))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:6432", got.Host)
	require.Equal(t, "/callsvc", got.Path)
	require.Equal(t, "app", got.User.Username())
	require.Equal(t, url.Values{"sslmode": {"disable"}, "application_name": {"x"}}, got.Query())
	require.Equal(t, "\"app\" \"s3cret\"\n", string(pgbouncerUserList(u)))
}
