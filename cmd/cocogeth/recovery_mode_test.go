package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// What anyone reaching a recovering node's recovery_ API can do with
// garbage, foreign or forged shares: nothing counts but a member's valid
// share of this node's record.
func TestRecoveryAPIRefusesWhatIsNotAValidShare(t *testing.T) {
	dir := t.TempDir()
	keys := make([]*recovery.PrivateKey, 3)
	pubs := make([]recovery.PublicKey, 3)
	for i := range keys {
		k, err := recovery.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		keys[i], pubs[i] = k, k.Public()
	}
	secret := bytes.Repeat([]byte{0x5e}, 32)
	rec, err := recovery.Protect(secret, 1, pubs, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := rec.MarshalBinary()
	if err := os.WriteFile(eth.RecordFile(dir, 1), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	needed := map[uint64][]string{1: {"chaindata/000001.ldb"}}
	s, err := newRecoverySession(dir, needed)
	if err != nil {
		t.Fatal(err)
	}
	api := &recoveryAPI{s: s, needed: needed}

	// Another record of the same epoch and members: its shares are foreign.
	other, _ := recovery.Protect(bytes.Repeat([]byte{1}, 32), 1, pubs, 2, nil)
	foreign, _ := other.DecryptShare(keys[0])
	good, _ := rec.DecryptShare(keys[0])
	forged, _ := rec.DecryptShare(keys[1])
	forged.Value = bytes.Clone(good.Value) // another member's value under B's proof
	marshal := func(sh *recovery.DecryptedShare) hexutil.Bytes {
		b, err := sh.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, in := range map[string]hexutil.Bytes{
		"empty": {}, "garbage": []byte("not a share at all"),
		"foreign record": marshal(foreign), "forged value": marshal(forged),
	} {
		if _, err := api.SubmitShare(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if st := api.Status(); st.Done || st.Epochs[0].Valid != 0 {
		t.Fatalf("refused shares counted: %+v", st)
	}
	// One valid share, twice: counted once, still locked, says how many more.
	for i := 0; i < 2; i++ {
		st, err := api.SubmitShare(marshal(good))
		if err != nil || st.Done || st.Epochs[0].Valid != 1 || !strings.Contains(st.Message, "1 more member") {
			t.Fatalf("after A's share (%d): %+v %v", i, st, err)
		}
	}
	select {
	case <-s.done:
		t.Fatal("recovered with one share of two")
	default:
	}
	b, _ := rec.DecryptShare(keys[1])
	if st, err := api.SubmitShare(marshal(b)); err != nil || !st.Done {
		t.Fatalf("after B's share: %+v %v", st, err)
	}
	if !bytes.Equal(s.recovered[1], secret) {
		t.Fatal("recovered a wrong secret")
	}
	if got := api.Records(); len(got) != 1 || got[0].Epoch != 1 || !bytes.Equal(got[0].Record, raw) {
		t.Fatalf("records %+v", got)
	}
}
