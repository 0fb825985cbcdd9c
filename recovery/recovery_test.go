package recovery

import (
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/proof/dleq"
	"go.dedis.ch/kyber/v3/share"
	"go.dedis.ch/kyber/v3/share/pvss"
)

// ---------------------------------------------------------------- helpers

func seeded(seed uint64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return mrand.NewChaCha8(s)
}

func newSecret(t *testing.T) []byte {
	t.Helper()
	s := make([]byte, SecretSize)
	if _, err := crand.Read(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func newMembers(t *testing.T, n int) ([]*PrivateKey, []PublicKey) {
	t.Helper()
	privs := make([]*PrivateKey, n)
	pubs := make([]PublicKey, n)
	for i := range privs {
		k, err := GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		privs[i], pubs[i] = k, k.Public()
	}
	return privs, pubs
}

type fixture struct {
	secret []byte
	privs  []*PrivateKey
	pubs   []PublicKey
	rec    *Record
	shares []*DecryptedShare
}

func newFixture(t *testing.T, n, m int, epoch uint64) *fixture {
	t.Helper()
	f := &fixture{secret: newSecret(t)}
	f.privs, f.pubs = newMembers(t, n)
	rec, err := Protect(f.secret, epoch, f.pubs, m, nil)
	if err != nil {
		t.Fatalf("Protect: %v", err)
	}
	if err := rec.Verify(); err != nil {
		t.Fatalf("Verify of a fresh record: %v", err)
	}
	f.rec = rec
	for i, k := range f.privs {
		s, err := rec.DecryptShare(k)
		if err != nil {
			t.Fatalf("DecryptShare(member %d): %v", i, err)
		}
		if s.Index != i || s.Epoch != epoch {
			t.Fatalf("member %d got share index %d epoch %d", i, s.Index, s.Epoch)
		}
		if err := rec.VerifyShare(s); err != nil {
			t.Fatalf("VerifyShare(member %d): %v", i, err)
		}
		f.shares = append(f.shares, s)
	}
	return f
}

func (f *fixture) pick(idx ...int) []*DecryptedShare {
	out := make([]*DecryptedShare, len(idx))
	for i, j := range idx {
		out[i] = f.shares[j]
	}
	return out
}

func mustRecover(t *testing.T, r *Record, shares []*DecryptedShare, want []byte) {
	t.Helper()
	got, err := r.Recover(shares)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Recover returned %x, want %x", got, want)
	}
}

func wantNotEnough(t *testing.T, r *Record, shares []*DecryptedShare, have, need int) {
	t.Helper()
	got, err := r.Recover(shares)
	if got != nil {
		t.Fatalf("Recover returned a secret with too few valid shares")
	}
	var ne *NotEnoughError
	if !errors.As(err, &ne) {
		t.Fatalf("Recover error = %v, want *NotEnoughError", err)
	}
	if ne.Have != have || ne.Need != need {
		t.Fatalf("NotEnoughError{Have: %d, Need: %d}, want {%d, %d}", ne.Have, ne.Need, have, need)
	}
}

func cloneShare(s *DecryptedShare) *DecryptedShare {
	c := *s
	c.Value = bytes.Clone(s.Value)
	c.Proof = bytes.Clone(s.Proof)
	return &c
}

func cloneRecord(t *testing.T, r *Record) *Record {
	t.Helper()
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var c Record
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return &c
}

func subsets(n, k int) [][]int {
	var out [][]int
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == k {
			out = append(out, append([]int(nil), cur...))
			return
		}
		for i := start; i < n; i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(0, nil)
	return out
}

// ---------------------------------------------------------------- recovery

func TestRecoverTwoOfThree(t *testing.T) {
	f := newFixture(t, 3, 2, 7)
	for _, pair := range subsets(3, 2) {
		mustRecover(t, f.rec, f.pick(pair...), f.secret)
		mustRecover(t, f.rec, f.pick(pair[1], pair[0]), f.secret) // order does not matter
	}
	mustRecover(t, f.rec, f.shares, f.secret)

	for i := range f.shares {
		wantNotEnough(t, f.rec, f.pick(i), 1, 2)
	}
	// Duplicates are not counted twice.
	wantNotEnough(t, f.rec, f.pick(1, 1, 1), 1, 2)
	wantNotEnough(t, f.rec, nil, 0, 2)
	wantNotEnough(t, f.rec, []*DecryptedShare{nil, f.shares[0], nil}, 1, 2)

	_, err := f.rec.Recover(f.pick(0))
	if got, want := err.Error(), "recovery: 1 valid share of 2 needed: 1 more member must submit a share"; got != want {
		t.Fatalf("error text %q, want %q", got, want)
	}
	_, err = f.rec.Recover(nil)
	if got, want := err.Error(), "recovery: 0 valid shares of 2 needed: 2 more members must submit a share"; got != want {
		t.Fatalf("error text %q, want %q", got, want)
	}
}

func TestRecoverThreeOfFive(t *testing.T) {
	f := newFixture(t, 5, 3, 1)
	for _, set := range subsets(5, 3) {
		mustRecover(t, f.rec, f.pick(set...), f.secret)
	}
	mustRecover(t, f.rec, f.pick(4, 0, 2, 3), f.secret)
	mustRecover(t, f.rec, f.shares, f.secret)
	for _, set := range subsets(5, 2) {
		wantNotEnough(t, f.rec, f.pick(set...), 2, 3)
	}
}

func TestThresholdExtremes(t *testing.T) {
	one := newFixture(t, 3, 1, 1)
	for i := range one.shares {
		mustRecover(t, one.rec, one.pick(i), one.secret)
	}
	all := newFixture(t, 3, 3, 1)
	mustRecover(t, all.rec, all.shares, all.secret)
	wantNotEnough(t, all.rec, all.pick(0, 2), 2, 3)
	single := newFixture(t, 1, 1, 1)
	mustRecover(t, single.rec, single.shares, single.secret)
}

func TestDefaultThreshold(t *testing.T) {
	for n, want := range map[int]int{-1: 0, 0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4, 7: 4} {
		if got := DefaultThreshold(n); got != want {
			t.Errorf("DefaultThreshold(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestProtectDeterministicGivenRand(t *testing.T) {
	secret := newSecret(t)
	_, pubs := newMembers(t, 3)
	a, err := Protect(secret, 3, pubs, 2, seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Protect(secret, 3, pubs, 2, seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Protect(secret, 3, pubs, 2, seeded(2))
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := a.MarshalBinary()
	bb, _ := b.MarshalBinary()
	cb, _ := c.MarshalBinary()
	if !bytes.Equal(ab, bb) {
		t.Fatal("same randomness gave different records")
	}
	if bytes.Equal(ab, cb) || bytes.Equal(a.Commits[0], c.Commits[0]) {
		t.Fatal("different randomness gave the same record")
	}
	if _, err := Protect(secret, 3, pubs, 2, bytes.NewReader(make([]byte, 10))); err == nil {
		t.Fatal("Protect with a failing random source succeeded")
	}
}

func TestBaseH(t *testing.T) {
	H := baseH()
	// Pinned: H is part of the v1 format.
	if got, want := H.String(), "852b1015cf94902594407c47e7ba021462f92ee77fc231da1ac704bd730c83c6"; got != want {
		t.Fatalf("H = %s, want %s", got, want)
	}
	if H.Equal(baseG()) || H.Equal(suite.Point().Null()) || !inPrimeOrderSubgroup(H) {
		t.Fatal("H is not a prime-order generator distinct from G")
	}
}

// ---------------------------------------------------------------- bad shares

func TestTamperedShareRejected(t *testing.T) {
	f := newFixture(t, 3, 2, 5)
	good := f.shares[0]
	type tamper struct {
		name string
		fn   func(s *DecryptedShare)
	}
	tampers := []tamper{
		{"proof challenge", func(s *DecryptedShare) { s.Proof[0] ^= 1 }},
		{"proof response", func(s *DecryptedShare) { s.Proof[32] ^= 1 }},
		{"proof VG", func(s *DecryptedShare) { s.Proof[64] ^= 1 }},
		{"proof VH", func(s *DecryptedShare) { s.Proof[127] ^= 0x40 }},
		{"value byte", func(s *DecryptedShare) { s.Value[3] ^= 1 }},
		{"value replaced by another member's", func(s *DecryptedShare) { s.Value = bytes.Clone(f.shares[2].Value) }},
		{"value replaced by a random point", func(s *DecryptedShare) {
			s.Value = mustMarshal(suite.Point().Pick(suite.RandomStream()))
		}},
		{"index moved", func(s *DecryptedShare) { s.Index = 2 }},
		{"index out of range", func(s *DecryptedShare) { s.Index = 3 }},
		{"negative index", func(s *DecryptedShare) { s.Index = -1 }},
		{"proof of another share", func(s *DecryptedShare) { s.Proof = bytes.Clone(f.shares[2].Proof) }},
		{"short value", func(s *DecryptedShare) { s.Value = s.Value[:31] }},
		{"empty proof", func(s *DecryptedShare) { s.Proof = nil }},
	}
	for _, tc := range tampers {
		bad := cloneShare(f.shares[1])
		tc.fn(bad)
		err := f.rec.VerifyShare(bad)
		if !errors.Is(err, ErrInvalidShare) {
			t.Errorf("%s: VerifyShare = %v, want ErrInvalidShare", tc.name, err)
		}
		// One good + one bad share is not enough, in either order.
		wantNotEnough(t, f.rec, []*DecryptedShare{good, bad}, 1, 2)
		wantNotEnough(t, f.rec, []*DecryptedShare{bad, good}, 1, 2)
		// And a bad share does not spoil a recovery that has enough good ones.
		mustRecover(t, f.rec, []*DecryptedShare{bad, good, f.shares[2]}, f.secret)
	}
	if err := f.rec.VerifyShare(nil); !errors.Is(err, ErrInvalidShare) {
		t.Errorf("VerifyShare(nil) = %v", err)
	}
}

// kyber's dleq.Proof.Verify does not recompute the Fiat-Shamir challenge, so a
// "proof" with arbitrary challenge and response passes pvss.VerifyDecShare.
// VerifyShare must reject it.
func TestForgedDecryptionProofRejected(t *testing.T) {
	f := newFixture(t, 3, 2, 5)
	p, err := f.rec.verify()
	if err != nil {
		t.Fatal(err)
	}
	const i = 1
	X, Y := p.keys[i], p.enc[i].S.V
	stream := suite.RandomStream()
	Vbad := suite.Point().Pick(stream)
	c := suite.Scalar().Pick(stream)
	r := suite.Scalar().Pick(stream)
	proof := dleq.Proof{
		C:  c,
		R:  r,
		VG: suite.Point().Add(suite.Point().Mul(r, nil), suite.Point().Mul(c, X)),
		VH: suite.Point().Add(suite.Point().Mul(r, Vbad), suite.Point().Mul(c, Y)),
	}
	forged := &pvss.PubVerShare{S: share.PubShare{I: i, V: Vbad}, P: proof}
	if err := pvss.VerifyDecShare(suite, baseG(), X, p.enc[i], forged); err != nil {
		t.Fatalf("premise: kyber rejects the forgery (%v); test needs updating", err)
	}
	s := &DecryptedShare{Epoch: f.rec.Epoch, Index: i, RecordID: p.id, Value: mustMarshal(Vbad), Proof: encodeProof(&proof)}
	if err := f.rec.VerifyShare(s); !errors.Is(err, ErrInvalidShare) {
		t.Fatalf("VerifyShare(forged) = %v, want ErrInvalidShare", err)
	}
	wantNotEnough(t, f.rec, []*DecryptedShare{f.shares[0], s}, 1, 2)
}

// The challenge of pvss.DecShare's proof hashes X, Y and the commitments but
// not the decrypted share V, so a member can "prove" a wrong decryption that
// even passes a challenge-recomputing kyber verifier. VerifyShare binds V into
// its challenge and must reject such a share.
func TestMaliciousMemberCannotProveWrongDecryption(t *testing.T) {
	f := newFixture(t, 3, 2, 5)
	p, err := f.rec.verify()
	if err != nil {
		t.Fatal(err)
	}
	const i = 2
	x := f.privs[i].x
	X, Y := p.keys[i], p.enc[i].S.V
	stream := suite.RandomStream()
	v := suite.Scalar().Pick(stream)
	vG := suite.Point().Mul(v, nil)
	vH := suite.Point().Pick(stream) // arbitrary
	h := suite.Hash()
	for _, pt := range []kyber.Point{X, Y, vG, vH} { // dleq.NewDLEQProof's transcript
		h.Write(mustMarshal(pt))
	}
	c := suite.Scalar().Pick(suite.XOF(h.Sum(nil)))
	r := suite.Scalar().Sub(v, suite.Scalar().Mul(x, c))
	// Solve vH = r·V' + c·Y for V'.
	Vbad := suite.Point().Mul(suite.Scalar().Inv(r), suite.Point().Sub(vH, suite.Point().Mul(c, Y)))
	if Vbad.Equal(suite.Point().Mul(suite.Scalar().Inv(x), Y)) {
		t.Fatal("premise: forged value equals the true decryption")
	}
	proof := dleq.Proof{C: c, R: r, VG: vG, VH: vH}
	forged := &pvss.PubVerShare{S: share.PubShare{I: i, V: Vbad}, P: proof}
	if err := pvss.VerifyDecShare(suite, baseG(), X, p.enc[i], forged); err != nil {
		t.Fatalf("premise: kyber rejects the forgery (%v)", err)
	}
	s := &DecryptedShare{Epoch: f.rec.Epoch, Index: i, RecordID: p.id, Value: mustMarshal(Vbad), Proof: encodeProof(&proof)}
	if err := f.rec.VerifyShare(s); !errors.Is(err, ErrInvalidShare) {
		t.Fatalf("VerifyShare(wrong decryption) = %v, want ErrInvalidShare", err)
	}
	wantNotEnough(t, f.rec, []*DecryptedShare{s, f.shares[0]}, 1, 2)
}

func TestShareFromOtherRecordRejected(t *testing.T) {
	secret := newSecret(t)
	privs, pubs := newMembers(t, 3)
	a, err := Protect(secret, 9, pubs, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameEpoch, err := Protect(secret, 9, pubs, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	otherEpoch, err := Protect(secret, 10, pubs, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sa []*DecryptedShare
	for _, k := range privs {
		s, err := a.DecryptShare(k)
		if err != nil {
			t.Fatal(err)
		}
		sa = append(sa, s)
	}
	sb, err := sameEpoch.DecryptShare(privs[1])
	if err != nil {
		t.Fatal(err)
	}

	if err := sameEpoch.VerifyShare(sa[0]); !errors.Is(err, ErrWrongRecord) {
		t.Fatalf("share of another record, same epoch: %v, want ErrWrongRecord", err)
	}
	if err := otherEpoch.VerifyShare(sa[0]); !errors.Is(err, ErrWrongEpoch) {
		t.Fatalf("share of another epoch: %v, want ErrWrongEpoch", err)
	}
	wantNotEnough(t, sameEpoch, []*DecryptedShare{sa[0], sb}, 1, 2)
	wantNotEnough(t, otherEpoch, sa, 0, 2)

	// Relabelling a foreign share with this record's epoch and ID does not
	// help: the proof is bound to the record.
	id, err := sameEpoch.ID()
	if err != nil {
		t.Fatal(err)
	}
	relabelled := cloneShare(sa[0])
	relabelled.RecordID = id
	if err := sameEpoch.VerifyShare(relabelled); !errors.Is(err, ErrInvalidShare) {
		t.Fatalf("relabelled share: %v, want ErrInvalidShare", err)
	}
	wantNotEnough(t, sameEpoch, []*DecryptedShare{relabelled, sb}, 1, 2)
	mustRecover(t, a, sa[1:], secret)
}

func TestNonMember(t *testing.T) {
	f := newFixture(t, 3, 2, 1)
	outsider, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rec.DecryptShare(outsider); !errors.Is(err, ErrNotAMember) {
		t.Fatalf("DecryptShare(outsider) = %v, want ErrNotAMember", err)
	}
	if f.rec.IndexOf(outsider.Public()) != -1 || f.rec.IndexOf(f.pubs[2]) != 2 {
		t.Fatal("IndexOf")
	}
	if _, err := f.rec.DecryptShare(nil); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("DecryptShare(nil) = %v", err)
	}
	if _, err := f.rec.DecryptShare(&PrivateKey{}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("DecryptShare(zero key) = %v", err)
	}
}

// ---------------------------------------------------------------- record validation

// The Verify-side counterpart of the decryption forgery: an encrypted share
// replaced by garbage with a proof satisfying kyber's equations passes
// pvss.VerifyEncShare, but not Verify, which recomputes the batch challenge.
func TestForgedEncryptionProofRejected(t *testing.T) {
	f := newFixture(t, 3, 2, 1)
	p, err := f.rec.verify()
	if err != nil {
		t.Fatal(err)
	}
	const i = 1
	stream := suite.RandomStream()
	Ybad := suite.Point().Pick(stream)
	c := suite.Scalar().Pick(stream)
	r := suite.Scalar().Pick(stream)
	H := baseH()
	proof := dleq.Proof{
		C:  c,
		R:  r,
		VG: suite.Point().Add(suite.Point().Mul(r, H), suite.Point().Mul(c, p.sH[i])),
		VH: suite.Point().Add(suite.Point().Mul(r, p.keys[i]), suite.Point().Mul(c, Ybad)),
	}
	forged := &pvss.PubVerShare{S: share.PubShare{I: i, V: Ybad}, P: proof}
	if err := pvss.VerifyEncShare(suite, H, p.keys[i], p.sH[i], forged); err != nil {
		t.Fatalf("premise: kyber rejects the forgery (%v)", err)
	}
	bad := cloneRecord(t, f.rec)
	bad.Shares[i] = append(mustMarshal(Ybad), encodeProof(&proof)...)
	if err := bad.Verify(); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("Verify(forged share) = %v, want ErrInvalidRecord", err)
	}
}

func TestTamperedRecordFailsVerify(t *testing.T) {
	f := newFixture(t, 3, 2, 1)
	check := func(name string, mutate func(r *Record)) {
		t.Helper()
		r := cloneRecord(t, f.rec)
		mutate(r)
		if err := r.Verify(); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: Verify = %v, want ErrInvalidRecord", name, err)
		}
		if _, err := r.Recover(f.shares); err == nil {
			t.Errorf("%s: Recover succeeded", name)
		}
		if _, err := r.DecryptShare(f.privs[0]); err == nil {
			t.Errorf("%s: DecryptShare succeeded", name)
		}
	}
	for _, off := range []int{0, 5, 31, 32, 63, 64, 95, 96, 127, 128, 159} {
		for i := 0; i < 3; i++ {
			check(fmt.Sprintf("share %d byte %d", i, off), func(r *Record) { r.Shares[i][off] ^= 0x01 })
		}
	}
	for j := 0; j < 2; j++ {
		for _, off := range []int{0, 17, 31} {
			check(fmt.Sprintf("commit %d byte %d", j, off), func(r *Record) { r.Commits[j][off] ^= 0x01 })
		}
	}
	check("key byte", func(r *Record) { r.Keys[1][4] ^= 0x01 })
	check("keys swapped", func(r *Record) { r.Keys[0], r.Keys[1] = r.Keys[1], r.Keys[0] })
	check("duplicate key", func(r *Record) { r.Keys[1] = bytes.Clone(r.Keys[0]) })
	check("shares swapped", func(r *Record) { r.Shares[0], r.Shares[2] = r.Shares[2], r.Shares[0] })
	check("threshold 0", func(r *Record) { r.Threshold = 0 })
	check("threshold > n", func(r *Record) { r.Threshold = 4 })
	check("threshold without commitment", func(r *Record) { r.Threshold = 3 })
	check("commitment dropped", func(r *Record) { r.Commits = r.Commits[:1] })
	check("member dropped", func(r *Record) { r.Keys = r.Keys[:2]; r.Shares = r.Shares[:2] })
	check("wrapped truncated", func(r *Record) { r.Wrapped = r.Wrapped[:10] })
	check("no keys", func(r *Record) { r.Keys = nil })
	if err := (*Record)(nil).Verify(); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("nil record: %v", err)
	}

	// Epoch and Wrapped are not covered by the encryption proofs, but they
	// are bound by the record ID and the GCM tag: recovery fails.
	r := cloneRecord(t, f.rec)
	r.Epoch++
	if err := r.Verify(); err != nil {
		t.Fatalf("Verify with changed epoch: %v", err)
	}
	wantNotEnough(t, r, f.shares, 0, 2)
	r = cloneRecord(t, f.rec)
	r.Wrapped[20] ^= 1
	if _, err := r.Recover(f.shares); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("Recover with tampered Wrapped = %v, want ErrUnwrap", err)
	}
}

func TestProtectArgumentErrors(t *testing.T) {
	secret := newSecret(t)
	_, pubs := newMembers(t, 3)
	for _, m := range []int{0, -1, 4, 100} {
		if _, err := Protect(secret, 1, pubs, m, nil); !errors.Is(err, ErrThreshold) {
			t.Errorf("threshold %d: %v, want ErrThreshold", m, err)
		}
	}
	dup := []PublicKey{pubs[0], pubs[1], bytes.Clone(pubs[0])}
	if _, err := Protect(secret, 1, dup, 2, nil); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("duplicate keys: %v, want ErrDuplicateKey", err)
	}
	for name, b := range invalidPublicKeys(t) {
		keys := []PublicKey{pubs[0], b, pubs[2]}
		if _, err := Protect(secret, 1, keys, 2, nil); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("invalid key %s: Protect = %v, want ErrInvalidKey", name, err)
		}
		if _, err := ParsePublicKey(b); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("invalid key %s: ParsePublicKey = %v, want ErrInvalidKey", name, err)
		}
		var pk PublicKey
		if err := pk.UnmarshalText([]byte(hex.EncodeToString(b))); err == nil {
			t.Errorf("invalid key %s: UnmarshalText succeeded", name)
		}
		// A record carrying it does not verify either.
		r, err := Protect(secret, 1, pubs, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == PublicKeySize {
			r.Keys[1] = b
			if err := r.Verify(); !errors.Is(err, ErrInvalidRecord) {
				t.Errorf("invalid key %s in record: Verify = %v", name, err)
			}
		}
	}
	if _, err := Protect(secret, 1, nil, 1, nil); err == nil {
		t.Error("no members: Protect succeeded")
	}
	if _, err := Protect(secret[:16], 1, pubs, 2, nil); err == nil {
		t.Error("short secret: Protect succeeded")
	}
	if _, err := Protect(append(secret, 0), 1, pubs, 2, nil); err == nil {
		t.Error("long secret: Protect succeeded")
	}
	for _, p := range pubs {
		if q, err := ParsePublicKey(p); err != nil || !q.Equal(p) {
			t.Errorf("ParsePublicKey(valid) = %v, %v", q, err)
		}
	}
}

func invalidPublicKeys(t *testing.T) map[string][]byte {
	t.Helper()
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	order8 := mustHex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
	T := suite.Point()
	if err := T.UnmarshalBinary(order8); err != nil {
		t.Fatal(err)
	}
	_, pubs := newMembers(t, 1)
	X := suite.Point()
	if err := X.UnmarshalBinary(pubs[0]); err != nil {
		t.Fatal(err)
	}
	mixed := mustMarshal(suite.Point().Add(X, T))

	var notOnCurve []byte
	for y := byte(2); ; y++ {
		b := make([]byte, 32)
		b[0] = y
		if suite.Point().UnmarshalBinary(b) != nil {
			notOnCurve = b
			break
		}
	}
	identityNonCanonical := mustHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f") // y = p+1
	return map[string][]byte{
		"empty":                  nil,
		"short":                  pubs[0][:31],
		"long":                   append(bytes.Clone(pubs[0]), 0),
		"identity":               mustHex("0100000000000000000000000000000000000000000000000000000000000000"),
		"identity with sign bit": mustHex("0100000000000000000000000000000000000000000000000000000000000080"),
		"identity as y=p+1":      identityNonCanonical,
		"order 2":                mustHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
		"order 4":                make([]byte, 32),
		"order 8":                order8,
		"mixed order":            mixed,
		"not on curve":           notOnCurve,
		"all ones":               bytes.Repeat([]byte{0xff}, 32),
	}
}

// ---------------------------------------------------------------- encoding

func TestRecordEncodingRoundTrip(t *testing.T) {
	f := newFixture(t, 3, 2, 1<<40+3)
	bin, err := f.rec.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if want := recordHeader + 3*32 + 2*32 + 3*160 + WrappedSize; len(bin) != want {
		t.Fatalf("encoding is %d bytes, want %d", len(bin), want)
	}
	var back Record
	if err := back.UnmarshalBinary(bin); err != nil {
		t.Fatal(err)
	}
	bin2, err := back.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bin, bin2) {
		t.Fatal("binary encoding is not stable")
	}
	if err := back.Verify(); err != nil {
		t.Fatal(err)
	}
	mustRecover(t, &back, f.pick(2, 0), f.secret)

	js, err := json.Marshal(f.rec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"threshold":2`) || !strings.Contains(string(js), hex.EncodeToString(f.pubs[1])) {
		t.Fatalf("unexpected JSON: %s", js)
	}
	var fromJSON Record
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		t.Fatal(err)
	}
	bin3, err := fromJSON.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bin, bin3) {
		t.Fatal("JSON round trip changed the record")
	}
	mustRecover(t, &fromJSON, f.pick(1, 2), f.secret)
	// Value form works too.
	js2, err := json.Marshal(*f.rec)
	if err != nil || !bytes.Equal(js, js2) {
		t.Fatalf("json.Marshal(Record) = %s, %v", js2, err)
	}

	// Shares round-trip and still recover.
	var decoded []*DecryptedShare
	for _, s := range f.shares {
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != shareSize {
			t.Fatalf("share encoding %d bytes", len(b))
		}
		var sb DecryptedShare
		if err := sb.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		sj, err := json.Marshal(&sb)
		if err != nil {
			t.Fatal(err)
		}
		var sj2 DecryptedShare
		if err := json.Unmarshal(sj, &sj2); err != nil {
			t.Fatal(err)
		}
		b2, _ := sj2.MarshalBinary()
		if !bytes.Equal(b, b2) {
			t.Fatal("share round trip changed it")
		}
		decoded = append(decoded, &sj2)
	}
	mustRecover(t, f.rec, decoded[1:], f.secret)
}

func TestRecordDecodingErrors(t *testing.T) {
	f := newFixture(t, 3, 2, 1)
	bin, err := f.rec.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	for n := 0; n < len(bin); n++ {
		if err := r.UnmarshalBinary(bin[:n]); err == nil {
			t.Fatalf("truncation to %d bytes accepted", n)
		}
	}
	if err := r.UnmarshalBinary(append(bytes.Clone(bin), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	if r.Keys != nil {
		t.Fatal("failed UnmarshalBinary modified the record")
	}
	for _, bad := range []func(b []byte){
		func(b []byte) { b[0] = 'X' },                // magic
		func(b []byte) { b[4] = 2 },                  // version
		func(b []byte) { b[13], b[14] = 0, 0 },       // threshold 0
		func(b []byte) { b[13], b[14] = 0, 4 },       // threshold > n
		func(b []byte) { b[15], b[16] = 0, 0 },       // n = 0
		func(b []byte) { b[15], b[16] = 0xff, 0xff }, // n too large
		func(b []byte) { b[13], b[14] = 0, 3 },       // length no longer matches
	} {
		b := bytes.Clone(bin)
		bad(b)
		if err := r.UnmarshalBinary(b); err == nil {
			t.Fatal("malformed header accepted")
		}
	}

	// Fuzz-style: flip bytes at random positions; decoding must never panic,
	// and a tampered record must never yield the secret.
	rng := mrand.New(mrand.NewPCG(1, 2))
	iterations := 300
	if testing.Short() {
		iterations = 50
	}
	reached := 0
	for it := 0; it < iterations; it++ {
		b := bytes.Clone(bin)
		flips := 1 + rng.IntN(3)
		for k := 0; k < flips; k++ {
			b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		}
		var tr Record
		if err := tr.UnmarshalBinary(b); err != nil {
			continue
		}
		reached++
		if got, err := tr.Recover(f.shares); err == nil {
			t.Fatalf("tampered record (iteration %d) recovered %x", it, got)
		}
		_ = tr.Verify()
		_, _ = tr.DecryptShare(f.privs[0])
	}
	if reached < iterations/2 {
		t.Fatalf("only %d of %d tampered records decoded; the loop tests too little", reached, iterations)
	}
	// Completely random input of various sizes.
	for it := 0; it < 200; it++ {
		b := make([]byte, rng.IntN(2*len(bin)))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if it%2 == 0 && len(b) > recordHeader {
			copy(b, bin[:recordHeader]) // valid header, garbage body
		}
		var tr Record
		if err := tr.UnmarshalBinary(b); err == nil {
			if err := tr.Verify(); err == nil {
				t.Fatal("random bytes verified as a record")
			}
		}
	}

	// JSON: truncations, flips and wrong shapes.
	js, err := json.Marshal(f.rec)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(js); n++ {
		var jr Record
		if err := json.Unmarshal(js[:n], &jr); err == nil {
			t.Fatalf("JSON truncated to %d bytes accepted", n)
		}
	}
	for it := 0; it < iterations; it++ {
		b := bytes.Clone(js)
		b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		var jr Record
		if err := json.Unmarshal(b, &jr); err != nil {
			continue
		}
		if got, err := jr.Recover(f.shares); err == nil && !bytes.Equal(b, js) {
			// Only a change of hex letter case can leave the record intact.
			canon, _ := json.Marshal(jr)
			if !bytes.Equal(canon, js) {
				t.Fatalf("tampered JSON record recovered %x", got)
			}
		}
	}
	for _, s := range []string{
		`{}`,
		`[]`,
		`null`,
		`{"version":2}`,
		`{"version":1,"epoch":1,"threshold":1,"keys":[],"commits":[],"shares":[],"wrapped":""}`,
		`{"version":1,"epoch":1,"threshold":1,"keys":["zz"],"commits":["00"],"shares":["00"],"wrapped":"00"}`,
		strings.Replace(string(js), `"version":1`, `"version":1,"extra":true`, 1),
		strings.Replace(string(js), `"threshold":2`, `"threshold":3`, 1),
		strings.Replace(string(js), `"threshold":2`, `"threshold":-1`, 1),
	} {
		var jr Record
		if err := json.Unmarshal([]byte(s), &jr); err == nil {
			if jr.Verify() == nil {
				t.Errorf("JSON %.60q accepted and verified", s)
			}
		}
	}
}

func TestShareDecodingErrors(t *testing.T) {
	f := newFixture(t, 3, 2, 1)
	bin, err := f.shares[1].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var s DecryptedShare
	for n := 0; n < len(bin); n++ {
		if err := s.UnmarshalBinary(bin[:n]); err == nil {
			t.Fatalf("share truncated to %d bytes accepted", n)
		}
	}
	if err := s.UnmarshalBinary(append(bytes.Clone(bin), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	// Every single-byte change is either undecodable or rejected.
	p, err := f.rec.verify()
	if err != nil {
		t.Fatal(err)
	}
	decoded := 0
	for pos := 0; pos < len(bin); pos++ {
		for _, x := range []byte{0x01, 0x80} {
			b := bytes.Clone(bin)
			b[pos] ^= x
			var ds DecryptedShare
			if err := ds.UnmarshalBinary(b); err != nil {
				continue
			}
			decoded++
			if _, err := f.rec.verifyShare(p, &ds); err == nil {
				t.Fatalf("share with byte %d ^ %#x accepted", pos, x)
			}
			if pos%16 == 0 { // the public path too, on a sample
				if err := f.rec.VerifyShare(&ds); err == nil {
					t.Fatalf("share with byte %d ^ %#x accepted", pos, x)
				}
				wantNotEnough(t, f.rec, []*DecryptedShare{&ds, f.shares[0]}, 1, 2)
			}
		}
	}
	if decoded < len(bin) {
		t.Fatalf("only %d tampered shares decoded; the loop tests too little", decoded)
	}
	js, err := json.Marshal(f.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(js); n++ {
		var ds DecryptedShare
		if err := json.Unmarshal(js[:n], &ds); err == nil {
			t.Fatalf("share JSON truncated to %d accepted", n)
		}
	}
	for _, bad := range []string{`{}`, `{"version":1,"index":-1}`, `{"version":1,"record":"00","value":"","proof":""}`} {
		var ds DecryptedShare
		if err := json.Unmarshal([]byte(bad), &ds); err == nil {
			t.Errorf("share JSON %q accepted", bad)
		}
	}
	if _, err := (&DecryptedShare{}).MarshalBinary(); err == nil {
		t.Error("empty share marshalled")
	}
}

// ---------------------------------------------------------------- keys

func TestPrivateKeyNeverPrinted(t *testing.T) {
	k, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	text, err := k.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	secretHex := string(text)
	raw, _ := hex.DecodeString(secretHex)
	upperHex := strings.ToUpper(secretHex)
	type holder struct {
		k  PrivateKey
		pk *PrivateKey
	}
	type Exported struct {
		K  PrivateKey
		PK *PrivateKey
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		outs = append(outs,
			fmt.Sprintf(verb, k),
			fmt.Sprintf(verb, *k),
			fmt.Sprintf(verb, holder{*k, k}),
			fmt.Sprintf(verb, Exported{*k, k}),
			fmt.Sprintf(verb, []*PrivateKey{k}),
			fmt.Sprintf(verb, map[string]PrivateKey{"k": *k}),
		)
	}
	outs = append(outs, fmt.Sprint(k), fmt.Sprintln(*k), k.String(), k.GoString())
	var logbuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logbuf, nil)).Info("key", "k", k, "v", *k)
	slog.New(slog.NewJSONHandler(&logbuf, nil)).Info("key", "k", k, "v", *k)
	outs = append(outs, logbuf.String())
	if b, err := json.Marshal(k); err == nil {
		t.Errorf("json.Marshal(PrivateKey) succeeded: %s", b)
	}
	if b, err := json.Marshal(Exported{*k, k}); err == nil {
		t.Errorf("json.Marshal(struct with PrivateKey) succeeded: %s", b)
	}
	for _, out := range outs {
		if strings.Contains(out, secretHex) || strings.Contains(out, upperHex) || bytes.Contains([]byte(out), raw) {
			t.Fatalf("private key leaked in %q", out)
		}
	}
	if !strings.Contains(fmt.Sprintf("%v", k), k.Public().String()) {
		t.Error("String should show the public key")
	}
	if !strings.Contains(fmt.Sprintf("%#v", k), redacted) {
		t.Error("GoString should say it is redacted")
	}
}

func TestPrivateKeyText(t *testing.T) {
	k, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	text, err := k.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if len(text) != 64 {
		t.Fatalf("text key has %d chars", len(text))
	}
	k2, err := ParsePrivateKey(append([]byte("  "), append(text, '\n')...))
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Public().Equal(k.Public()) {
		t.Fatal("ParsePrivateKey changed the key")
	}
	lHex := "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010" // L, little-endian
	for name, in := range map[string]string{
		"empty":         "",
		"short":         string(text[:62]),
		"long":          string(text) + "00",
		"not hex":       "zz" + string(text[2:]),
		"zero":          strings.Repeat("0", 64),
		"L":             lHex,
		"non-canonical": strings.Repeat("f", 64),
	} {
		_, err := ParsePrivateKey([]byte(in))
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: ParsePrivateKey = %v, want ErrInvalidKey", name, err)
			continue
		}
		if len(in) > 8 && strings.Contains(err.Error(), in[2:]) {
			t.Errorf("%s: error message contains the input", name)
		}
	}
	if _, err := (*PrivateKey)(nil).MarshalText(); err == nil {
		t.Error("nil key marshalled")
	}
	if _, err := GenerateKey(bytes.NewReader(nil)); err == nil {
		t.Error("GenerateKey with an empty reader succeeded")
	}
	a, _ := GenerateKey(seeded(5))
	b, _ := GenerateKey(seeded(5))
	if !a.Public().Equal(b.Public()) {
		t.Error("GenerateKey is not a function of its randomness")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "member.key")
	k, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	k2, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Public().Equal(k.Public()) {
		t.Fatal("ReadKeyFile returned a different key")
	}
	before, _ := os.ReadFile(path)

	other, _ := GenerateKey(nil)
	if err := WriteKeyFile(path, other); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("WriteKeyFile over an existing file: %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("existing key file was modified")
	}
	if err := WriteKeyFile(filepath.Join(dir, "nil.key"), nil); err == nil {
		t.Fatal("WriteKeyFile(nil) succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "nil.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("WriteKeyFile(nil) left a file")
	}

	// A member key file works end to end.
	f := newFixture(t, 3, 2, 1)
	memberPath := filepath.Join(dir, "m0.key")
	if err := WriteKeyFile(memberPath, f.privs[0]); err != nil {
		t.Fatal(err)
	}
	loaded, err := ReadKeyFile(memberPath)
	if err != nil {
		t.Fatal(err)
	}
	s0, err := f.rec.DecryptShare(loaded)
	if err != nil {
		t.Fatal(err)
	}
	mustRecover(t, f.rec, []*DecryptedShare{s0, f.shares[2]}, f.secret)

	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadKeyFile(path); err == nil {
			t.Fatal("ReadKeyFile accepted a world-readable key file")
		}
	}
	garbage := filepath.Join(dir, "garbage.key")
	if err := os.WriteFile(garbage, []byte("not a key at all, definitely"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(garbage); err == nil || strings.Contains(err.Error(), "definitely") {
		t.Fatalf("ReadKeyFile(garbage) = %v", err)
	}
	if _, err := ReadKeyFile(filepath.Join(dir, "missing.key")); err == nil {
		t.Fatal("ReadKeyFile(missing) succeeded")
	}
	if _, err := ReadKeyFile(dir); err == nil {
		t.Fatal("ReadKeyFile(directory) succeeded")
	}
}

func TestDecodeRejectsNonCanonical(t *testing.T) {
	for _, s := range []string{
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // identity with y = p+1
		"0100000000000000000000000000000000000000000000000000000000000080", // identity with x sign bit
	} {
		b, _ := hex.DecodeString(s)
		if _, err := decodePoint(b); err == nil || !strings.Contains(err.Error(), "non-canonical") {
			t.Errorf("decodePoint(%s) = %v, want a non-canonical error", s, err)
		}
	}
	L, _ := hex.DecodeString("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	if _, err := decodeScalar(L); err == nil {
		t.Error("decodeScalar(L) succeeded")
	}
	Lminus1 := bytes.Clone(L)
	Lminus1[0]--
	if s, err := decodeScalar(Lminus1); err != nil || !s.Equal(minusOne()) {
		t.Errorf("decodeScalar(L-1) = %v, %v", s, err)
	}
	if _, err := decodeProof(make([]byte, proofSize-1)); err == nil {
		t.Error("short proof decoded")
	}
}
