package governance

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Recovery keys of 32 bytes that recovery.ParsePublicKey refuses: the
// identity point (0, 1), and y = 2^255-1 ≥ p (not canonical).
var (
	identityKey     = append([]byte{1}, make([]byte, 31)...)
	nonCanonicalKey = append(bytes.Repeat([]byte{0xff}, 31), 0x7f)
)

func TestParseGenesis(t *testing.T) {
	pub := hexutil.Encode(nodePub("vn1"))
	js := fmt.Sprintf(`{
	  "members": [
	    {"id": "B", "accounts": ["%s"], "publicKey": "0x0b"},
	    {"id": "A", "accounts": ["%s", "%s"], "publicKey": "0x0a", "recoveryKey": "%s"}
	  ],
	  "participants": [{"id": "P", "accounts": ["%s"]}],
	  "nodes": [{"id": "vn1", "owner": "A", "raftAddr": "10.0.0.1:30400", "publicKey": "%s", "codeId": "%s"}],
	  "codeManifest": ["%s"],
	  "teeManifest": ["simulation"],
	  "policy": {"kind": "m-of-n", "m": 2},
	  "settings": {"openSending": true}
	}`, accB.Hex(), accA.Hex(), accA2.Hex(), hexutil.Encode(recoveryPub("A")), accP.Hex(), pub, code1.Hex(), code1.Hex())
	g, err := ParseGenesis([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Constitution()
	if err != nil {
		t.Fatal(err)
	}
	if memberIDs(c) != "A,B" || c.Policy != (Policy{Kind: MOfN, M: 2}) || c.Version != 1 ||
		c.Settings != (Settings{ProposalLifetime: DefaultProposalLifetime, EpochLength: DefaultEpochLength, OpenSending: true}) ||
		!bytes.Equal(c.Members[0].RecoveryKey, recoveryPub("A")) || c.Members[1].RecoveryKey != nil || c.Nodes[0].CodeID != code1 {
		t.Fatalf("constitution %s", c)
	}
	st := installed(t, g)
	if got := mustLoad(t, st); !reflect.DeepEqual(got, c) {
		t.Fatalf("loaded %s\nwant %s", got, c)
	}
	// JSON of a Constitution reads back as a genesis.
	b, _ := json.Marshal(c)
	var back map[string]json.RawMessage
	json.Unmarshal(b, &back)
	delete(back, "version")
	b, _ = json.Marshal(back)
	g2, err := ParseGenesis(b)
	if err != nil {
		t.Fatal(err)
	}
	if c2, _ := g2.Constitution(); !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip %s", c2)
	}
	if _, err := ParseGenesis([]byte(`{"members": [], "bogus": 1}`)); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := ParseGenesis([]byte(`{"policy": {"kind": "most"}}`)); err == nil || !strings.Contains(err.Error(), "unknown policy kind") {
		t.Fatalf("bad policy: %v", err)
	}
}

func TestGenesisValidate(t *testing.T) {
	cases := []struct {
		edit func(g *Genesis)
		want string
	}{
		{func(g *Genesis) { g.Members = nil }, "at least one member"},
		{func(g *Genesis) { g.Members[1].ID = "A" }, `members[1]: id "A" is already used by members[0]`},
		{func(g *Genesis) { g.Participants[0].ID = "C" }, `participants[0]: id "C" is already used by members[2]`},
		{func(g *Genesis) { g.Members[1].Accounts = []common.Address{accA2} }, `members[1] ("B"): account ` + accA2.Hex() + ` already belongs to members[0] ("A")`},
		{func(g *Genesis) { g.Participants[0].Accounts = []common.Address{accC} }, `already belongs to members[2] ("C")`},
		{func(g *Genesis) { g.Members[0].PublicKey = nil }, `members[0]: member "A": public key is empty`},
		{func(g *Genesis) { g.Members[0].Accounts = nil }, "at least one account"},
		{func(g *Genesis) { g.Members[2].ID = "" }, "members[2]: member id is empty"},
		{func(g *Genesis) { g.Nodes[1].Owner = "Z" }, `nodes[1] ("vn2"): owner "Z" is not a member or participant`},
		{func(g *Genesis) { g.Nodes[1].ID = "vn1" }, `nodes[1]: node id "vn1" is listed twice`},
		{func(g *Genesis) { g.Nodes[1].PublicKey = g.Nodes[0].PublicKey }, `nodes[1] ("vn2"): public key already used by node "vn1"`},
		{func(g *Genesis) { g.Nodes[1].RaftAddr = g.Nodes[0].RaftAddr }, "raft address 10.0.0.1:30400 already used"},
		{func(g *Genesis) { g.Nodes[1].RaftAddr = "10.0.0.2" }, "want host:port"},
		{func(g *Genesis) { g.Nodes[1].PublicKey = []byte{1} }, "65 bytes"},
		{func(g *Genesis) { g.Nodes[1].CodeID = code2 }, "not in the code manifest"},
		{func(g *Genesis) { g.CodeManifest = append(g.CodeManifest, code1) }, "listed twice"},
		{func(g *Genesis) { g.CodeManifest = []common.Hash{{}} }, "zero code identity"},
		{func(g *Genesis) { g.TEEManifest = nil }, "teeManifest must list"},
		{func(g *Genesis) { g.TEEManifest = []string{"tdx"} }, `teeManifest[0]: unknown TEE kind "tdx"`},
		{func(g *Genesis) { g.Policy = nil }, "policy is required"},
		{func(g *Genesis) { g.Policy = &Policy{Kind: MOfN, M: 4} }, "policy: policy 4-of-n cannot be satisfied by 3 member(s)"},
		{func(g *Genesis) { g.Policy = &Policy{Kind: MOfN} }, "M >= 1"},
		{func(g *Genesis) { g.Policy = &Policy{Kind: OneOfN, M: 1} }, "takes no M"},
		{func(g *Genesis) { g.Settings.ProposalLifetime = MaxProposalLifetime + 1 }, "proposal lifetime must be"},
		{func(g *Genesis) { g.Members[1].RecoveryKey = []byte{0xaa} }, `members[1]: member "B": recovery key must be 32 bytes`},
		{func(g *Genesis) { g.Members[1].RecoveryKey = identityKey }, `members[1]: member "B": invalid recovery key`},
		{func(g *Genesis) { g.Members[1].RecoveryKey = nonCanonicalKey }, `members[1]: member "B": invalid recovery key`},
		{func(g *Genesis) { g.Members[2].RecoveryKey = recoveryPub("A") }, `members[2] ("C"): recovery key 0x` + hex.EncodeToString(recoveryPub("A")) + ` is already used by members[0] ("A")`},
		{func(g *Genesis) { g.Settings.RecoveryThreshold = 4 }, "settings: recovery threshold 4 cannot be reached: only 3 member(s) have a recovery key"},
		{func(g *Genesis) { g.Members[1].RecoveryKey = nil; g.Settings.RecoveryThreshold = 3 }, "settings: recovery threshold 3 cannot be reached: only 2 member(s) have a recovery key"},
	}
	for _, tc := range cases {
		g := testGenesis(Policy{Kind: Majority})
		tc.edit(g)
		err := g.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "constitution: ") {
			t.Errorf("want error containing %q, got %v", tc.want, err)
		}
		if err := g.Install(newState(t)); err == nil {
			t.Errorf("installed an invalid genesis (%s)", tc.want)
		}
	}
	// Compressed and 64-byte node keys are normalised.
	g := testGenesis(Policy{Kind: Majority})
	g.Nodes[0].PublicKey = crypto.CompressPubkey(&nodeKeyOf("vn1").PublicKey)
	g.Nodes[1].PublicKey = nodePub("vn2")[1:]
	c, err := g.Constitution()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual([]byte(c.Nodes[0].PublicKey), nodePub("vn1")) || !reflect.DeepEqual([]byte(c.Nodes[1].PublicKey), nodePub("vn2")) {
		t.Fatal("node keys not normalised")
	}
}

