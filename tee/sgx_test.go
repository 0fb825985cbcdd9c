//go:build cgo

package tee

import (
	"bytes"
	"errors"
	"testing"

	"github.com/edgelesssys/ego/attestation"
	"github.com/edgelesssys/ego/enclave"
)

// No machine here has SGX: outside an enclave the sgx kind must refuse
// everything, loudly, and never seal under ego's all-zero key.
func TestSGXOutsideEnclaveRefuses(t *testing.T) {
	// The hazard this guards against: ego hands out a zero key, no error.
	if key, _, err := enclave.GetRandomUniqueSealKey(); err == nil && allZero(key) {
		t.Logf("ego outside an enclave: seal key %x, err %v", key, err)
	}

	s, err := New(KindSGX, DefaultConfig())
	if !errors.Is(err, ErrNotInEnclave) || s != nil {
		t.Fatalf("New(sgx) = %v, %v; want ErrNotInEnclave", s, err)
	}
	t.Logf("New(sgx): %v", err)

	// An instance that never proved it is in an enclave refuses all.
	unproven := &sgxTEE{}
	if _, err := unproven.Report(make([]byte, 32)); !errors.Is(err, ErrNotInEnclave) {
		t.Errorf("unproven report: %v", err)
	}
	if _, err := unproven.Seal([]byte("node key")); !errors.Is(err, ErrNotInEnclave) {
		t.Errorf("unproven seal: %v", err)
	}
	if _, err := unproven.Unseal(make([]byte, 64)); !errors.Is(err, ErrNotInEnclave) {
		t.Errorf("unproven unseal: %v", err)
	}

	// Even one that wrongly believes it is inside reaches ego, and still
	// refuses: no report (OE_UNSUPPORTED) and no zero key.
	liar := &sgxTEE{inEnclave: true}
	if r, err := liar.Report(make([]byte, 32)); !errors.Is(err, ErrNotInEnclave) || r != nil {
		t.Errorf("report: %x, %v", r, err)
	} else {
		t.Logf("report: %v", err)
	}
	if b, err := liar.Seal([]byte("node key")); !errors.Is(err, ErrNotInEnclave) || b != nil {
		t.Errorf("seal: %x, %v; want ErrNotInEnclave", b, err)
	} else {
		t.Logf("seal: %v", err)
	}
	// A blob an outsider sealed under the zero key in ego's format.
	forged := append([]byte{sgxSealVersion, 0, 0, 2, 0}, make([]byte, 512+40)...)
	if pt, err := liar.Unseal(forged); !errors.Is(err, ErrNotInEnclave) || pt != nil {
		t.Errorf("unseal: %x, %v; want ErrNotInEnclave", pt, err)
	}

	// Verifying a peer's report needs the enclave too.
	if _, err := Verify(KindSGX, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty report: %v", err)
	}
	if c, err := Verify(KindSGX, bytes.Repeat([]byte{1}, 100)); err == nil {
		t.Errorf("garbage verified: %v", c)
	} else {
		t.Logf("verify: %v", err)
	}
}

func TestClaimsFromEgo(t *testing.T) {
	id := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	product := func(p ...byte) []byte { return append(p, make([]byte, 16-len(p))...) }
	good := attestation.Report{Data: []byte{9, 9}, SecurityVersion: 5, Debug: true, UniqueID: id(1), SignerID: id(2), ProductID: product(0x02, 0x01)}
	c, err := claimsFromEgo(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != KindSGX || c.UniqueID != [32]byte(id(1)) || c.SignerID != [32]byte(id(2)) || c.ProductID != 0x0102 || c.SecurityVersion != 5 || !c.Debug ||
		len(c.Data) != ReportDataSize || !bytes.Equal(c.Data[:2], []byte{9, 9}) || !allZero(c.Data[2:]) {
		t.Fatalf("claims %v data %x", c, c.Data)
	}
	for name, change := range map[string]func(*attestation.Report){
		"short unique id":     func(r *attestation.Report) { r.UniqueID = r.UniqueID[:31] },
		"long signer id":      func(r *attestation.Report) { r.SignerID = append(r.SignerID, 0) },
		"short product id":    func(r *attestation.Report) { r.ProductID = r.ProductID[:2] },
		"product beyond 16 b": func(r *attestation.Report) { r.ProductID = product(1, 0, 1) },
		"data too long":       func(r *attestation.Report) { r.Data = make([]byte, ReportDataSize+1) },
	} {
		r := good
		change(&r)
		if _, err := claimsFromEgo(r); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}
