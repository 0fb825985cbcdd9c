package recovery

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	crand "crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/group/edwards25519"
	"go.dedis.ch/kyber/v3/proof/dleq"
	"go.dedis.ch/kyber/v3/share"
	"go.dedis.ch/kyber/v3/share/pvss"
)

// MaxMembers is the largest number of members a Record may have.
const MaxMembers = 256

const (
	nonceSize = 12
	tagSize   = 16
	// WrappedSize is the length of Record.Wrapped: nonce || ciphertext || tag.
	WrappedSize = nonceSize + SecretSize + tagSize
)

// Errors. Functions wrap them with details; test with errors.Is.
var (
	// ErrNotAMember: the key is not one of the record's member keys.
	ErrNotAMember = errors.New("recovery: key is not a member of this record")
	// ErrThreshold: the threshold is not in 1..number of members.
	ErrThreshold = errors.New("recovery: threshold out of range")
	// ErrDuplicateKey: the same member key is listed twice.
	ErrDuplicateKey = errors.New("recovery: duplicate member key")
	// ErrInvalidRecord: a Record is malformed or its proofs do not verify.
	ErrInvalidRecord = errors.New("recovery: invalid record")
	// ErrInvalidShare: a DecryptedShare is malformed or its proof does not verify.
	ErrInvalidShare = errors.New("recovery: invalid decrypted share")
	// ErrWrongEpoch: a DecryptedShare was made for another epoch.
	ErrWrongEpoch = errors.New("recovery: decrypted share is for a different epoch")
	// ErrWrongRecord: a DecryptedShare was made for another Record.
	ErrWrongRecord = errors.New("recovery: decrypted share is for a different record")
	// ErrUnwrap: the recovered key does not open Record.Wrapped.
	ErrUnwrap = errors.New("recovery: unwrapping the ledger secret failed")
)

// NotEnoughError is returned by Recover when fewer than Threshold distinct
// valid decrypted shares were supplied.
type NotEnoughError struct {
	Have int // distinct valid shares supplied
	Need int // the record's threshold
}

func (e *NotEnoughError) Error() string {
	missing := e.Need - e.Have
	return fmt.Sprintf("recovery: %d valid %s of %d needed: %d more %s must submit a share",
		e.Have, plural(e.Have, "share", "shares"), e.Need,
		missing, plural(missing, "member", "members"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// DefaultThreshold returns the majority threshold n/2+1 for n members, or 0
// (which Protect rejects) if n < 1.
func DefaultThreshold(n int) int {
	if n < 1 {
		return 0
	}
	return n/2 + 1
}

// Record protects one epoch's ledger secret. Every field is public; see the
// package documentation for what it reveals.
type Record struct {
	// Epoch is the ledger-secret epoch this record protects.
	Epoch uint64
	// Threshold is the number M of members needed to recover.
	Threshold int
	// Keys are the members' public keys; Keys[i] owns Shares[i].
	Keys []PublicKey
	// Commits are the Threshold commitments a_j·H to the coefficients of the
	// sharing polynomial f (32 bytes each).
	Commits [][]byte
	// Shares are the encrypted shares f(i+1)·Keys[i], each followed by the
	// DLEQ proof C || R || VG || VH of its consistency with Commits
	// (160 bytes each).
	Shares [][]byte
	// Wrapped is nonce || AES-256-GCM(secret), keyed by HKDF-SHA256 of the
	// marshalled group element s·G, with the record ID (which covers all the
	// other fields) as salt and as additional data.
	Wrapped []byte
}

// parsedRecord holds the decoded, verified group elements of a Record.
type parsedRecord struct {
	id   [32]byte
	keys []kyber.Point
	enc  []*pvss.PubVerShare
	sH   []kyber.Point // f(i+1)·H, evaluated from the commitments
}

// Protect splits a fresh random scalar s into encrypted shares for keys with
// threshold m, and wraps secret under a key derived from s·G. rand should be
// cryptographically secure; nil means crypto/rand.Reader.
func Protect(secret []byte, epoch uint64, keys []PublicKey, m int, rand io.Reader) (*Record, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("recovery: secret has %d bytes, want %d", len(secret), SecretSize)
	}
	n := len(keys)
	if n < 1 || n > MaxMembers {
		return nil, fmt.Errorf("recovery: %d member keys, want 1..%d", n, MaxMembers)
	}
	if m < 1 || m > n {
		return nil, fmt.Errorf("%w: threshold %d with %d members (want 1..%d)", ErrThreshold, m, n, n)
	}
	points := make([]kyber.Point, n)
	for i, k := range keys {
		p, err := decodePublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("recovery: member key %d: %w", i, err)
		}
		for j := 0; j < i; j++ {
			if bytes.Equal(keys[j], k) {
				return nil, fmt.Errorf("%w: members %d and %d", ErrDuplicateKey, j, i)
			}
		}
		points[i] = p
	}

	// All randomness (s, the polynomial, proof nonces, GCM nonce) comes from
	// an XOF seeded with 64 bytes of rand, so that rand's errors are handled
	// here rather than as panics inside kyber.
	if rand == nil {
		rand = crand.Reader
	}
	seed := make([]byte, 64, 64+len(domainRNG))
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, fmt.Errorf("recovery: reading randomness: %w", err)
	}
	stream := suite.XOF(append(seed, domainRNG...))
	clear(seed)
	rs := edwards25519.NewBlakeSHA256Ed25519WithRand(stream)

	s := rs.Scalar().Pick(stream) // non-zero: kyber picks from [1, L)
	defer s.Zero()
	encShares, poly, err := pvss.EncShares(rs, baseH(), points, s, m)
	if err != nil {
		return nil, fmt.Errorf("recovery: sharing: %w", err)
	}
	_, commits := poly.Info()

	r := &Record{
		Epoch:     epoch,
		Threshold: m,
		Keys:      make([]PublicKey, n),
		Commits:   make([][]byte, m),
		Shares:    make([][]byte, n),
	}
	for i, k := range keys {
		r.Keys[i] = bytes.Clone(k)
	}
	for j, c := range commits {
		r.Commits[j] = mustMarshal(c)
	}
	for i, es := range encShares {
		if es.S.I != i {
			return nil, fmt.Errorf("recovery: internal error: share %d has index %d", i, es.S.I)
		}
		r.Shares[i] = append(mustMarshal(es.S.V), encodeProof(&es.P)...)
	}
	id, err := r.ID()
	if err != nil {
		return nil, err
	}

	nonce := make([]byte, nonceSize)
	stream.XORKeyStream(nonce, nonce)
	aead, err := newAEAD(suite.Point().Mul(s, nil), id)
	if err != nil {
		return nil, err
	}
	r.Wrapped = aead.Seal(nonce, nonce, secret, id[:])

	// Self-check: never hand out a record that members would reject.
	if _, err := r.verify(); err != nil {
		return nil, fmt.Errorf("recovery: internal error: new record does not verify: %w", err)
	}
	return r, nil
}

