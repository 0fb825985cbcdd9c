package governance

import (
	"errors"
	"math/big"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"
)

// TestEveryABIFunctionImplemented: the handlers and abi.json name the same
// functions, and every propose function maps to an action kind.
func TestEveryABIFunctionImplemented(t *testing.T) {
	c := NewContract()
	for name := range c.ABI().Methods {
		if _, ok := c.handlers[name]; !ok {
			t.Errorf("ABI function %s has no handler", name)
		}
	}
	for name := range c.handlers {
		if _, ok := c.ABI().Methods[name]; !ok {
			t.Errorf("handler %s is not in abi.json", name)
		}
	}
	for k := ActionKind(0); k < numActions; k++ {
		m, ok := c.ABI().Methods[k.Method()]
		if !ok {
			t.Fatalf("no ABI function for %s", k)
		}
		if !strings.HasPrefix(m.Name, "propose") || len(m.Outputs) != 1 || m.Outputs[0].Type.String() != "uint256" {
			t.Errorf("%s: unexpected signature %s", k, m.Sig)
		}
	}
	var proposes int
	for name := range c.ABI().Methods {
		if strings.HasPrefix(name, "propose") {
			proposes++
		}
	}
	if proposes != int(numActions) {
		t.Errorf("%d propose functions in the ABI, %d action kinds", proposes, numActions)
	}
}

// TestSolidityMatchesABI: the functions and events declared in
// IGovernance.sol are exactly those of abi.json (regenerate abi.json with
// `node governance/abigen.mjs` after changing the interface).
func TestSolidityMatchesABI(t *testing.T) {
	src, err := os.ReadFile("IGovernance.sol")
	if err != nil {
		t.Fatal(err)
	}
	enums := map[string]bool{}
	for _, m := range regexp.MustCompile(`enum\s+(\w+)`).FindAllStringSubmatch(string(src), -1) {
		enums[m[1]] = true
	}
	norm := func(params string) string {
		var types []string
		for _, p := range strings.Split(params, ",") {
			f := strings.Fields(strings.TrimSpace(p))
			if len(f) == 0 {
				continue
			}
			ty := f[0]
			if enums[ty] {
				ty = "uint8"
			}
			types = append(types, ty)
		}
		return strings.Join(types, ",")
	}
	var sol []string
	for _, m := range regexp.MustCompile(`(?s)\b(function|event)\s+(\w+)\s*\(([^)]*)\)`).FindAllStringSubmatch(string(src), -1) {
		sol = append(sol, m[1]+" "+m[2]+"("+norm(m[3])+")")
	}
	var fromABI []string
	a := ABI()
	for _, m := range a.Methods {
		fromABI = append(fromABI, "function "+m.Sig)
	}
	for _, e := range a.Events {
		fromABI = append(fromABI, "event "+e.Sig)
	}
	sort.Strings(sol)
	sort.Strings(fromABI)
	if !reflect.DeepEqual(sol, fromABI) {
		t.Fatalf("IGovernance.sol and abi.json differ:\nsol: %v\nabi: %v", sol, fromABI)
	}
}

var code77 = common.HexToHash("0x77")

// genesisFor is testGenesis with code77 in the code manifest and, for
// RemoveTEE, a second TEE kind: every action of allActions applies to it.
func genesisFor(a Action, p Policy) *Genesis {
	g := testGenesis(p)
	g.CodeManifest = []common.Hash{code1, code77}
	if a.Kind() == ActRemoveTEE {
		g.TEEManifest = []string{TEESimulation, TEESGX}
	}
	return g
}

// allActions is one valid action of each kind for testGenesis.
func allActions() []Action {
	return []Action{
		AddMember{member("D", accD, accE)},
		RemoveMember{"C"},
		AddParticipant{Participant{ID: "Q", Accounts: []common.Address{accE}}},
		RemoveParticipant{"P"},
		AddNode{Node{ID: "vn4", Owner: "P", RaftAddr: "[::1]:30404", PublicKey: nodePub("vn4"), CodeID: code77}},
		RemoveNode{"vn2"},
		SetPolicy{Policy{Kind: MOfN, M: 3}},
		AddCode{code2},
		RemoveCode{code1},
		AddTEE{TEESGX},
		RemoveTEE{TEESimulation},
		SetSettings{Settings{ProposalLifetime: 5, EpochLength: 6, OpenSending: true}},
		SetRecoveryKey{ID: "B", Key: common.Hash(recoveryPub("D"))},
		SetRecoveryThreshold{M: 2},
	}
}

