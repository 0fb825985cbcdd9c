package recovery

import (
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"

	"go.dedis.ch/kyber/v3"
)

// ErrInvalidKey is returned (wrapped) for malformed private or public keys.
var ErrInvalidKey = errors.New("recovery: invalid key")

const redacted = "[REDACTED]"

// maxKeyFileSize bounds what ReadKeyFile reads; a key file is 65 bytes.
const maxKeyFileSize = 4096

// PrivateKey is a member's recovery key: a non-zero scalar x of the Ed25519
// prime-order group. It never leaves the member; the corresponding PublicKey
// x·G is listed in every Record the member is part of.
//
// A PrivateKey never prints its secret: String, GoString, Format and LogValue
// redact it, and MarshalJSON refuses to encode it. MarshalText is the only way
// to serialise it (for a key file written with WriteKeyFile).
type PrivateKey struct {
	// x is held behind the kyber.Scalar interface (a pointer), so even
	// reflection-based printing of a struct embedding a PrivateKey only shows
	// an address.
	x   kyber.Scalar
	pub PublicKey
}

// PublicKey is a marshalled member public key: the canonical 32-byte encoding
// of a point of the Ed25519 prime-order subgroup, other than the identity.
type PublicKey []byte

// GenerateKey creates a new recovery key. rand should be a cryptographically
// secure source; nil means crypto/rand.Reader.
func GenerateKey(rand io.Reader) (*PrivateKey, error) {
	if rand == nil {
		rand = crand.Reader
	}
	var seed [64]byte
	defer clear(seed[:])
	for {
		if _, err := io.ReadFull(rand, seed[:]); err != nil {
			return nil, fmt.Errorf("recovery: reading randomness: %w", err)
		}
		// Wide reduction of 512 bits modulo L: negligible bias.
		x := suite.Scalar().SetBytes(seed[:])
		if !x.Equal(suite.Scalar().Zero()) {
			return newPrivateKey(x), nil
		}
	}
}

func newPrivateKey(x kyber.Scalar) *PrivateKey {
	return &PrivateKey{x: x, pub: mustMarshal(suite.Point().Mul(x, nil))}
}

// Public returns the public key corresponding to k.
func (k *PrivateKey) Public() PublicKey {
	if k == nil {
		return nil
	}
	return bytes.Clone(k.pub)
}

// MarshalText returns the key as 64 lowercase hex digits (the canonical
// little-endian scalar). Treat the result as secret.
func (k *PrivateKey) MarshalText() ([]byte, error) {
	if k == nil || k.x == nil {
		return nil, fmt.Errorf("%w: empty private key", ErrInvalidKey)
	}
	raw := mustMarshal(k.x)
	defer clear(raw)
	out := make([]byte, hex.EncodedLen(len(raw)))
	hex.Encode(out, raw)
	return out, nil
}

// ParsePrivateKey parses the output of MarshalText. Surrounding white space
// is ignored. Error messages never contain the input.
func ParsePrivateKey(text []byte) (*PrivateKey, error) {
	text = bytes.TrimSpace(text)
	if len(text) != 2*scalarSize {
		return nil, fmt.Errorf("%w: private key must be %d hex digits", ErrInvalidKey, 2*scalarSize)
	}
	raw := make([]byte, scalarSize)
	defer clear(raw)
	if _, err := hex.Decode(raw, text); err != nil {
		return nil, fmt.Errorf("%w: private key is not valid hex", ErrInvalidKey)
	}
	x, err := decodeScalar(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: private key is not a canonical scalar", ErrInvalidKey)
	}
	if x.Equal(suite.Scalar().Zero()) {
		return nil, fmt.Errorf("%w: private key is zero", ErrInvalidKey)
	}
	return newPrivateKey(x), nil
}

// String returns a redacted description showing only the public key.
func (k PrivateKey) String() string {
	return "recovery.PrivateKey(public=" + hex.EncodeToString(k.pub) + ", private=" + redacted + ")"
}

// GoString implements fmt.GoStringer (%#v) without revealing the key.
func (k PrivateKey) GoString() string {
	return "recovery.PrivateKey{" + redacted + "}"
}

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s, %x,
// %q, ...) prints the redacted form.
func (k PrivateKey) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, k.GoString())
		return
	}
	io.WriteString(f, k.String())
}

// LogValue implements slog.LogValuer. Without it slog's text handler would
// call MarshalText and log the key.
func (k PrivateKey) LogValue() slog.Value {
	return slog.StringValue(k.String())
}

// MarshalJSON refuses to encode a private key. encoding/json would otherwise
// fall back to MarshalText and embed the key in, e.g., a logged config.
func (k PrivateKey) MarshalJSON() ([]byte, error) {
	return nil, errors.New("recovery: refusing to encode a private key as JSON")
}

// ParsePublicKey validates b as a member public key and returns a copy: it
// must be the canonical encoding of a point of the prime-order subgroup and
// not the identity (so in particular not of small order).
func ParsePublicKey(b []byte) (PublicKey, error) {
	if _, err := decodePublicKey(b); err != nil {
		return nil, err
	}
	return PublicKey(bytes.Clone(b)), nil
}

func decodePublicKey(b []byte) (kyber.Point, error) {
	p, err := decodePoint(b)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %v", ErrInvalidKey, err)
	}
	if p.Equal(suite.Point().Null()) {
		return nil, fmt.Errorf("%w: public key is the identity", ErrInvalidKey)
	}
	return p, nil
}

// String returns the key in hex.
func (p PublicKey) String() string { return hex.EncodeToString(p) }

// Equal reports whether p and q are the same key.
func (p PublicKey) Equal(q PublicKey) bool { return bytes.Equal(p, q) }

// MarshalText encodes the key in hex.
func (p PublicKey) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(p)))
	hex.Encode(out, p)
	return out, nil
}

// UnmarshalText decodes a hex key and validates it with ParsePublicKey.
func (p *PublicKey) UnmarshalText(text []byte) error {
	raw, err := hex.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil {
		return fmt.Errorf("%w: public key is not valid hex", ErrInvalidKey)
	}
	k, err := ParsePublicKey(raw)
	if err != nil {
		return err
	}
	*p = k
	return nil
}

// WriteKeyFile writes k to a new file at path with mode 0600 (as further
// restricted by the umask). It refuses to overwrite an existing file.
func WriteKeyFile(path string, k *PrivateKey) (err error) {
	text, err := k.MarshalText()
	if err != nil {
		return err
	}
	line := make([]byte, len(text)+1)
	copy(line, text)
	line[len(text)] = '\n'
	clear(text)
	defer clear(line)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("recovery: key file %s already exists; refusing to overwrite it", path)
		}
		return fmt.Errorf("recovery: creating key file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("recovery: closing key file: %w", cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if _, err = f.Write(line); err != nil {
		return fmt.Errorf("recovery: writing key file: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("recovery: syncing key file: %w", err)
	}
	return nil
}

// ReadKeyFile reads a key written by WriteKeyFile. On Unix it refuses a file
// that is readable or writable by group or others, as ssh does.
func ReadKeyFile(path string) (*PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recovery: opening key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("recovery: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("recovery: key file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("recovery: key file %s has mode %04o; it must not be accessible by group or others (chmod 600)", path, fi.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("recovery: reading key file: %w", err)
	}
	defer clear(data)
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("recovery: key file %s is too large", path)
	}
	k, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("recovery: key file %s: %w", path, err)
	}
	return k, nil
}
