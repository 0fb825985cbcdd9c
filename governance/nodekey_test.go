package governance

import (
	"bytes"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// NormaliseNodeKey takes every form `cocogeth nodekey` and the genesis may
// give (65, 64 and 33 bytes) to the 65-byte form, and refuses the rest.
func TestNormaliseNodeKey(t *testing.T) {
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	full := crypto.FromECDSAPub(&k.PublicKey)
	forms := map[string][]byte{
		"65-byte uncompressed": full,
		"64-byte raw":          full[1:],
		"33-byte compressed":   crypto.CompressPubkey(&k.PublicKey),
	}
	for name, in := range forms {
		got, err := NormaliseNodeKey(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, full) {
			t.Errorf("%s: got %x, want %x", name, got, full)
		}
	}
	offCurve := bytes.Clone(full)
	offCurve[64] ^= 1
	badPrefix := crypto.CompressPubkey(&k.PublicKey)
	badPrefix[0] = 0x05
	garbage := map[string][]byte{
		"empty":                  nil,
		"short":                  []byte{1, 2, 3},
		"65 bytes off the curve": offCurve,
		"64 bytes off the curve": offCurve[1:],
		"65 bytes, no 0x04":      append([]byte{0x05}, full[1:]...),
		"33 bytes, bad prefix":   badPrefix,
		"32 bytes":               full[1:33],
		"66 bytes":               append(bytes.Clone(full), 0),
	}
	for name, in := range garbage {
		if got, err := NormaliseNodeKey(in); err == nil {
			t.Errorf("%s: accepted as %x", name, got)
		}
	}
}