// TestABIRoundTrip: each action goes through its propose function and
// comes back from proposal() with the same arguments.
func TestABIRoundTrip(t *testing.T) {
	acts := allActions()
	if len(acts) != int(numActions) {
		t.Fatalf("allActions covers %d of %d kinds", len(acts), numActions)
	}
	c := NewContract()
	for _, a := range acts {
		t.Run(a.Kind().String(), func(t *testing.T) {
			enc, err := EncodeArgs(a)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := DecodeArgs(a.Kind(), enc)
			if err != nil || !reflect.DeepEqual(dec, a) {
				t.Fatalf("decode: %#v %v, want %#v", dec, err, a)
			}
			st := installed(t, genesisFor(a, Policy{Kind: Unanimous}))
			ctx := CallContext{State: st, Caller: accA, BlockNumber: 3}
			out, ret, _, err := call(t, c, ctx, a.Kind().Method(), a.abiArgs()...)
			if err != nil {
				t.Fatalf("%s: %v %s", a.Kind().Method(), err, revertReason(t, ret))
			}
			if id := out[0].(*big.Int); id.Uint64() != 1 {
				t.Fatalf("id %v", id)
			}
			out, _, _, err = call(t, c, CallContext{State: st, BlockNumber: 3, ReadOnly: true}, "proposal", bigID(1))
			if err != nil {
				t.Fatal(err)
			}
			var p abiProposal
			p = *abi.ConvertType(out[0], new(abiProposal)).(*abiProposal)
			if p.ID.Uint64() != 1 || p.Proposer != "A" || ActionKind(p.Action) != a.Kind() || p.Description != a.String() ||
				p.CreatedAt != 3 || p.ExpiresAt != 103 || ProposalState(p.State) != Open || len(p.Ballots) != 1 ||
				p.Ballots[0] != (abiBallot{Member: "A", Approve: true, BlockNumber: 3}) {
				t.Fatalf("proposal view %+v", p)
			}
			back, err := DecodeArgs(ActionKind(p.Action), p.Args)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := a.normalise()
			if !reflect.DeepEqual(back, want) {
				t.Fatalf("args %#v, want %#v", back, want)
			}
		})
	}
}

// TestViews: the views return what Load does.
func TestViews(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: MOfN, M: 2}))
	c := NewContract()
	ctx := CallContext{State: st, BlockNumber: 1, ReadOnly: true}
	want := mustLoad(t, st)
	view := func(method string, args ...any) []any {
		out, ret, _, err := call(t, c, ctx, method, args...)
		if err != nil {
			t.Fatalf("%s: %v %x", method, err, ret)
		}
		return out
	}
	var ms []abiMember
	ms = *abi.ConvertType(view("members")[0], &ms).(*[]abiMember)
	if len(ms) != 3 || ms[0].ID != "A" || !reflect.DeepEqual(ms[0].Accounts, []common.Address{accA, accA2}) ||
		string(ms[1].PublicKey) != "pk-B" || !slices.Equal(ms[2].RecoveryKey, recoveryPub("C")) {
		t.Fatalf("members %+v", ms)
	}
	var ps []abiParticipant
	ps = *abi.ConvertType(view("participants")[0], &ps).(*[]abiParticipant)
	if len(ps) != 1 || ps[0].ID != "P" || ps[0].Accounts[0] != accP {
		t.Fatalf("participants %+v", ps)
	}
	var ns []abiNode
	ns = *abi.ConvertType(view("nodes")[0], &ns).(*[]abiNode)
	if len(ns) != 3 || ns[2].ID != "vn3" || ns[2].Owner != "C" || ns[2].RaftAddr != "10.0.0.3:30400" || !slices.Equal(ns[2].PublicKey, want.Nodes[2].PublicKey) {
		t.Fatalf("nodes %+v", ns)
	}
	if got := view("codeManifest")[0].([][32]byte); len(got) != 1 || got[0] != code1 {
		t.Fatalf("code %v", got)
	}
	if got := view("teeManifest")[0].([]string); !reflect.DeepEqual(got, []string{"simulation"}) {
		t.Fatalf("tee %v", got)
	}
	if got := view("policy"); got[0].(uint8) != uint8(MOfN) || got[1].(uint64) != 2 {
		t.Fatalf("policy %v", got)
	}
	if got := view("settings"); got[0].(uint64) != 100 || got[1].(uint64) != 1000 || got[2].(bool) {
		t.Fatalf("settings %v", got)
	}
	if !view("isActor", accP)[0].(bool) || view("isActor", accX)[0].(bool) {
		t.Fatal("isActor")
	}
	if !view("isMember", accA2)[0].(bool) || view("isMember", accP)[0].(bool) {
		t.Fatal("isMember")
	}
	if got := view("actorOf", accA2); got[0].(uint8) != uint8(KindMember) || got[1].(string) != "A" {
		t.Fatalf("actorOf A2 %v", got)
	}
	if got := view("actorOf", accP); got[0].(uint8) != uint8(KindParticipant) || got[1].(string) != "P" {
		t.Fatalf("actorOf P %v", got)
	}
	if got := view("actorOf", accX); got[0].(uint8) != uint8(NoActor) || got[1].(string) != "" {
		t.Fatalf("actorOf X %v", got)
	}
	if got := view("version")[0].(uint64); got != 1 {
		t.Fatalf("version %d", got)
	}
	if got := view("openProposals")[0]; reflect.ValueOf(got).Len() != 0 {
		t.Fatalf("open %v", got)
	}
	mustPropose(t, st, "B", 1, AddCode{code2})
	var open []abiProposal
	open = *abi.ConvertType(view("openProposals")[0], &open).(*[]abiProposal)
	if len(open) != 1 || open[0].Proposer != "B" {
		t.Fatalf("open %+v", open)
	}
	_, ret, _, err := call(t, c, ctx, "proposal", bigID(2))
	if !errors.Is(err, vm.ErrExecutionReverted) || revertReason(t, ret) != "no proposal 2" {
		t.Fatalf("missing proposal: %v", err)
	}
}

