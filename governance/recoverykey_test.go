package governance

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/vm"
)

// membersView returns the members() view as the ABI decodes it.
func membersView(t *testing.T, c *Contract, st vm.StateDB) map[string]abiMember {
	t.Helper()
	out, ret, _, err := call(t, c, CallContext{State: st, ReadOnly: true}, "members")
	if err != nil {
		t.Fatalf("members: %v %x", err, ret)
	}
	ms := *abi.ConvertType(out[0], new([]abiMember)).(*[]abiMember)
	byID := map[string]abiMember{}
	for _, m := range ms {
		byID[m.ID] = m
	}
	return byID
}

// recoveryIndex returns the actor key the recovery key index holds for key.
func recoveryIndex(st vm.StateDB, key []byte) common.Hash {
	return st.GetState(Address, recoveryKeySlot(key))
}

// TestRecoveryKeyGenesis: genesis recovery keys are validated, zero means
// none, and the installed constitution lists them in member order.
func TestRecoveryKeyGenesis(t *testing.T) {
	g := testGenesis(Policy{Kind: Majority})
	g.Members = []Member{member("C", accC), member("A", accA, accA2), member("B", accB)}
	g.Members[2].RecoveryKey = make([]byte, RecoveryKeySize) // zero: none
	c, err := g.Constitution()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.Member("B"); b.RecoveryKey != nil {
		t.Fatalf("zero recovery key kept: %x", b.RecoveryKey)
	}
	st := installed(t, g)
	loaded := mustLoad(t, st)
	if !reflect.DeepEqual(loaded, c) {
		t.Fatalf("loaded %s\nwant %s", loaded, c)
	}
	ids, keys := loaded.RecoveryKeys()
	if !reflect.DeepEqual(ids, []string{"A", "C"}) || !reflect.DeepEqual(keys, [][]byte{recoveryPub("A"), recoveryPub("C")}) {
		t.Fatalf("RecoveryKeys() = %v %x", ids, keys)
	}
	for _, k := range keys {
		if _, err := recovery.ParsePublicKey(k); err != nil {
			t.Fatalf("key %x: %v", k, err)
		}
	}
	// The index points at the holders, and nothing is indexed for none.
	if recoveryIndex(st, recoveryPub("A")) != actorKey("A") || recoveryIndex(st, recoveryPub("C")) != actorKey("C") {
		t.Fatal("recovery key index not written at genesis")
	}
	if recoveryIndex(st, make([]byte, RecoveryKeySize)) != (common.Hash{}) {
		t.Fatal("zero recovery key indexed")
	}
	// The view shows the keys, empty bytes for none.
	view := membersView(t, NewContract(), st)
	if !bytes.Equal(view["A"].RecoveryKey, recoveryPub("A")) || view["B"].RecoveryKey == nil || len(view["B"].RecoveryKey) != 0 {
		t.Fatalf("members view %+v", view)
	}
	// JSON: the key in hex, left out when none; hex reads back.
	js := fmt.Sprintf(`{"members": [
	    {"id": "A", "accounts": ["%s"], "publicKey": "0x0a", "recoveryKey": "%s"},
	    {"id": "B", "accounts": ["%s"], "publicKey": "0x0b", "recoveryKey": "0x%s"}],
	  "teeManifest": ["simulation"], "policy": {"kind": "majority"}}`,
		accA.Hex(), hexutil.Encode(recoveryPub("A")), accB.Hex(), strings.Repeat("00", 32))
	pg, err := ParseGenesis([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	pc, _ := pg.Constitution()
	if ids, keys := pc.RecoveryKeys(); !reflect.DeepEqual(ids, []string{"A"}) || !bytes.Equal(keys[0], recoveryPub("A")) {
		t.Fatalf("parsed genesis RecoveryKeys() = %v %x", ids, keys)
	}
	if s := pc.String(); !strings.Contains(s, `"recoveryKey": "`+hexutil.Encode(recoveryPub("A"))+`"`) || strings.Count(s, "recoveryKey") != 1 {
		t.Fatalf("JSON %s", s)
	}
	if _, err := ParseGenesis([]byte(strings.Replace(js, hexutil.Encode(recoveryPub("A")), hexutil.Encode(identityKey), 1))); err == nil ||
		!strings.Contains(err.Error(), `members[0]: member "A": invalid recovery key`) {
		t.Fatalf("identity point accepted: %v", err)
	}
}

// TestRecoveryKeysAccessor: the order is by member id whatever the order
// of Members, and the keys are copies.
func TestRecoveryKeysAccessor(t *testing.T) {
	c := &Constitution{Members: []Member{member("C"), {ID: "B"}, member("A")}}
	ids, keys := c.RecoveryKeys()
	if !reflect.DeepEqual(ids, []string{"A", "C"}) || !reflect.DeepEqual(keys, [][]byte{recoveryPub("A"), recoveryPub("C")}) {
		t.Fatalf("RecoveryKeys() = %v %x", ids, keys)
	}
	keys[0][0] ^= 1
	if a, _ := c.Member("A"); !bytes.Equal(a.RecoveryKey, recoveryPub("A")) {
		t.Fatal("RecoveryKeys returned the constitution's own slice")
	}
	if ids, keys := (&Constitution{Members: []Member{{ID: "A"}}}).RecoveryKeys(); len(ids) != 0 || len(keys) != 0 {
		t.Fatalf("no keys: %v %v", ids, keys)
	}
}

// TestSetRecoveryKeyContract drives set-recovery-key through the ABI:
// refusals when proposed, the change when it passes, its events, the
// members view and the index, removal with the zero key, and reuse of a
// freed key.
func TestSetRecoveryKeyContract(t *testing.T) {
	g := testGenesis(Policy{Kind: Majority})
	g.Members[1].RecoveryKey = nil // B has none
	st := installed(t, g)
	c := NewContract()
	keyD := recoveryPub("D")
	block := uint64(10)
	propose := func(who, id string, key []byte) (uint64, error) {
		t.Helper()
		block++
		out, ret, _, err := call(t, c, CallContext{State: st, Caller: accountOf[who], BlockNumber: block}, "proposeSetRecoveryKey", id, [32]byte(key))
		if err != nil {
			if !errors.Is(err, vm.ErrExecutionReverted) {
				t.Fatalf("propose: %v", err)
			}
			return 0, errors.New(revertReason(t, ret))
		}
		return out[0].(*big.Int).Uint64(), nil
	}
	vote := func(who string, id uint64) {
		t.Helper()
		block++
		if _, ret, _, err := call(t, c, CallContext{State: st, Caller: accountOf[who], BlockNumber: block}, "vote", bigID(id), true); err != nil {
			t.Fatalf("vote: %v %s", err, revertReason(t, ret))
		}
	}
	refused := func(id string, key []byte, want string) {
		t.Helper()
		root, logs := st.IntermediateRoot(testRules), len(st.Logs())
		_, err := propose("A", id, key)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("propose set-recovery-key %s %x: %v, want refusal %q", id, key, err, want)
		}
		if st.IntermediateRoot(testRules) != root || len(st.Logs()) != logs {
			t.Fatal("a refused proposal changed the state")
		}
	}

	// Refused when proposed.
	refused("B", identityKey, `member "B": invalid recovery key`)
	refused("B", nonCanonicalKey, `member "B": invalid recovery key`)
	refused("Z", keyD, `no member "Z"`)
	refused("P", keyD, `no member "P"`)
	refused("B", recoveryPub("C"), `is already used by member "C"`)
	refused("A", recoveryPub("A"), `member "A" already has recovery key`)
	refused("B", make([]byte, 32), `member "B" has no recovery key to remove`)

	// Set B's key: open until B approves (majority of 3).
	id, err := propose("A", "B", keyD)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := GetProposal(st, id, block); p.State != Open || p.Action != (SetRecoveryKey{ID: "B", Key: common.Hash(keyD)}) ||
		p.Action.String() != `set the recovery key of member "B" to `+hexutil.Encode(keyD) {
		t.Fatalf("proposal %+v", p)
	}
	if Version(st) != 1 {
		t.Fatal("changed before the quorum")
	}
	logs := len(st.Logs())
	vote("B", id)
	if got, want := changeEvents(t, st, logs, block), fmt.Sprintf(`RecoveryKeySet("B", %s); ConstitutionChanged(2, %d)`, hexutil.Encode(keyD), id); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if view := membersView(t, c, st); !bytes.Equal(view["B"].RecoveryKey, keyD) || !bytes.Equal(view["A"].RecoveryKey, recoveryPub("A")) {
		t.Fatalf("members view %+v", view)
	}
	ids, keys := mustLoad(t, st).RecoveryKeys()
	if !reflect.DeepEqual(ids, []string{"A", "B", "C"}) || !bytes.Equal(keys[1], keyD) {
		t.Fatalf("RecoveryKeys() = %v %x", ids, keys)
	}
	if recoveryIndex(st, keyD) != actorKey("B") {
		t.Fatal("index not written")
	}
	// D's key is now B's: nobody else may take it, not even by add-member.
	refused("C", keyD, `recovery key `+hexutil.Encode(keyD)+` is already used by member "B"`)
	_, err = Propose(st, accA, block, AddMember{Member{ID: "D", Accounts: []common.Address{accD}, PublicKey: []byte{1}, RecoveryKey: keyD}})
	refusedWith(t, err, `already used by member "B"`)

	// Replace B's key: the old one is freed.
	keyE := recoveryPub("E")
	id, err = propose("B", "B", keyE)
	if err != nil {
		t.Fatal(err)
	}
	vote("C", id)
	if b, _ := mustLoad(t, st).Member("B"); !bytes.Equal(b.RecoveryKey, keyE) || recoveryIndex(st, keyD) != (common.Hash{}) || recoveryIndex(st, keyE) != actorKey("B") {
		t.Fatalf("replace: B %x, index of D's key %x", b.RecoveryKey, recoveryIndex(st, keyD))
	}

	// The zero key removes it.
	id, err = propose("A", "B", make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	logs = len(st.Logs())
	vote("C", id)
	if got, want := changeEvents(t, st, logs, block), fmt.Sprintf(`RecoveryKeySet("B", 0x%s); ConstitutionChanged(4, %d)`, strings.Repeat("00", 32), id); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if view := membersView(t, c, st); view["B"].RecoveryKey == nil || len(view["B"].RecoveryKey) != 0 {
		t.Fatalf("members view after removal %+v", view["B"])
	}
	if b, _ := mustLoad(t, st).Member("B"); b.RecoveryKey != nil || recoveryIndex(st, keyE) != (common.Hash{}) {
		t.Fatalf("removal: B %x, index %x", b.RecoveryKey, recoveryIndex(st, keyE))
	}
	if ids, _ := mustLoad(t, st).RecoveryKeys(); !reflect.DeepEqual(ids, []string{"A", "C"}) {
		t.Fatalf("RecoveryKeys() after removal: %v", ids)
	}
	// A freed key may be given to another member.
	id, err = propose("A", "C", keyE)
	if err != nil {
		t.Fatal(err)
	}
	vote("B", id)
	if m, _ := mustLoad(t, st).Member("C"); !bytes.Equal(m.RecoveryKey, keyE) || recoveryIndex(st, keyE) != actorKey("C") || Version(st) != 5 {
		t.Fatalf("C %x, version %d", m.RecoveryKey, Version(st))
	}
}

// TestSetRecoveryKeyRecheck: the action is checked again when it passes:
// it fails when another member took the key meanwhile or the member left,
// and removing a member frees its key.
func TestSetRecoveryKeyRecheck(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: Majority}))
	keyD := recoveryPub("D")
	toB := mustPropose(t, st, "A", 1, SetRecoveryKey{ID: "B", Key: common.Hash(keyD)})
	toC := mustPropose(t, st, "A", 1, SetRecoveryKey{ID: "C", Key: common.Hash(keyD)})
	mustVote(t, st, "B", 2, toB, true)
	mustVote(t, st, "C", 2, toC, true)
	p, _ := GetProposal(st, toC, 2)
	if p.State != Failed || !strings.Contains(p.Reason, `already used by member "B"`) {
		t.Fatalf("competing proposal %s: %s", p.State, p.Reason)
	}
	if m, _ := mustLoad(t, st).Member("C"); !bytes.Equal(m.RecoveryKey, recoveryPub("C")) {
		t.Fatal("failed proposal changed C's key")
	}

	setC := mustPropose(t, st, "A", 3, SetRecoveryKey{ID: "C", Key: common.Hash(recoveryPub("E"))})
	rm := mustPropose(t, st, "A", 3, RemoveMember{"C"})
	mustVote(t, st, "B", 4, rm, true)
	if recoveryIndex(st, recoveryPub("C")) != (common.Hash{}) {
		t.Fatal("removing member C left its recovery key indexed")
	}
	// setC still has A's approval alone; B's makes it pass, but C is no
	// longer a member.
	mustVote(t, st, "B", 5, setC, true)
	if p, _ := GetProposal(st, setC, 5); p.State != Failed || !strings.Contains(p.Reason, `no member "C"`) {
		t.Fatalf("set key of removed member: %s %s", p.State, p.Reason)
	}
	// C's old key is free again.
	add := mustPropose(t, st, "A", 6, AddMember{Member{ID: "D", Accounts: []common.Address{accD}, PublicKey: []byte{1}, RecoveryKey: recoveryPub("C")}})
	mustVote(t, st, "B", 7, add, true)
	if d, ok := mustLoad(t, st).Member("D"); !ok || !bytes.Equal(d.RecoveryKey, recoveryPub("C")) || recoveryIndex(st, recoveryPub("C")) != actorKey("D") {
		t.Fatalf("member D %+v", d)
	}
}
