package tee

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// SecretSize is the size of a simulation sealing secret.
const SecretSize = 32

// Secret is key material. It never prints: every fmt verb, String and
// MarshalText give "<redacted>".
type Secret struct{ b []byte }

const redacted = "<redacted>"

// NewSecret returns a secret holding a copy of b.
func NewSecret(b []byte) Secret { return Secret{b: bytes.Clone(b)} }

// IsZero reports whether the secret is unset.
func (s Secret) IsZero() bool { return len(s.b) == 0 }

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) Format(f fmt.State, _ rune)   { io.WriteString(f, redacted) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (s Secret) bytes() []byte                { return s.b }
func (s *Secret) UnmarshalText(b []byte) error {
	return errors.New("tee: secrets are not read from text")
}

// check refuses secrets that would make a guessable key.
func (s Secret) check() error {
	if len(s.b) < SecretSize {
		return fmt.Errorf("%w: %d bytes, need at least %d", ErrNoSecret, len(s.b), SecretSize)
	}
	if allZero(s.b) {
		return fmt.Errorf("%w: all zero", ErrNoSecret)
	}
	return nil
}

// LoadOrCreateSecret reads the secret in path, or creates the file (mode
// 0600, SecretSize random bytes) if it does not exist. A file readable or
// writable by group or others, shorter than SecretSize or all zero is
// refused.
func LoadOrCreateSecret(path string) (Secret, error) {
	if path == "" {
		return Secret{}, fmt.Errorf("%w: no secret file configured", ErrNoSecret)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		b := make([]byte, SecretSize)
		if _, err := rand.Read(b); err != nil {
			f.Close()
			return Secret{}, err
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return Secret{}, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return Secret{}, err
		}
		if err := f.Close(); err != nil {
			return Secret{}, err
		}
		return Secret{b: b}, nil
	case !errors.Is(err, fs.ErrExist):
		return Secret{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return Secret{}, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return Secret{}, fmt.Errorf("%w: %s has mode %v, want 0600", ErrNoSecret, path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Secret{}, err
	}
	s := Secret{b: b}
	if err := s.check(); err != nil {
		return Secret{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
