package nodetls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/tee"
	"github.com/ethereum/go-ethereum/rlp"
)

// AttestationOID is the certificate extension holding the node's TEE
// report over the certificate's public key: RLP [kind, report], the
// report's data tee.ReportData(SubjectPublicKeyInfo).
var AttestationOID = asn1.ObjectIdentifier{2, 25, 1039812020, 2}

// Errors of attested admission.
var (
	ErrNoAttestation  = errors.New("certificate carries no TEE attestation")
	ErrBadAttestation = errors.New("TEE attestation does not verify")
	ErrTEENotAllowed  = errors.New("TEE kind not admitted")
	ErrCodeNotAllowed = errors.New("code identity not admitted")
	ErrDebugEnclave   = errors.New("debug enclave")
)

// Attestation is what the channel requires of a peer's TEE
// (cocobackend.Attestation).
type Attestation = cocobackend.Attestation

func equalAttestation(a, b Attestation) bool {
	if a.Required != b.Required || a.AnyCode != b.AnyCode || !slices.Equal(a.Kinds, b.Kinds) ||
		!slices.Equal(a.CodeIDs, b.CodeIDs) || len(a.Pinned) != len(b.Pinned) {
		return false
	}
	for id, c := range a.Pinned {
		if d, ok := b.Pinned[id]; !ok || d != c {
			return false
		}
	}
	return true
}

// admits checks proven claims (kind and code of node id) against a.
func admits(a Attestation, id, kind string, code [32]byte) error {
	if !a.Required {
		return nil
	}
	if !slices.Contains(a.Kinds, kind) {
		return fmt.Errorf("%w: %q (admitted: %q)", ErrTEENotAllowed, kind, a.Kinds)
	}
	if !a.AnyCode && !slices.Contains(a.CodeIDs, code) {
		return fmt.Errorf("%w: %x", ErrCodeNotAllowed, code)
	}
	if pin, ok := a.Pinned[id]; ok && pin != ([32]byte{}) && pin != code {
		return fmt.Errorf("%w: %x, node %q is pinned to %x", ErrCodeNotAllowed, code, id, pin)
	}
	return nil
}

type attestationExt struct {
	Kind   string
	Report []byte
}

// attestationExtension makes the extension value: t's report over spki.
func attestationExtension(t tee.TEE, spki []byte) ([]byte, error) {
	report, err := t.Report(tee.ReportData(spki))
	if err != nil {
		return nil, fmt.Errorf("TEE report: %w", err)
	}
	return rlp.EncodeToBytes(&attestationExt{Kind: t.Kind(), Report: report})
}

// attestedClaims verifies the report leaf carries and that it binds the
// leaf's key and is not a debug enclave.
func attestedClaims(leaf *x509.Certificate) (tee.Claims, error) {
	var raw []byte
	for _, e := range leaf.Extensions {
		if e.Id.Equal(AttestationOID) {
			raw = e.Value
		}
	}
	if raw == nil {
		return tee.Claims{}, ErrNoAttestation
	}
	var ext attestationExt
	if err := rlp.DecodeBytes(raw, &ext); err != nil {
		return tee.Claims{}, fmt.Errorf("%w: %v", ErrBadAttestation, err)
	}
	claims, err := tee.Verify(ext.Kind, ext.Report)
	if err != nil {
		return claims, fmt.Errorf("%w: %v", ErrBadAttestation, err)
	}
	want := make([]byte, tee.ReportDataSize)
	copy(want, tee.ReportData(leaf.RawSubjectPublicKeyInfo))
	if !bytes.Equal(claims.Data, want) {
		return claims, fmt.Errorf("%w: report bound to another key", ErrBadAttestation)
	}
	if claims.Debug {
		return claims, ErrDebugEnclave
	}
	return claims, nil
}

// verifyAttestation checks leaf's attestation for node p against policy
// and records the proven kind and code in p.
func verifyAttestation(leaf *x509.Certificate, p *cocobackend.AuthPeer, policy Attestation) error {
	if !policy.Required {
		return nil
	}
	claims, err := attestedClaims(leaf)
	if err != nil {
		return err
	}
	if err := admits(policy, p.ID, claims.Kind, claims.UniqueID); err != nil {
		return err
	}
	p.TEE, p.Code = claims.Kind, claims.UniqueID
	return nil
}

// AttestedCertificate makes a self-signed TLS certificate for a fresh
// ECDSA P-256 key, valid for lifetime, carrying t's report over the key
// (AttestationOID): the certificate a node serves to clients, which
// check the report instead of a CA (VerifyAttestedCertificate).
func AttestedCertificate(t tee.TEE, name string, now time.Time, lifetime time.Duration) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	ext, err := attestationExtension(t, spki)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{CommonName: name},
		NotBefore:       now.Add(-clockSkew),
		NotAfter:        now.Add(lifetime),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		ExtraExtensions: []pkix.Extension{{Id: AttestationOID, Value: ext}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// VerifyAttestedCertificate checks the TEE report a certificate carries:
// it verifies and binds the certificate's key. It returns the claims; the
// caller decides whether it admits their kind and code.
func VerifyAttestedCertificate(leaf *x509.Certificate) (tee.Claims, error) {
	return attestedClaims(leaf)
}