// newAEAD returns AES-256-GCM keyed by HKDF-SHA256(S, salt=id, info).
func newAEAD(S kyber.Point, id [32]byte) (cipher.AEAD, error) {
	ikm := mustMarshal(S)
	defer clear(ikm)
	key, err := hkdf.Key(sha256.New, ikm, id[:], hkdfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("recovery: deriving wrapping key: %w", err)
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	return cipher.NewGCM(block)
}

func invalidRecord(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRecord}, args...)...)
}

// checkShape checks counts and lengths, not cryptographic validity.
func (r *Record) checkShape(withWrapped bool) error {
	n := len(r.Keys)
	if n < 1 || n > MaxMembers {
		return invalidRecord("%d members, want 1..%d", n, MaxMembers)
	}
	if r.Threshold < 1 || r.Threshold > n {
		return invalidRecord("threshold %d out of range 1..%d", r.Threshold, n)
	}
	for i, k := range r.Keys {
		if len(k) != PublicKeySize {
			return invalidRecord("key %d has %d bytes, want %d", i, len(k), PublicKeySize)
		}
	}
	if len(r.Commits) != r.Threshold {
		return invalidRecord("%d commitments for threshold %d", len(r.Commits), r.Threshold)
	}
	for j, c := range r.Commits {
		if len(c) != commitSize {
			return invalidRecord("commitment %d has %d bytes, want %d", j, len(c), commitSize)
		}
	}
	if len(r.Shares) != n {
		return invalidRecord("%d encrypted shares for %d members", len(r.Shares), n)
	}
	for i, s := range r.Shares {
		if len(s) != encShareSize {
			return invalidRecord("encrypted share %d has %d bytes, want %d", i, len(s), encShareSize)
		}
	}
	if withWrapped && len(r.Wrapped) != WrappedSize {
		return invalidRecord("wrapped secret has %d bytes, want %d", len(r.Wrapped), WrappedSize)
	}
	return nil
}

// ID returns the record's identifier: SHA-256 over a domain tag and the
// binary encoding of every field except Wrapped. It is the AEAD's additional
// data and salt, and every DecryptedShare names it.
func (r *Record) ID() ([32]byte, error) {
	body, err := r.encodeBody()
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte(domainRecordID))
	h.Write(body)
	var id [32]byte
	h.Sum(id[:0])
	return id, nil
}

