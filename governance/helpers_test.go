package governance

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
)

// Test actors: members A (two accounts), B, C; participant P; stranger X;
// would-be members D and E.
var (
	accA  = common.HexToAddress("0xaaaa000000000000000000000000000000000001")
	accA2 = common.HexToAddress("0xaaaa000000000000000000000000000000000002")
	accB  = common.HexToAddress("0xbbbb000000000000000000000000000000000001")
	accC  = common.HexToAddress("0xcccc000000000000000000000000000000000001")
	accD  = common.HexToAddress("0xdddd000000000000000000000000000000000001")
	accE  = common.HexToAddress("0xeeee000000000000000000000000000000000001")
	accP  = common.HexToAddress("0x5555000000000000000000000000000000000001")
	accX  = common.HexToAddress("0x9999000000000000000000000000000000000001")

	code1 = common.HexToHash("0xc0de000000000000000000000000000000000000000000000000000000000001")
	code2 = common.HexToHash("0xc0de000000000000000000000000000000000000000000000000000000000002")
)

var accountOf = map[string]common.Address{"A": accA, "A2": accA2, "B": accB, "C": accC, "D": accD, "E": accE, "P": accP, "X": accX}

func nodeKeyOf(name string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("test node " + name)))
	if err != nil {
		panic(err)
	}
	return k
}

func nodePub(name string) []byte { return crypto.FromECDSAPub(&nodeKeyOf(name).PublicKey) }

func testNode(id, owner, addr string) Node {
	return Node{ID: id, Owner: owner, RaftAddr: addr, PublicKey: nodePub(id)}
}

// recoveryKeyOf is a test member's recovery key, derived from its id.
func recoveryKeyOf(id string) *recovery.PrivateKey {
	seed := append(crypto.Keccak256([]byte("test recovery key "+id)), crypto.Keccak256([]byte("more of "+id))...)
	k, err := recovery.GenerateKey(bytes.NewReader(seed))
	if err != nil {
		panic(err)
	}
	return k
}

// recoveryPub is the recovery public key of test member id.
func recoveryPub(id string) []byte { return recoveryKeyOf(id).Public() }

func member(id string, accs ...common.Address) Member {
	return Member{ID: id, Accounts: accs, PublicKey: []byte("pk-" + id), RecoveryKey: recoveryPub(id)}
}

// testGenesis is members A, B, C, participant P, nodes vn1..vn3 (one per
// member), code1, simulation, lifetime 100 blocks.
func testGenesis(p Policy) *Genesis {
	return &Genesis{
		Members:      []Member{member("A", accA, accA2), member("B", accB), member("C", accC)},
		Participants: []Participant{{ID: "P", Accounts: []common.Address{accP}}},
		Nodes: []Node{
			testNode("vn1", "A", "10.0.0.1:30400"),
			testNode("vn2", "B", "10.0.0.2:30400"),
			testNode("vn3", "C", "10.0.0.3:30400"),
		},
		CodeManifest: []common.Hash{code1},
		TEEManifest:  []string{TEESimulation},
		Policy:       &p,
		Settings:     Settings{ProposalLifetime: 100, EpochLength: 1000},
	}
}

// testRules are post-merge rules for Finalise/IntermediateRoot (EIP-158
// deletes empty accounts).
var testRules = params.Rules{IsHomestead: true, IsEIP150: true, IsEIP155: true, IsEIP158: true, IsByzantium: true,
	IsConstantinople: true, IsPetersburg: true, IsIstanbul: true, IsBerlin: true, IsLondon: true, IsMerge: true,
	IsShanghai: true, IsCancun: true, IsPrague: true}

func newState(t testing.TB) *state.StateDB {
	t.Helper()
	st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func installed(t testing.TB, g *Genesis) *state.StateDB {
	t.Helper()
	st := newState(t)
	if err := g.Install(st); err != nil {
		t.Fatalf("install: %v", err)
	}
	return st
}

func mustLoad(t testing.TB, st vm.StateDB) *Constitution {
	t.Helper()
	c, err := Load(st)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c
}

func memberIDs(c *Constitution) string {
	var ids []string
	for _, m := range c.Members {
		ids = append(ids, m.ID)
	}
	return strings.Join(ids, ",")
}

func nodeIDs(c *Constitution) string {
	var ids []string
	for _, n := range c.Nodes {
		ids = append(ids, n.ID)
	}
	return strings.Join(ids, ",")
}

func refusedWith(t testing.TB, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want refusal containing %q, got success", want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error containing %q, got %T %v", want, err, err)
	}
	if !strings.Contains(e.Reason, want) {
		t.Fatalf("refusal %q does not contain %q", e.Reason, want)
	}
}

