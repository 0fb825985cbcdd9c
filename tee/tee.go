package tee

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
)

// TEE kinds; the names are those of the constitution's TEE manifest
// (governance.TEESGX, governance.TEESimulation).
const (
	KindSGX        = "sgx"
	KindSimulation = "simulation"
)

// Kinds are the TEE kinds this package implements.
var Kinds = []string{KindSGX, KindSimulation}

// ReportDataSize is the most data a report binds (the SGX report data
// field); shorter data is zero-padded to it.
const ReportDataSize = 64

// Errors. Verify and Check return exactly one of them (possibly wrapped
// with detail); callers branch with errors.Is.
var (
	// Verify: the report is not authentic or cannot be read.
	ErrMalformed    = errors.New("tee: malformed report")
	ErrNotAuthentic = errors.New("tee: report is not authentic")

	// Check: a rule refused authentic claims.
	ErrWrongKind      = errors.New("tee: TEE kind not in the TEE manifest")
	ErrDataMismatch   = errors.New("tee: report is bound to other data")
	ErrCodeNotAllowed = errors.New("tee: code identity not in the code manifest")
	ErrWrongSigner    = errors.New("tee: enclave signer not allowed")
	ErrWrongProduct   = errors.New("tee: enclave product not allowed")
	ErrStaleSVN       = errors.New("tee: security version below the minimum")
	ErrDebug          = errors.New("tee: debug enclave refused")
	ErrBadPolicy      = errors.New("tee: invalid policy")

	// The platform or configuration.
	ErrUnknownKind  = errors.New("tee: unknown TEE kind")
	ErrUnsupported  = errors.New("tee: TEE kind not supported by this build")
	ErrNotInEnclave = errors.New("tee: not running inside an enclave")
	ErrNoSecret     = errors.New("tee: no usable sealing secret")
	ErrUnseal       = errors.New("tee: sealed data is corrupt or sealed under another key")
	ErrDataSize     = errors.New("tee: report data must be 1..64 bytes")
)

// Claims is what a verified report says about the enclave that made it.
type Claims struct {
	// Kind is the TEE kind of the verifier that accepted the report.
	Kind string
	// UniqueID is the code identity (SGX MRENCLAVE; simulation: SHA-256 of
	// the executable); the code manifest lists these.
	UniqueID [32]byte
	// SignerID is the enclave signer (SGX MRSIGNER; simulation: Signer).
	SignerID [32]byte
	// ProductID and SecurityVersion are the enclave's ISVPRODID and ISVSVN.
	ProductID       uint16
	SecurityVersion uint
	// Debug is set for debug enclaves, whose memory the host can read.
	Debug bool
	// Data is the bound report data, ReportDataSize bytes.
	Data []byte
}

func (c Claims) String() string {
	return fmt.Sprintf("%s code %x signer %x product %d svn %d debug %t", c.Kind, c.UniqueID, c.SignerID, c.ProductID, c.SecurityVersion, c.Debug)
}

// TEE is one trusted execution environment. Implementations are safe for
// concurrent use.
type TEE interface {
	// Kind is KindSGX or KindSimulation.
	Kind() string
	// Report makes an attestation report binding data (1..ReportDataSize
	// bytes, usually ReportData of the TLS public key).
	Report(data []byte) ([]byte, error)
	// Verify checks a peer's report of this TEE's kind and returns its
	// claims; it applies no policy (see Check).
	Verify(report []byte) (Claims, error)
	// Seal encrypts a node secret so that only this TEE (sgx: this code on
	// this CPU; simulation: the holder of the operator secret) can Unseal.
	Seal(plaintext []byte) ([]byte, error)
	// Unseal decrypts what Seal returned; it fails with ErrUnseal if the
	// blob was altered or sealed under another key.
	Unseal(sealed []byte) ([]byte, error)
}

// Config configures New. The zero value is not usable for simulation: it
// needs a secret.
type Config struct {
	// SecretFile holds the simulation's sealing secret (SecretSize random
	// bytes). It is created with mode 0600 on first use; a file readable by
	// group or others, too short or all zero is refused. Ignored by sgx.
	SecretFile string
	// Secret, if set, is used instead of SecretFile (tests, or an operator
	// secret passed some other way). Ignored by sgx.
	Secret Secret
	// ProductID and SecurityVersion are what simulation reports claim (an
	// SGX enclave's come from its signature, `ego sign`). Defaults 1 and 1.
	ProductID       uint16
	SecurityVersion uint
	// Executable is the file whose SHA-256 is the simulation code identity;
	// empty means the running executable (os.Executable). Ignored by sgx.
	Executable string
}

// DefaultConfig returns the defaults: product 1, security version 1, the
// running executable, and no secret (set SecretFile).
func DefaultConfig() Config {
	return Config{ProductID: 1, SecurityVersion: 1}
}

// Validate checks the settings that do not depend on the kind.
func (c Config) Validate() error {
	if c.SecurityVersion > math.MaxUint16 {
		return fmt.Errorf("tee: security version %d exceeds %d", c.SecurityVersion, math.MaxUint16)
	}
	if !c.Secret.IsZero() {
		if err := c.Secret.check(); err != nil {
			return err
		}
	}
	return nil
}

// New returns the TEE of the given kind. For sgx it fails with
// ErrNotInEnclave unless attestation proves it runs inside an enclave
// (and with ErrUnsupported in a build without cgo).
func New(kind string, cfg Config) (TEE, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var (
		t   TEE
		err error
	)
	switch kind {
	case KindSimulation:
		t, err = newSimulation(cfg)
	case KindSGX:
		t, err = newSGX(cfg)
	default:
		return nil, fmt.Errorf("%w %q (want one of %v)", ErrUnknownKind, kind, Kinds)
	}
	if err != nil {
		return nil, err // not a typed nil
	}
	return t, nil
}

// Verify checks a report of the given kind (carried beside the report,
// e.g. in the certificate extension) without needing a TEE of that kind:
// a node verifies peers of every kind the policy may allow. The returned
// Claims.Kind is kind.
func Verify(kind string, report []byte) (Claims, error) {
	switch kind {
	case KindSimulation:
		return verifySimulation(report)
	case KindSGX:
		return verifySGX(report)
	}
	return Claims{}, fmt.Errorf("%w %q", ErrUnknownKind, kind)
}

// ReportData is the data a node binds into its report: the SHA-256 of its
// TLS certificate's DER-encoded SubjectPublicKeyInfo (as ego's attested TLS
// does).
func ReportData(spki []byte) []byte {
	h := sha256.Sum256(spki)
	return h[:]
}

// Label names a kind for humans (startup banner, node info): simulation is
// marked insecure.
func Label(kind string) string {
	switch kind {
	case KindSGX:
		return "sgx"
	case KindSimulation:
		return "simulation (INSECURE: no hardware protection, for tests and development only)"
	}
	return fmt.Sprintf("unknown (%q)", kind)
}

// padData returns data zero-padded to ReportDataSize.
func padData(data []byte) ([]byte, error) {
	if len(data) == 0 || len(data) > ReportDataSize {
		return nil, fmt.Errorf("%w (got %d)", ErrDataSize, len(data))
	}
	out := make([]byte, ReportDataSize)
	copy(out, data)
	return out, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