// TestReverts: refusals revert with Error(string) and leave no trace.
func TestReverts(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: Majority}))
	c := NewContract()
	before := mustLoad(t, st)
	check := func(name string, ret []byte, gas uint64, err error, want string) {
		t.Helper()
		if !errors.Is(err, vm.ErrExecutionReverted) {
			t.Fatalf("%s: err %v, want revert", name, err)
		}
		if r := revertReason(t, ret); !strings.Contains(r, want) {
			t.Fatalf("%s: reason %q, want %q", name, r, want)
		}
		if gas < GasBase {
			t.Fatalf("%s: gas %d", name, gas)
		}
	}
	_, ret, gas, err := call(t, c, CallContext{State: st, Caller: accP, BlockNumber: 1}, "proposeAddCode", [32]byte(code2))
	check("participant", ret, gas, err, `only members may propose: `+accP.Hex()+` belongs to participant "P"`)
	ret, gas, err = c.Run(CallContext{State: st, Caller: accA}, []byte{1, 2})
	check("short", ret, gas, err, "too short")
	ret, gas, err = c.Run(CallContext{State: st, Caller: accA}, []byte{1, 2, 3, 4})
	check("selector", ret, gas, err, "unknown function selector 0x01020304")
	m := c.ABI().Methods["vote"]
	ret, gas, err = c.Run(CallContext{State: st, Caller: accA}, append(append([]byte{}, m.ID...), 1, 2, 3))
	check("args", ret, gas, err, "invalid arguments for vote(uint256,bool)")
	_, ret, gas, err = call(t, c, CallContext{State: st, Caller: accA, Value: uint256.NewInt(1)}, "proposeAddCode", [32]byte(code2))
	check("value", ret, gas, err, "not payable")
	_, ret, gas, err = call(t, c, CallContext{State: st, Caller: accA}, "vote", new(big.Int).Lsh(big.NewInt(1), 70), true)
	check("huge id", ret, gas, err, "no proposal 1180591620717411303424")
	_, ret, gas, err = call(t, c, CallContext{State: newState(t), Caller: accA}, "proposeAddCode", [32]byte(code2))
	check("not installed", ret, gas, err, "no constitution installed")
	if len(st.Logs()) != 0 || !reflect.DeepEqual(mustLoad(t, st), before) {
		t.Fatal("reverted calls left changes")
	}
	// A refusal after the call wrote (here the sweep of an expired
	// proposal) reverts everything the call did.
	old := mustPropose(t, st, "B", 1, AddTEE{TEESGX})
	id := mustPropose(t, st, "A", 50, AddCode{code2})
	logs := len(st.Logs())
	_, ret, gas, err = call(t, c, CallContext{State: st, Caller: accA2, BlockNumber: 120}, "vote", bigID(id), true)
	check("double vote", ret, gas, err, `member "A" already voted for proposal 2`)
	if len(st.Logs()) != logs {
		t.Fatal("refused vote left logs")
	}
	if p, _ := GetProposal(st, old, 0); p.State != Open {
		t.Fatal("refused vote left the sweep of an expired proposal")
	}
}