// TestInstall: the constitution survives the end of the transaction
// (EIP-161 would delete an empty account with its storage), a commit, and
// reading back from the database; one-slot reads agree with Load.
func TestInstall(t *testing.T) {
	db := state.NewDatabaseForTesting()
	st, _ := state.New(types.EmptyRootHash, db)
	g := testGenesis(Policy{Kind: Majority})
	if err := g.Install(st); err != nil {
		t.Fatal(err)
	}
	if err := g.Install(st); err == nil || !strings.Contains(err.Error(), "already installed") {
		t.Fatalf("second install: %v", err)
	}
	if st.GetNonce(Address) != 1 || string(st.GetCode(Address)) != string(StubCode) {
		t.Fatal("account not set up")
	}
	want, _ := g.Constitution()
	st.Finalise(testRules)
	root, err := st.Commit(testRules, 0)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := state.New(root, db)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, st2); !reflect.DeepEqual(got, want) {
		t.Fatalf("reloaded %s\nwant %s", got, want)
	}
	for name, acc := range accountOf {
		kind, id, err := ActorOf(st2, acc)
		if err != nil {
			t.Fatal(err)
		}
		wk, wid := want.ActorOf(acc)
		if kind != wk || id != wid {
			t.Errorf("%s: ActorOf %v %q, want %v %q", name, kind, id, wk, wid)
		}
		if IsActor(st2, acc) != (wk != NoActor) || IsMember(st2, acc) != (wk == KindMember) {
			t.Errorf("%s: IsActor/IsMember disagree with Load", name)
		}
		if MaySend(st2, acc) != (wk != NoActor) {
			t.Errorf("%s: MaySend", name)
		}
	}
	if n, _ := NodeByKey(st2, crypto.CompressPubkey(&nodeKeyOf("vn2").PublicKey)); n == nil || n.ID != "vn2" {
		t.Fatalf("NodeByKey: %v", n)
	}
	if n, _ := NodeByKey(st2, nodePub("vn9")); n != nil {
		t.Fatal("NodeByKey found an unknown key")
	}
	if _, err := Load(newState(t)); err != ErrNotInstalled {
		t.Fatalf("empty state: %v", err)
	}
	if Version(newState(t)) != 0 || IsActor(newState(t), accA) {
		t.Fatal("empty state reads")
	}
}

