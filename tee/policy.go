package tee

import (
	"bytes"
	"fmt"
	"slices"
)

// Policy is what a verifier expects of a peer's claims. Kinds and CodeIDs
// come from the constitution (TEE manifest, code manifest, or the one
// CodeID a Node pins); Data from the peer's TLS key. Fields that are
// empty fail closed, except Signers and ProductIDs, which are not checked
// when empty: the code id already names the exact code (ego: "verify
// either the UniqueID or the tuple").
type Policy struct {
	// Data is the binding the report must carry, usually ReportData of the
	// peer certificate's public key (1..ReportDataSize bytes).
	Data []byte
	// Kinds is the TEE manifest: the kinds admitted.
	Kinds []string
	// CodeIDs is the code manifest: the UniqueIDs admitted.
	CodeIDs [][32]byte
	// Signers, if not empty, are the SignerIDs admitted.
	Signers [][32]byte
	// ProductIDs, if not empty, are the ProductIDs admitted.
	ProductIDs []uint16
	// MinSecurityVersion is the lowest SecurityVersion admitted.
	MinSecurityVersion uint
	// AllowDebug admits debug enclaves (never on a production network).
	AllowDebug bool
}

// Validate checks that the policy can admit anything at all.
func (p Policy) Validate() error {
	if len(p.Data) == 0 || len(p.Data) > ReportDataSize {
		return fmt.Errorf("%w: expected data must be 1..%d bytes (got %d)", ErrBadPolicy, ReportDataSize, len(p.Data))
	}
	if len(p.Kinds) == 0 {
		return fmt.Errorf("%w: empty TEE manifest", ErrBadPolicy)
	}
	for _, k := range p.Kinds {
		if !slices.Contains(Kinds, k) {
			return fmt.Errorf("%w: unknown TEE kind %q", ErrBadPolicy, k)
		}
	}
	if len(p.CodeIDs) == 0 {
		return fmt.Errorf("%w: empty code manifest", ErrBadPolicy)
	}
	return nil
}

// Check applies the policy's rules to verified claims, in the order kind,
// data, code, signer, product, security version, debug, and returns the
// sentinel error of the first rule broken (ErrBadPolicy if the policy
// itself is invalid, ErrMalformed if the claims are).
func Check(c Claims, p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if len(c.Data) != ReportDataSize {
		return fmt.Errorf("%w: claims carry %d bytes of data, want %d", ErrMalformed, len(c.Data), ReportDataSize)
	}
	if !slices.Contains(p.Kinds, c.Kind) {
		return fmt.Errorf("%w: %q not in %q", ErrWrongKind, c.Kind, p.Kinds)
	}
	want, _ := padData(p.Data) // length checked by Validate
	if !bytes.Equal(c.Data, want) {
		return fmt.Errorf("%w: report data %x, want %x", ErrDataMismatch, c.Data, want)
	}
	if !slices.Contains(p.CodeIDs, c.UniqueID) {
		return fmt.Errorf("%w: %x", ErrCodeNotAllowed, c.UniqueID)
	}
	if len(p.Signers) > 0 && !slices.Contains(p.Signers, c.SignerID) {
		return fmt.Errorf("%w: %x", ErrWrongSigner, c.SignerID)
	}
	if len(p.ProductIDs) > 0 && !slices.Contains(p.ProductIDs, c.ProductID) {
		return fmt.Errorf("%w: %d not in %v", ErrWrongProduct, c.ProductID, p.ProductIDs)
	}
	if c.SecurityVersion < p.MinSecurityVersion {
		return fmt.Errorf("%w: %d < %d", ErrStaleSVN, c.SecurityVersion, p.MinSecurityVersion)
	}
	if c.Debug && !p.AllowDebug {
		return ErrDebug
	}
	return nil
}
