package secretbox

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, KeySize)
	box, err := New(key)
	require.NoError(t, err)
	secret := []byte("0123456789abcdef0123456789abcdef")

	sealed := box.Seal(secret, []byte("row-1"))
	require.Len(t, sealed, len(secret)+Overhead)
	require.NotContains(t, string(sealed), string(secret))
	require.NotEqual(t, sealed, box.Seal(secret, []byte("row-1")), "a fresh nonce every time")

	got, err := box.Open(sealed, []byte("row-1"))
	require.NoError(t, err)
	require.Equal(t, secret, got)

	// Another server with the same key opens it: the key is configuration.
	other, err := New(bytes.Clone(key))
	require.NoError(t, err)
	got, err = other.Open(sealed, []byte("row-1"))
	require.NoError(t, err)
	require.Equal(t, secret, got)

	_, err = box.Open(sealed, []byte("row-2"))
	require.ErrorIs(t, err, ErrOpen, "bound to its additional data")
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	_, err = box.Open(tampered, []byte("row-1"))
	require.ErrorIs(t, err, ErrOpen)
	wrongKey, err := New(bytes.Repeat([]byte{8}, KeySize))
	require.NoError(t, err)
	_, err = wrongKey.Open(sealed, []byte("row-1"))
	require.ErrorIs(t, err, ErrOpen)
	_, err = box.Open(sealed[:10], []byte("row-1"))
	require.ErrorIs(t, err, ErrOpen)
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	key, err := ParseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	require.NoError(t, err)
	require.Len(t, key, KeySize)
	for _, bad := range []string{"", "not base64!", "AAECAwQFBgcICQoLDA0ODw=="} {
		_, err := ParseKey(bad)
		require.Error(t, err, bad)
	}
	_, err = New(make([]byte, 16))
	require.Error(t, err)
}