// IndexOf returns the index of pub in r.Keys, or -1.
func (r *Record) IndexOf(pub PublicKey) int {
	for i, k := range r.Keys {
		if bytes.Equal(k, pub) {
			return i
		}
	}
	return -1
}

// Verify checks that the record is well formed, 1 <= Threshold <= len(Keys),
// the keys are valid and distinct, and every encrypted share is proven
// consistent with its member key and the commitments (including the
// Fiat-Shamir challenge). It does not (and cannot) check Wrapped, nor that
// Keys are the members the caller expects: compare Keys and Threshold with the
// approved member set separately.
func (r *Record) Verify() error {
	_, err := r.verify()
	return err
}

func (r *Record) verify() (*parsedRecord, error) {
	if r == nil {
		return nil, invalidRecord("nil record")
	}
	if err := r.checkShape(true); err != nil {
		return nil, err
	}
	id, err := r.ID()
	if err != nil {
		return nil, err
	}
	n, t := len(r.Keys), r.Threshold
	p := &parsedRecord{
		id:   id,
		keys: make([]kyber.Point, n),
		enc:  make([]*pvss.PubVerShare, n),
		sH:   make([]kyber.Point, n),
	}
	for i, k := range r.Keys {
		pt, err := decodePublicKey(k)
		if err != nil {
			return nil, invalidRecord("key %d: %v", i, err)
		}
		for j := 0; j < i; j++ {
			if bytes.Equal(r.Keys[j], k) {
				return nil, invalidRecord("keys %d and %d are the same", j, i)
			}
		}
		p.keys[i] = pt
	}
	commits := make([]kyber.Point, t)
	for j, c := range r.Commits {
		pt, err := decodePoint(c)
		if err != nil {
			return nil, invalidRecord("commitment %d: %v", j, err)
		}
		commits[j] = pt
	}
	if commits[0].Equal(suite.Point().Null()) {
		return nil, invalidRecord("commitment to the secret is the identity")
	}
	poly := share.NewPubPoly(suite, baseH(), commits)
	H := baseH()
	sX := make([]kyber.Point, n)
	vG := make([]kyber.Point, n)
	vH := make([]kyber.Point, n)
	for i, b := range r.Shares {
		y, err := decodePoint(b[:pointSize])
		if err != nil {
			return nil, invalidRecord("encrypted share %d: %v", i, err)
		}
		proof, err := decodeProof(b[pointSize:])
		if err != nil {
			return nil, invalidRecord("encrypted share %d: %v", i, err)
		}
		es := &pvss.PubVerShare{S: share.PubShare{I: i, V: y}, P: *proof}
		p.sH[i] = poly.Eval(i).V
		if err := pvss.VerifyEncShare(suite, H, p.keys[i], p.sH[i], es); err != nil {
			return nil, invalidRecord("encrypted share %d is not consistent with key %d and the commitments", i, i)
		}
		p.enc[i] = es
		sX[i], vG[i], vH[i] = y, proof.VG, proof.VH
	}
	c := encChallenge(p.sH, sX, vG, vH)
	for i, es := range p.enc {
		if !es.P.C.Equal(c) {
			return nil, invalidRecord("encrypted share %d: proof challenge does not match the shares", i)
		}
	}
	return p, nil
}

// DecryptedShare is one member's contribution to a recovery: its share
// f(Index+1)·G, decrypted with its private key, and a DLEQ proof that the
// decryption is correct. It carries no secret of the member, but any
// Threshold shares of the same record recover the ledger secret: send it only
// to the enclave.
type DecryptedShare struct {
	Epoch    uint64   // the record's epoch
	Index    int      // the member's index in Record.Keys
	RecordID [32]byte // Record.ID() of the record it was made for
	Value    []byte   // the decrypted share, a marshalled point (32 bytes)
	Proof    []byte   // DLEQ proof C || R || VG || VH (128 bytes)
}