// TestReadOnly: writes revert in a read-only call, views run.
func TestReadOnly(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: OneOfN}))
	c := NewContract()
	ro := CallContext{State: st, Caller: accA, BlockNumber: 1, ReadOnly: true}
	for _, a := range allActions() {
		_, ret, _, err := call(t, c, ro, a.Kind().Method(), a.abiArgs()...)
		if !errors.Is(err, vm.ErrExecutionReverted) || !strings.Contains(revertReason(t, ret), "cannot run in a read-only call") {
			t.Fatalf("%s in read-only call: %v", a.Kind().Method(), err)
		}
	}
	for _, w := range []struct {
		m    string
		args []any
	}{{"vote", []any{bigID(1), true}}, {"withdraw", []any{bigID(1)}}, {"expire", nil}} {
		if _, _, _, err := call(t, c, ro, w.m, w.args...); !errors.Is(err, vm.ErrExecutionReverted) {
			t.Fatalf("%s in read-only call: %v", w.m, err)
		}
	}
	if Version(st) != 1 || len(st.Logs()) != 0 {
		t.Fatal("read-only call wrote")
	}
	if out, _, _, err := call(t, c, ro, "version"); err != nil || out[0].(uint64) != 1 {
		t.Fatalf("view in read-only call: %v", err)
	}
	// The same write without ReadOnly passes (one-of-n).
	if _, _, _, err := call(t, c, CallContext{State: st, Caller: accA, BlockNumber: 1}, "proposeAddCode", [32]byte(code2)); err != nil || Version(st) != 2 {
		t.Fatalf("write: %v", err)
	}
}

// TestGas: views are cheap, writes pay for their storage, and a call with
// too little gas is undone.
func TestGas(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: Majority}))
	c := NewContract()
	_, _, viewGas, err := call(t, c, CallContext{State: st, ReadOnly: true}, "isMember", accA)
	if err != nil || viewGas != GasBase+GasRead {
		t.Fatalf("isMember gas %d (%v), want %d", viewGas, err, GasBase+GasRead)
	}
	_, _, proposeGas, err := call(t, c, CallContext{State: st, Caller: accA, BlockNumber: 1}, "proposeAddCode", [32]byte(code2))
	if err != nil {
		t.Fatal(err)
	}
	// New proposal blob (several new slots), open set, counters, two logs.
	if proposeGas < 5*GasWriteNew || proposeGas > 400_000 {
		t.Fatalf("propose gas %d", proposeGas)
	}
	_, _, voteGas, err := call(t, c, CallContext{State: st, Caller: accB, BlockNumber: 2}, "vote", bigID(1), true)
	if err != nil {
		t.Fatal(err)
	}
	if voteGas < GasWriteNew || voteGas > proposeGas+200_000 {
		t.Fatalf("vote gas %d", voteGas)
	}
	st2 := installed(t, testGenesis(Policy{Kind: Unanimous}))
	_, _, _, _ = call(t, c, CallContext{State: st2, Caller: accA, BlockNumber: 1}, "proposeAddCode", [32]byte(code2))
	_, _, ballotGas, err := call(t, c, CallContext{State: st2, Caller: accB, BlockNumber: 2}, "vote", bigID(1), true)
	if err != nil || ballotGas > voteGas {
		t.Fatalf("ballot gas %d (%v)", ballotGas, err)
	}
	_, _, membersGas, _ := call(t, c, CallContext{State: st2, ReadOnly: true}, "members")
	t.Logf("gas: isMember %d, members %d, proposeAddCode %d, ballot %d, deciding ballot %d", viewGas, membersGas, proposeGas, ballotGas, voteGas)

	// Same proposal again with too little gas: out of gas, nothing kept.
	v, logs := Version(st), len(st.Logs())
	ret, gas, err := c.Run(CallContext{State: st, Caller: accA, BlockNumber: 3, Gas: 30_000},
		append(append([]byte{}, c.ABI().Methods["proposeAddTEE"].ID...), mustPack(t, "proposeAddTEE", "sgx")...))
	if !errors.Is(err, vm.ErrOutOfGas) || gas != 30_000 || ret != nil {
		t.Fatalf("out of gas: %v gas %d", err, gas)
	}
	if Version(st) != v || len(st.Logs()) != logs {
		t.Fatal("out-of-gas call left changes")
	}
	if open, _ := OpenProposals(st, 3); len(open) != 0 {
		t.Fatal("out-of-gas proposal kept")
	}
}