// recording is a StateDB that remembers every storage slot written.
type recording struct {
	*state.StateDB
	written map[common.Hash]bool
}

func (r *recording) SetState(a common.Address, k, v common.Hash) common.Hash {
	r.written[k] = true
	return r.StateDB.SetState(a, k, v)
}

// TestStorageIsCompact: removing what was added leaves no garbage: every
// slot written after genesis is back to its genesis value, except the
// version, the next proposal id and the proposals.
func TestStorageIsCompact(t *testing.T) {
	gen := newState(t)
	if err := testGenesis(Policy{Kind: OneOfN}).Install(gen); err != nil {
		t.Fatal(err)
	}
	st := &recording{StateDB: gen.Copy(), written: map[common.Hash]bool{}}
	mustPropose(t, st, "A", 1, AddMember{member("D", accD, accE)})
	mustPropose(t, st, "A", 1, AddNode{testNode("vn4", "D", "h:4")})
	mustPropose(t, st, "A", 1, AddCode{code2})
	mustPropose(t, st, "B", 1, AddParticipant{Participant{ID: "Q", Accounts: []common.Address{accX}}})
	mustPropose(t, st, "B", 1, RemoveCode{code2})
	mustPropose(t, st, "C", 1, RemoveMember{"D"})
	mustPropose(t, st, "C", 1, RemoveParticipant{"Q"})
	mustPropose(t, st, "A", 1, SetRecoveryKey{ID: "B", Key: common.Hash(recoveryPub("E"))})
	mustPropose(t, st, "A", 1, SetRecoveryKey{ID: "C"})
	mustPropose(t, st, "A", 1, SetRecoveryKey{ID: "B", Key: common.Hash(recoveryPub("B"))})
	mustPropose(t, st, "A", 1, SetRecoveryKey{ID: "C", Key: common.Hash(recoveryPub("C"))})
	mustPropose(t, st, "A", 1, SetRecoveryThreshold{M: 3})
	mustPropose(t, st, "A", 1, SetRecoveryThreshold{M: 0})
	if c := mustLoad(t, st); !reflect.DeepEqual(c.Members, mustLoad(t, gen).Members) || nodeIDs(c) != "vn1,vn2,vn3" {
		t.Fatalf("constitution %s", c)
	}
	allowed := map[common.Hash]bool{slotVersion: true, slotNextProposal: true}
	for i := uint64(0); i < 64; i++ {
		for id := uint64(1); id <= 13; id++ {
			allowed[offset(proposalSlot(id), i)] = true
		}
	}
	for k := range st.written {
		if allowed[k] {
			continue
		}
		if got, want := st.GetState(Address, k), gen.GetState(Address, k); got != want {
			t.Errorf("slot %s is %s, was %s at genesis", k.Hex(), got.Hex(), want.Hex())
		}
	}
	if len(st.written) < 20 {
		t.Fatalf("only %d slots written", len(st.written))
	}
}
