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

// Shares never cross a network in clear: the recovering node serves plain
// HTTP only on loopback, and the member's tool sends over plain HTTP only
// to this machine.
func TestRecoverySharesStayOffTheNetworkInClear(t *testing.T) {
	for host, ok := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "0.0.0.0": false, "10.0.0.3": false, "node1.example": false} {
		if got := isLoopbackHost(host); got != ok {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, ok)
		}
	}
	for endpoint, ok := range map[string]bool{
		"http://127.0.0.1:8545": true, "http://localhost:8545": true, "https://10.0.0.3:8545": true,
		"http://10.0.0.3:8545": false, "http://node1.example:8545": false, "ws://127.0.0.1:8546": false, "": false,
	} {
		if err := shareEndpointAllowed(endpoint); (err == nil) != ok {
			t.Errorf("shareEndpointAllowed(%q) = %v, want allowed %v", endpoint, err, ok)
		}
	}
}
