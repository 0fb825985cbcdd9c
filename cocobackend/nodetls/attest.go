package nodetls

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"

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

// verifyAttestation checks leaf's attestation for node p against policy
// and records the proven kind and code in p.
func verifyAttestation(leaf *x509.Certificate, p *cocobackend.AuthPeer, policy Attestation) error {
	if !policy.Required {
		return nil
	}
	var raw []byte
	for _, e := range leaf.Extensions {
		if e.Id.Equal(AttestationOID) {
			raw = e.Value
		}
	}
	if raw == nil {
		return ErrNoAttestation
	}
	var ext attestationExt
	if err := rlp.DecodeBytes(raw, &ext); err != nil {
		return fmt.Errorf("%w: %v", ErrBadAttestation, err)
	}
	claims, err := tee.Verify(ext.Kind, ext.Report)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadAttestation, err)
	}
	want := make([]byte, tee.ReportDataSize)
	copy(want, tee.ReportData(leaf.RawSubjectPublicKeyInfo))
	if !bytes.Equal(claims.Data, want) {
		return fmt.Errorf("%w: report bound to another key", ErrBadAttestation)
	}
	if claims.Debug {
		return ErrDebugEnclave
	}
	if err := admits(policy, p.ID, claims.Kind, claims.UniqueID); err != nil {
		return err
	}
	p.TEE, p.Code = claims.Kind, claims.UniqueID
	return nil
}
