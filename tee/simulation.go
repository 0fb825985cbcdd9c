package tee

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"
)

// Simulation report, fixed length, big-endian:
//
//	magic   37  "cocogeth simulation report (insecure)"
//	version  1  simVersion
//	unique  32  code identity
//	signer  32  Signer
//	product  2
//	svn      2
//	flags    1  bit 0: debug; other bits zero
//	data    64  report data, zero-padded
//	pub     32  Ed25519 public key of the reporting process
//	sig     64  Ed25519 signature by pub over all of the above
const (
	simMagic   = "cocogeth simulation report (insecure)"
	simVersion = 1

	offVersion = len(simMagic)
	offUnique  = offVersion + 1
	offSigner  = offUnique + 32
	offProduct = offSigner + 32
	offSVN     = offProduct + 2
	offFlags   = offSVN + 2
	offData    = offFlags + 1
	offPub     = offData + ReportDataSize
	offSig     = offPub + ed25519.PublicKeySize

	// SimulationReportSize is the length of every simulation report.
	SimulationReportSize = offSig + ed25519.SignatureSize

	flagDebug = 1
)

// Signer is the SignerID of every simulation report: a constant anyone can
// claim, distinct from any real MRSIGNER.
var Signer = sha256.Sum256([]byte("cocogeth simulation signer v1"))

// Sealed blobs of the simulation: version || nonce || AES-256-GCM
// ciphertext and tag, the version and a domain string as additional data.
const (
	simSealVersion = 1
	simSealInfo    = "cocogeth simulation seal v1"
)

// simReport is a decoded simulation report.
type simReport struct {
	UniqueID, SignerID [32]byte
	ProductID          uint16
	SecurityVersion    uint16
	Debug              bool
	Data               [ReportDataSize]byte
}

// sign encodes r and signs it with key.
func (r *simReport) sign(key ed25519.PrivateKey) []byte {
	b := make([]byte, SimulationReportSize)
	copy(b, simMagic)
	b[offVersion] = simVersion
	copy(b[offUnique:], r.UniqueID[:])
	copy(b[offSigner:], r.SignerID[:])
	binary.BigEndian.PutUint16(b[offProduct:], r.ProductID)
	binary.BigEndian.PutUint16(b[offSVN:], r.SecurityVersion)
	if r.Debug {
		b[offFlags] = flagDebug
	}
	copy(b[offData:], r.Data[:])
	copy(b[offPub:], key.Public().(ed25519.PublicKey))
	copy(b[offSig:], ed25519.Sign(key, b[:offSig]))
	return b
}

func verifySimulation(b []byte) (Claims, error) {
	if len(b) != SimulationReportSize {
		return Claims{}, fmt.Errorf("%w: simulation report of %d bytes, want %d", ErrMalformed, len(b), SimulationReportSize)
	}
	if string(b[:offVersion]) != simMagic {
		return Claims{}, fmt.Errorf("%w: not a simulation report", ErrMalformed)
	}
	if b[offVersion] != simVersion {
		return Claims{}, fmt.Errorf("%w: simulation report version %d, want %d", ErrMalformed, b[offVersion], simVersion)
	}
	if b[offFlags]&^flagDebug != 0 {
		return Claims{}, fmt.Errorf("%w: unknown flags %#x", ErrMalformed, b[offFlags])
	}
	if !ed25519.Verify(ed25519.PublicKey(b[offPub:offSig]), b[:offSig], b[offSig:]) {
		return Claims{}, fmt.Errorf("%w: simulation report signature", ErrNotAuthentic)
	}
	c := Claims{
		Kind:            KindSimulation,
		ProductID:       binary.BigEndian.Uint16(b[offProduct:]),
		SecurityVersion: uint(binary.BigEndian.Uint16(b[offSVN:])),
		Debug:           b[offFlags]&flagDebug != 0,
		Data:            bytes.Clone(b[offData:offPub]),
	}
	copy(c.UniqueID[:], b[offUnique:])
	copy(c.SignerID[:], b[offSigner:])
	return c, nil
}

// simulation is the TEE for machines without SGX.
type simulation struct {
	key  ed25519.PrivateKey // per process, made at start
	self simReport          // what every report claims (Data aside)
	aead cipher.AEAD        // sealing, keyed from the operator secret
}

func newSimulation(cfg Config) (*simulation, error) {
	secret := cfg.Secret
	if secret.IsZero() {
		var err error
		if secret, err = LoadOrCreateSecret(cfg.SecretFile); err != nil {
			return nil, err
		}
	}
	if err := secret.check(); err != nil {
		return nil, err
	}
	aead, err := simSealer(secret)
	if err != nil {
		return nil, err
	}
	code, err := measure(cfg.Executable)
	if err != nil {
		return nil, err
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &simulation{
		key:  key,
		aead: aead,
		self: simReport{
			UniqueID:        code,
			SignerID:        Signer,
			ProductID:       cfg.ProductID,
			SecurityVersion: uint16(cfg.SecurityVersion), // Validate bounds it
		},
	}, nil
}

func simSealer(secret Secret) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret.bytes(), nil, simSealInfo, 32)
	if err != nil {
		return nil, err
	}
	if allZero(key) { // cannot happen with HKDF; never seal under it anyway
		return nil, ErrNoSecret
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *simulation) Kind() string { return KindSimulation }

func (s *simulation) Report(data []byte) ([]byte, error) {
	d, err := padData(data)
	if err != nil {
		return nil, err
	}
	r := s.self
	copy(r.Data[:], d)
	return r.sign(s.key), nil
}

// Verify accepts simulation reports only.
func (s *simulation) Verify(report []byte) (Claims, error) { return verifySimulation(report) }

func simSealAD() []byte { return append([]byte{simSealVersion}, simSealInfo...) }

func (s *simulation) Seal(plaintext []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = simSealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[1:], plaintext, simSealAD()), nil
}

func (s *simulation) Unseal(sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrUnseal, len(sealed))
	}
	if sealed[0] != simSealVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrUnseal, sealed[0], simSealVersion)
	}
	pt, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], simSealAD())
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}

// measureSelf hashes the running executable once.
var measureSelf = sync.OnceValues(func() ([32]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return [32]byte{}, fmt.Errorf("tee: locating the executable to measure: %w", err)
	}
	return hashFile(exe)
})

// measure returns the simulation code identity of path, or of the running
// executable if path is empty.
func measure(path string) ([32]byte, error) {
	if path == "" {
		return measureSelf()
	}
	return hashFile(path)
}

// SimulationCodeID is the code identity simulation reports of this
// executable claim: what a development constitution's code manifest lists.
func SimulationCodeID() ([32]byte, error) { return measureSelf() }

func hashFile(path string) ([32]byte, error) {
	var id [32]byte
	f, err := os.Open(path)
	if err != nil {
		return id, fmt.Errorf("tee: measuring the executable: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return id, fmt.Errorf("tee: measuring the executable: %w", err)
	}
	h.Sum(id[:0])
	return id, nil
}