func mustPack(t *testing.T, method string, args ...any) []byte {
	t.Helper()
	b, err := ABI().Methods[method].Inputs.Pack(args...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEvents: a proposal that passes at once emits, in order, its
// creation, the proposer's ballot, its resolution, the change's event and
// ConstitutionChanged, all from Address.
func TestEvents(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: OneOfN}))
	c := NewContract()
	node := Node{ID: "vn4", Owner: "B", RaftAddr: "10.0.0.4:30400", PublicKey: nodePub("vn4")}
	if _, ret, _, err := call(t, c, CallContext{State: st, Caller: accB, BlockNumber: 7}, "proposeAddNode", AddNode{node}.abiArgs()...); err != nil {
		t.Fatalf("%v %x", err, ret)
	}
	logs := st.Logs()
	a := ABI()
	var names []string
	for _, l := range logs {
		if l.Address != Address || l.BlockNumber != 7 {
			t.Fatalf("log %+v", l)
		}
		ev, err := a.EventByID(l.Topics[0])
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, ev.Name)
	}
	want := []string{"ProposalCreated", "ProposalVoted", "ProposalResolved", "NodeAdded", "ConstitutionChanged"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("events %v, want %v", names, want)
	}
	unpack := func(l *types.Log, name string) map[string]any {
		out := map[string]any{}
		ev := a.Events[name]
		if err := ev.Inputs.UnpackIntoMap(out, l.Data); err != nil {
			t.Fatal(err)
		}
		var indexed abi.Arguments
		for _, in := range ev.Inputs {
			if in.Indexed {
				indexed = append(indexed, in)
			}
		}
		if err := abi.ParseTopicsIntoMap(out, indexed, l.Topics[1:]); err != nil {
			t.Fatal(err)
		}
		return out
	}
	created := unpack(logs[0], "ProposalCreated")
	if created["id"].(*big.Int).Uint64() != 1 || created["proposer"] != "B" || created["action"] != uint8(ActAddNode) ||
		created["description"] != `add node "vn4" at 10.0.0.4:30400 owned by "B"` {
		t.Fatalf("ProposalCreated %v", created)
	}
	if v := unpack(logs[1], "ProposalVoted"); v["member"] != "B" || v["approve"] != true {
		t.Fatalf("ProposalVoted %v", v)
	}
	if r := unpack(logs[2], "ProposalResolved"); r["state"] != uint8(Passed) || !strings.Contains(r["reason"].(string), "approved by 1 of 3") {
		t.Fatalf("ProposalResolved %v", r)
	}
	if n := unpack(logs[3], "NodeAdded"); n["id"] != "vn4" || n["raftAddr"] != "10.0.0.4:30400" || !slices.Equal(n["publicKey"].([]byte), node.PublicKey) {
		t.Fatalf("NodeAdded %v", n)
	}
	if cc := unpack(logs[4], "ConstitutionChanged"); cc["version"] != uint64(2) || cc["proposalId"].(*big.Int).Uint64() != 1 {
		t.Fatalf("ConstitutionChanged %v", cc)
	}
	// Every event of the ABI is emitted by some action.
	seen := map[string]bool{}
	for _, act := range allActions() {
		st := installed(t, genesisFor(act, Policy{Kind: OneOfN}))
		mustPropose(t, st, "A", 1, act)
		for _, l := range st.Logs() {
			ev, _ := a.EventByID(l.Topics[0])
			seen[ev.Name] = true
		}
	}
	for name := range a.Events {
		if !seen[name] {
			t.Errorf("event %s never emitted", name)
		}
	}
}
