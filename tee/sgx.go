//go:build cgo

package tee

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/edgelesssys/ego/attestation"
	"github.com/edgelesssys/ego/ecrypto"
	"github.com/edgelesssys/ego/enclave"
)

// Sealed blobs of the sgx kind: version || uint32 length of the key info
// || key info (the seal key request, not secret) || AES-GCM ciphertext
// (ecrypto.Encrypt: nonce || ciphertext || tag), a domain string as
// additional data. Sealing is done here rather than by ecrypto.Seal… so
// that the key is checked at the point of use: outside an enclave ego's
// seal-key calls return an all-zero key with a nil error.
const (
	sgxSealVersion = 1
	sgxSealInfo    = "cocogeth sgx seal v1"
	maxKeyInfo     = 4096
)

// sgxTEE is Intel SGX through ego.
type sgxTEE struct {
	// inEnclave is set only by newSGX once a self report proved it.
	inEnclave bool
	self      Claims
}

func newSGX(Config) (*sgxTEE, error) {
	r, err := enclave.GetSelfReport()
	if err != nil {
		return nil, fmt.Errorf("%w: self report: %v", ErrNotInEnclave, err)
	}
	self, err := claimsFromEgo(r)
	if err != nil {
		return nil, fmt.Errorf("%w: self report: %v", ErrNotInEnclave, err)
	}
	t := &sgxTEE{inEnclave: true, self: self}
	if _, _, err := t.sealKey(nil); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *sgxTEE) Kind() string { return KindSGX }

func (t *sgxTEE) Report(data []byte) ([]byte, error) {
	d, err := padData(data)
	if err != nil {
		return nil, err
	}
	if !t.inEnclave {
		return nil, ErrNotInEnclave
	}
	r, err := enclave.GetRemoteReport(d)
	if err != nil {
		return nil, fmt.Errorf("%w: remote report: %v", ErrNotInEnclave, err)
	}
	return r, nil
}

// Verify accepts SGX reports only.
func (t *sgxTEE) Verify(report []byte) (Claims, error) { return verifySGX(report) }

func verifySGX(report []byte) (Claims, error) {
	if len(report) == 0 {
		return Claims{}, fmt.Errorf("%w: empty sgx report", ErrMalformed)
	}
	r, err := enclave.VerifyRemoteReport(report)
	switch {
	case errors.Is(err, attestation.ErrTCBLevelInvalid):
		// The quote is genuine but the platform's TCB is out of date
		// (microcode, advisories): refused, fail closed.
		return Claims{}, fmt.Errorf("%w: TCB status %v, advisories %v", ErrNotAuthentic, r.TCBStatus, r.TCBAdvisories)
	case err != nil && err.Error() == "OE_UNSUPPORTED":
		return Claims{}, fmt.Errorf("%w: verifying an sgx report: %v", ErrNotInEnclave, err)
	case err != nil:
		return Claims{}, fmt.Errorf("%w: %v", ErrNotAuthentic, err)
	}
	return claimsFromEgo(r)
}

// claimsFromEgo maps a verified ego report to Claims.
func claimsFromEgo(r attestation.Report) (Claims, error) {
	if len(r.UniqueID) != 32 || len(r.SignerID) != 32 {
		return Claims{}, fmt.Errorf("%w: unique id of %d bytes, signer id of %d", ErrMalformed, len(r.UniqueID), len(r.SignerID))
	}
	// ISVPRODID is a 16-bit number, which OE hands out little-endian in a
	// 16-byte field.
	if len(r.ProductID) != 16 || !allZero(r.ProductID[2:]) {
		return Claims{}, fmt.Errorf("%w: product id %x", ErrMalformed, r.ProductID)
	}
	if len(r.Data) > ReportDataSize {
		return Claims{}, fmt.Errorf("%w: %d bytes of report data", ErrMalformed, len(r.Data))
	}
	c := Claims{
		Kind:            KindSGX,
		ProductID:       binary.LittleEndian.Uint16(r.ProductID),
		SecurityVersion: r.SecurityVersion,
		Debug:           r.Debug,
		Data:            make([]byte, ReportDataSize),
	}
	copy(c.UniqueID[:], r.UniqueID)
	copy(c.SignerID[:], r.SignerID)
	copy(c.Data, r.Data)
	return c, nil
}

// sealKey returns the seal key for keyInfo, or a fresh unique (MRENCLAVE)
// key and its info if keyInfo is nil. It refuses outside an enclave and
// refuses the all-zero key.
func (t *sgxTEE) sealKey(keyInfo []byte) (key, info []byte, err error) {
	if !t.inEnclave {
		return nil, nil, ErrNotInEnclave
	}
	if keyInfo == nil {
		key, info, err = enclave.GetRandomUniqueSealKey()
	} else {
		info = keyInfo
		key, err = enclave.GetSealKey(keyInfo)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: seal key: %v", ErrNotInEnclave, err)
	}
	if len(key) == 0 || allZero(key) {
		return nil, nil, fmt.Errorf("%w: the platform returned an all-zero seal key", ErrNotInEnclave)
	}
	return key, info, nil
}

func (t *sgxTEE) Seal(plaintext []byte) ([]byte, error) {
	key, info, err := t.sealKey(nil)
	if err != nil {
		return nil, err
	}
	ct, err := ecrypto.Encrypt(plaintext, key, []byte(sgxSealInfo))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 5+len(info)+len(ct))
	out = append(out, sgxSealVersion)
	out = binary.BigEndian.AppendUint32(out, uint32(len(info)))
	out = append(out, info...)
	return append(out, ct...), nil
}

func (t *sgxTEE) Unseal(sealed []byte) ([]byte, error) {
	if !t.inEnclave {
		return nil, ErrNotInEnclave
	}
	if len(sealed) < 5 || sealed[0] != sgxSealVersion {
		return nil, fmt.Errorf("%w: bad header", ErrUnseal)
	}
	n := binary.BigEndian.Uint32(sealed[1:5])
	if n == 0 || n > maxKeyInfo || int(n) >= len(sealed)-5 {
		return nil, fmt.Errorf("%w: key info of %d bytes", ErrUnseal, n)
	}
	info, ct := sealed[5:5+n], sealed[5+n:]
	key, _, err := t.sealKey(info)
	if err != nil {
		return nil, err
	}
	pt, err := ecrypto.Decrypt(ct, key, []byte(sgxSealInfo))
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}
