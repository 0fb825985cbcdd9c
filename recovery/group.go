package recovery

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/group/edwards25519"
	"go.dedis.ch/kyber/v3/proof/dleq"
)

// Sizes of the fixed-length encodings used by this package.
const (
	// PublicKeySize is the length of a marshalled PublicKey.
	PublicKeySize = 32
	// SecretSize is the length of the ledger secret protected by a Record.
	SecretSize = 32

	pointSize  = 32
	scalarSize = 32

	// proofSize is a marshalled DLEQ proof: C || R || VG || VH.
	proofSize = 2*scalarSize + 2*pointSize
	// encShareSize is a marshalled encrypted share: Y || proof.
	encShareSize = pointSize + proofSize
	// commitSize is a marshalled polynomial commitment.
	commitSize = pointSize
)

// Domain-separation strings. Changing any of them changes the format, so they
// are versioned together with the binary encodings.
const (
	domainH        = "cocogeth/recovery/v1/pvss-base-H"
	domainRNG      = "cocogeth/recovery/v1/protect-rng"
	domainRecordID = "cocogeth/recovery/v1/record-id"
	domainDecProof = "cocogeth/recovery/v1/decryption-proof"
	hkdfInfo       = "cocogeth/recovery/v1/ledger-secret-wrap"
)

// suite is the kyber suite used for everything in this package. It holds no
// state (its random stream is crypto/rand), so it is safe for concurrent use.
var suite = edwards25519.NewBlakeSHA256Ed25519()

// baseH returns the second generator H of Schoenmakers' scheme. Commitments
// are made with respect to H and decrypted shares with respect to the standard
// base point G, so nobody may know log_G(H): H is derived by hashing a fixed
// string onto the curve (kyber's Pick multiplies by the cofactor, so H lies in
// the prime-order subgroup).
var baseH = sync.OnceValue(func() kyber.Point {
	return suite.Point().Pick(suite.XOF([]byte(domainH)))
})

// baseG returns the standard Ed25519 base point.
func baseG() kyber.Point { return suite.Point().Base() }

// minusOne is L-1, where L is the order of the prime-order subgroup.
var minusOne = sync.OnceValue(func() kyber.Scalar { return suite.Scalar().SetInt64(-1) })

// inPrimeOrderSubgroup reports whether L·P is the identity, computed as
// (L-1)·P == -P. Points with a small-order component fail this check.
func inPrimeOrderSubgroup(p kyber.Point) bool {
	q := suite.Point().Mul(minusOne(), p)
	return q.Equal(suite.Point().Neg(p))
}

// decodePoint decodes a canonical encoding of a point of the prime-order
// subgroup. It never panics on malformed input.
func decodePoint(b []byte) (kyber.Point, error) {
	if len(b) != pointSize {
		return nil, fmt.Errorf("point has %d bytes, want %d", len(b), pointSize)
	}
	p := suite.Point()
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, errors.New("not a curve point")
	}
	enc, err := p.MarshalBinary()
	if err != nil || !bytes.Equal(enc, b) {
		return nil, errors.New("non-canonical point encoding")
	}
	if !inPrimeOrderSubgroup(p) {
		return nil, errors.New("point is not in the prime-order subgroup")
	}
	return p, nil
}

// decodeScalar decodes a canonical (reduced) little-endian scalar.
func decodeScalar(b []byte) (kyber.Scalar, error) {
	if len(b) != scalarSize {
		return nil, fmt.Errorf("scalar has %d bytes, want %d", len(b), scalarSize)
	}
	s := suite.Scalar()
	if err := s.UnmarshalBinary(b); err != nil {
		return nil, errors.New("invalid scalar")
	}
	enc, err := s.MarshalBinary()
	if err != nil || !bytes.Equal(enc, b) {
		return nil, errors.New("non-canonical scalar encoding")
	}
	return s, nil
}

func mustMarshal(m interface{ MarshalBinary() ([]byte, error) }) []byte {
	b, err := m.MarshalBinary()
	if err != nil {
		// Points and scalars of this suite cannot fail to marshal.
		panic("recovery: marshalling a group element failed: " + err.Error())
	}
	return b
}

// encodeProof marshals a DLEQ proof as C || R || VG || VH.
func encodeProof(p *dleq.Proof) []byte {
	out := make([]byte, 0, proofSize)
	out = append(out, mustMarshal(p.C)...)
	out = append(out, mustMarshal(p.R)...)
	out = append(out, mustMarshal(p.VG)...)
	out = append(out, mustMarshal(p.VH)...)
	return out
}

// decodeProof is the inverse of encodeProof.
func decodeProof(b []byte) (*dleq.Proof, error) {
	if len(b) != proofSize {
		return nil, fmt.Errorf("proof has %d bytes, want %d", len(b), proofSize)
	}
	c, err := decodeScalar(b[0:32])
	if err != nil {
		return nil, fmt.Errorf("proof challenge: %v", err)
	}
	r, err := decodeScalar(b[32:64])
	if err != nil {
		return nil, fmt.Errorf("proof response: %v", err)
	}
	vg, err := decodePoint(b[64:96])
	if err != nil {
		return nil, fmt.Errorf("proof commitment VG: %v", err)
	}
	vh, err := decodePoint(b[96:128])
	if err != nil {
		return nil, fmt.Errorf("proof commitment VH: %v", err)
	}
	return &dleq.Proof{C: c, R: r, VG: vg, VH: vh}, nil
}

// encChallenge recomputes the Fiat-Shamir challenge of the batch of
// encryption-consistency proofs produced by pvss.EncShares (which calls
// dleq.NewDLEQProofBatch with xG = f(i)·H and xH = f(i)·X_i). dleq.Proof.Verify
// only checks the two verification equations and trusts the challenge stored
// in the proof, which on its own lets anyone forge a proof for any statement;
// recomputing the challenge restores soundness.
func encChallenge(sH, sX, vG, vH []kyber.Point) kyber.Scalar {
	h := suite.Hash()
	for _, list := range [][]kyber.Point{sH, sX, vG, vH} {
		for _, p := range list {
			h.Write(mustMarshal(p))
		}
	}
	return suite.Scalar().Pick(suite.XOF(h.Sum(nil)))
}

// decChallenge is the Fiat-Shamir challenge of a decryption proof, showing
// log_G(X) == log_V(Y) for public key X, decrypted share V and encrypted share
// Y. Unlike the challenge of dleq.NewDLEQProof (used by pvss.DecShare), it
// hashes both bases G and V as well as the context (record, epoch, index):
// without V in the hash, the holder of x can solve for a V' of its choosing
// after fixing the challenge and so "prove" a wrong decryption.
func decChallenge(id [32]byte, epoch uint64, index int, X, V, Y, vG, vH kyber.Point) kyber.Scalar {
	h := sha256.New()
	h.Write([]byte(domainDecProof))
	h.Write(id[:])
	var ctx [10]byte
	binary.BigEndian.PutUint64(ctx[0:8], epoch)
	binary.BigEndian.PutUint16(ctx[8:10], uint16(index))
	h.Write(ctx[:])
	for _, p := range []kyber.Point{baseG(), X, V, Y, vG, vH} {
		h.Write(mustMarshal(p))
	}
	return suite.Scalar().Pick(suite.XOF(h.Sum(nil)))
}