func mustPropose(t testing.TB, st vm.StateDB, who string, block uint64, a Action) uint64 {
	t.Helper()
	id, err := Propose(st, accountOf[who], block, a)
	if err != nil {
		t.Fatalf("%s proposes %s: %v", who, a, err)
	}
	return id
}

func mustVote(t testing.TB, st vm.StateDB, who string, block, id uint64, approve bool) {
	t.Helper()
	if err := Vote(st, accountOf[who], block, id, approve); err != nil {
		t.Fatalf("%s votes %v on %d: %v", who, approve, id, err)
	}
}

func stateOf(t testing.TB, st vm.StateDB, id, block uint64) ProposalState {
	t.Helper()
	p, err := GetProposal(st, id, block)
	if err != nil || p == nil {
		t.Fatalf("proposal %d: %v %v", id, p, err)
	}
	return p.State
}

// call runs one ABI call through Contract.Run.
func call(t testing.TB, c *Contract, ctx CallContext, method string, args ...any) ([]any, []byte, uint64, error) {
	t.Helper()
	m, ok := c.ABI().Methods[method]
	if !ok {
		t.Fatalf("no method %s", method)
	}
	in, err := m.Inputs.Pack(args...)
	if err != nil {
		t.Fatalf("pack %s: %v", method, err)
	}
	ret, gas, err := c.Run(ctx, append(append([]byte{}, m.ID...), in...))
	if err != nil {
		return nil, ret, gas, err
	}
	out, err := m.Outputs.Unpack(ret)
	if err != nil {
		t.Fatalf("unpack %s: %v", method, err)
	}
	return out, ret, gas, nil
}

func revertReason(t testing.TB, ret []byte) string {
	t.Helper()
	r, err := abi.UnpackRevert(ret)
	if err != nil {
		t.Fatalf("revert data %x: %v", ret, err)
	}
	return r
}

func bigID(id uint64) *big.Int { return new(big.Int).SetUint64(id) }

// changeEvents renders the events of the changes among st's logs from
// index from on (every event but the Proposal… ones), as `Name(arg, …)`
// joined by "; ", the arguments in the event's order: strings quoted,
// bytes and hashes in 0x hex. Every log must be of block.
func changeEvents(t testing.TB, st *state.StateDB, from int, block uint64) string {
	t.Helper()
	a := ABI()
	var out []string
	for _, l := range st.Logs()[from:] {
		ev, err := a.EventByID(l.Topics[0])
		if err != nil {
			t.Fatal(err)
		}
		if l.Address != Address || l.BlockNumber != block {
			t.Fatalf("%s log %+v, want one of %s in block %d", ev.Name, l, Address, block)
		}
		if strings.HasPrefix(ev.Name, "Proposal") {
			continue
		}
		vals := map[string]any{}
		if err := ev.Inputs.UnpackIntoMap(vals, l.Data); err != nil {
			t.Fatal(err)
		}
		var indexed abi.Arguments
		for _, in := range ev.Inputs {
			if in.Indexed {
				indexed = append(indexed, in)
			}
		}
		if err := abi.ParseTopicsIntoMap(vals, indexed, l.Topics[1:]); err != nil {
			t.Fatal(err)
		}
		var args []string
		for _, in := range ev.Inputs {
			switch v := vals[in.Name].(type) {
			case string:
				args = append(args, fmt.Sprintf("%q", v))
			case []byte:
				args = append(args, fmt.Sprintf("%#x", v))
			case [32]byte:
				args = append(args, common.Hash(v).Hex())
			case common.Hash:
				args = append(args, v.Hex())
			default:
				args = append(args, fmt.Sprint(v))
			}
		}
		out = append(out, ev.Name+"("+strings.Join(args, ", ")+")")
	}
	return strings.Join(out, "; ")
}