// DecryptShare verifies the record, finds k's index by its public key,
// decrypts its share and proves the decryption. It returns ErrNotAMember if
// k's public key is not in r.Keys.
func (r *Record) DecryptShare(k *PrivateKey) (*DecryptedShare, error) {
	if k == nil || k.x == nil {
		return nil, fmt.Errorf("%w: empty private key", ErrInvalidKey)
	}
	p, err := r.verify()
	if err != nil {
		return nil, err
	}
	idx := r.IndexOf(k.pub)
	if idx < 0 {
		return nil, ErrNotAMember
	}
	X := p.keys[idx]
	Y := p.enc[idx].S.V
	ds, err := pvss.DecShare(suite, baseH(), X, p.sH[idx], k.x, p.enc[idx])
	if err != nil {
		return nil, fmt.Errorf("recovery: decrypting share %d: %w", idx, err)
	}
	V := ds.S.V

	// Chaum-Pedersen proof that log_G(X) == log_V(Y), with a challenge bound
	// to V and to the record (see decChallenge); it replaces ds.P.
	v := suite.Scalar().Pick(suite.RandomStream())
	defer v.Zero()
	vG := suite.Point().Mul(v, nil)
	vH := suite.Point().Mul(v, V)
	c := decChallenge(p.id, r.Epoch, idx, X, V, Y, vG, vH)
	resp := suite.Scalar().Sub(v, suite.Scalar().Mul(k.x, c))
	s := &DecryptedShare{
		Epoch:    r.Epoch,
		Index:    idx,
		RecordID: p.id,
		Value:    mustMarshal(V),
		Proof:    encodeProof(&dleq.Proof{C: c, R: resp, VG: vG, VH: vH}),
	}
	if _, err := r.verifyShare(p, s); err != nil {
		return nil, fmt.Errorf("recovery: internal error: own share does not verify: %w", err)
	}
	return s, nil
}

// VerifyShare verifies the record and checks that s was made for it (epoch,
// record ID, index in range) and that its decryption proof is valid for the
// member key and encrypted share at s.Index.
func (r *Record) VerifyShare(s *DecryptedShare) error {
	p, err := r.verify()
	if err != nil {
		return err
	}
	_, err = r.verifyShare(p, s)
	return err
}

func (r *Record) verifyShare(p *parsedRecord, s *DecryptedShare) (*pvss.PubVerShare, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil share", ErrInvalidShare)
	}
	if s.Epoch != r.Epoch {
		return nil, fmt.Errorf("%w: share is for epoch %d, record for epoch %d", ErrWrongEpoch, s.Epoch, r.Epoch)
	}
	if s.RecordID != p.id {
		return nil, ErrWrongRecord
	}
	if s.Index < 0 || s.Index >= len(p.keys) {
		return nil, fmt.Errorf("%w: index %d out of range 0..%d", ErrInvalidShare, s.Index, len(p.keys)-1)
	}
	V, err := decodePoint(s.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: share %d value: %v", ErrInvalidShare, s.Index, err)
	}
	proof, err := decodeProof(s.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: share %d: %v", ErrInvalidShare, s.Index, err)
	}
	X, enc := p.keys[s.Index], p.enc[s.Index]
	if !proof.C.Equal(decChallenge(p.id, r.Epoch, s.Index, X, V, enc.S.V, proof.VG, proof.VH)) {
		return nil, fmt.Errorf("%w: share %d: proof challenge does not match", ErrInvalidShare, s.Index)
	}
	ds := &pvss.PubVerShare{S: share.PubShare{I: s.Index, V: V}, P: *proof}
	if err := pvss.VerifyDecShare(suite, baseG(), X, enc, ds); err != nil {
		return nil, fmt.Errorf("%w: share %d: decryption proof does not verify", ErrInvalidShare, s.Index)
	}
	return ds, nil
}

// Recover verifies the record, keeps the valid shares (invalid, foreign and
// duplicate shares are ignored and not counted), and, given at least
// Threshold of them, interpolates s·G, derives the wrapping key and returns
// the ledger secret, checking the GCM tag. With too few valid shares it
// returns a *NotEnoughError.
func (r *Record) Recover(shares []*DecryptedShare) ([]byte, error) {
	p, err := r.verify()
	if err != nil {
		return nil, err
	}
	n, t := len(r.Keys), r.Threshold
	seen := make([]bool, n)
	var X []kyber.Point
	var enc, dec []*pvss.PubVerShare
	for _, s := range shares {
		ds, err := r.verifyShare(p, s)
		if err != nil || seen[ds.S.I] {
			continue
		}
		seen[ds.S.I] = true
		X = append(X, p.keys[ds.S.I])
		enc = append(enc, p.enc[ds.S.I])
		dec = append(dec, ds)
	}
	if len(dec) < t {
		return nil, &NotEnoughError{Have: len(dec), Need: t}
	}
	S, err := pvss.RecoverSecret(suite, baseG(), X, enc, dec, t, n)
	if err != nil {
		return nil, fmt.Errorf("recovery: interpolating: %w", err)
	}
	aead, err := newAEAD(S, p.id)
	if err != nil {
		return nil, err
	}
	secret, err := aead.Open(nil, r.Wrapped[:nonceSize], r.Wrapped[nonceSize:], p.id[:])
	if err != nil {
		return nil, ErrUnwrap
	}
	return secret, nil
}
