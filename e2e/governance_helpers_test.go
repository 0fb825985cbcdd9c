package e2e

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
)

// Helpers of the governance tests: calls and transactions to the
// governance precompile through go-ethereum's ethclient and the published
// ABI (governance.ABI(), parsed from governance/abi.json).

var govABI = governance.ABI()

// Enum values of IGovernance.sol.
const (
	govPolicyUnanimous uint8 = 0
	govPolicyMOfN      uint8 = 1

	govActAddMember      uint8 = 0
	govActRemoveMember   uint8 = 1
	govActAddParticipant uint8 = 2
	govActAddNode        uint8 = 4
	govActRemoveNode     uint8 = 5
	govActSetPolicy      uint8 = 6
	govActAddTEE         uint8 = 9

	govOpen   uint8 = 0
	govPassed uint8 = 1
)

var govStateNames = []string{"Open", "Passed", "Rejected", "Expired", "Withdrawn", "Failed"}

func govStateName(s uint8) string {
	if int(s) < len(govStateNames) {
		return govStateNames[s]
	}
	return fmt.Sprintf("state(%d)", s)
}

// govGas is the gas limit of governance transactions expected to revert
// (eth_estimateGas refuses them); generous for a deciding ballot.
const govGas = 1_000_000

// Go shapes of the ABI tuples (field names as go-ethereum's abi derives
// them), for abi.ConvertType.
type govMember struct {
	Id          string
	Accounts    []common.Address
	PublicKey   []byte
	RecoveryKey []byte
}

type govNode struct {
	Id        string
	Owner     string
	RaftAddr  string
	PublicKey []byte
	CodeId    [32]byte
}

type govBallot struct {
	Member      string
	Approve     bool
	BlockNumber uint64
}

type govProposal struct {
	Id          *big.Int
	Proposer    string
	Action      uint8
	Args        []byte
	Description string
	CreatedAt   uint64
	ExpiresAt   uint64
	State       uint8
	Reason      string
	Ballots     []govBallot
}

// govPack packs a call of the governance contract.
func govPack(t *testing.T, method string, args ...any) []byte {
	t.Helper()
	data, err := govABI.Pack(method, args...)
	if err != nil {
		t.Fatalf("pack %s: %v", method, err)
	}
	return data
}

// govView calls a view of the governance contract at the latest block.
func govView(t *testing.T, client *ethclient.Client, method string, args ...any) []any {
	t.Helper()
	return testnode.Call(t, client, governance.Address, govABI, method, args...)
}

func govMembers(t *testing.T, client *ethclient.Client) []govMember {
	t.Helper()
	return *abi.ConvertType(govView(t, client, "members")[0], new([]govMember)).(*[]govMember)
}

func govNodes(t *testing.T, client *ethclient.Client) []govNode {
	t.Helper()
	return *abi.ConvertType(govView(t, client, "nodes")[0], new([]govNode)).(*[]govNode)
}

func govGetProposal(t *testing.T, client *ethclient.Client, id *big.Int) govProposal {
	t.Helper()
	return *abi.ConvertType(govView(t, client, "proposal", id)[0], new(govProposal)).(*govProposal)
}

func govVersion(t *testing.T, client *ethclient.Client) uint64 {
	t.Helper()
	return govView(t, client, "version")[0].(uint64)
}

func govPolicy(t *testing.T, client *ethclient.Client) (uint8, uint64) {
	t.Helper()
	out := govView(t, client, "policy")
	return out[0].(uint8), out[1].(uint64)
}

func govMemberIDs(ms []govMember) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Id)
	}
	return ids
}

// govTransact sends method to the governance contract from w (gas
// estimated) and waits for the successful receipt.
func govTransact(t *testing.T, w *testnode.Wallet, method string, args ...any) *types.Receipt {
	t.Helper()
	return w.Transact(t, governance.Address, govABI, method, args...)
}

// govSendFixedGas sends data to `to` from w with govGas and waits for the
// receipt, whatever its status.
func govSendFixedGas(t *testing.T, w *testnode.Wallet, to common.Address, data []byte) *types.Receipt {
	t.Helper()
	return w.SendAndWait(t, w.DynamicTx(t, &to, nil, govGas, data))
}

// govProposalID returns the id of the ProposalCreated log of r.
func govProposalID(t *testing.T, r *types.Receipt) *big.Int {
	t.Helper()
	ev := govABI.Events["ProposalCreated"]
	for _, l := range r.Logs {
		if l.Address == governance.Address && len(l.Topics) == 2 && l.Topics[0] == ev.ID {
			return l.Topics[1].Big()
		}
	}
	t.Fatalf("receipt of %s has no ProposalCreated log (%d logs)", r.TxHash.Hex(), len(r.Logs))
	return nil
}

// govEvent is one decoded log of the governance contract.
type govEvent struct {
	Name   string
	Block  uint64
	Topics []common.Hash
	Fields map[string]any
}

// govDecode decodes a log of the governance contract by the published ABI.
func govDecode(t *testing.T, l types.Log) govEvent {
	t.Helper()
	if len(l.Topics) == 0 {
		t.Fatalf("governance log without topics: %+v", l)
	}
	ev, err := govABI.EventByID(l.Topics[0])
	if err != nil {
		t.Fatalf("governance log with unknown topic %s: %v", l.Topics[0].Hex(), err)
	}
	fields := map[string]any{}
	if err := govABI.UnpackIntoMap(fields, ev.Name, l.Data); err != nil {
		t.Fatalf("decode %s log: %v", ev.Name, err)
	}
	var indexed abi.Arguments
	for _, in := range ev.Inputs {
		if in.Indexed {
			indexed = append(indexed, in)
		}
	}
	if err := abi.ParseTopicsIntoMap(fields, indexed, l.Topics[1:]); err != nil {
		t.Fatalf("decode %s topics: %v", ev.Name, err)
	}
	return govEvent{Name: ev.Name, Block: l.BlockNumber, Topics: l.Topics, Fields: fields}
}

// govEventsOf decodes the governance logs of a receipt.
func govEventsOf(t *testing.T, r *types.Receipt) []govEvent {
	t.Helper()
	var out []govEvent
	for _, l := range r.Logs {
		if l.Address == governance.Address {
			out = append(out, govDecode(t, *l))
		}
	}
	return out
}

func govEventNames(evs []govEvent) []string {
	var names []string
	for _, e := range evs {
		names = append(names, e.Name)
	}
	return names
}

// govCallFrom runs eth_call of data to `to` from `from` at the latest block
// (or at block, if not nil).
func govCallFrom(client *ethclient.Client, from, to common.Address, data []byte, block *big.Int) ([]byte, error) {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return client.CallContract(c, ethereum.CallMsg{From: from, To: &to, Data: data}, block)
}

// govRevertReason checks that err is a JSON-RPC revert (code 3) whose data
// decodes as Solidity's Error(string), and returns the reason.
func govRevertReason(t *testing.T, what string, err error) string {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want a revert with an Error(string) reason", what)
		return ""
	}
	if code := rpcCode(err); code != 3 {
		t.Errorf("%s: error code %d (%v), want 3 (execution reverted)", what, code, err)
	}
	data, ok := rpcData(err)
	if !ok {
		t.Errorf("%s: revert without error data: %v", what, err)
		return ""
	}
	s, _ := data.(string)
	raw, derr := hexutil.Decode(s)
	if derr != nil {
		t.Errorf("%s: revert data %v is not hex: %v", what, data, derr)
		return ""
	}
	if len(raw) < 4 || hex.EncodeToString(raw[:4]) != "08c379a0" {
		t.Errorf("%s: revert data %s does not start with the Error(string) selector 0x08c379a0", what, s)
		return ""
	}
	reason, uerr := abi.UnpackRevert(raw)
	if uerr != nil {
		t.Errorf("%s: revert data %s does not decode as Error(string): %v", what, s, uerr)
		return ""
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("%s: error message %q does not carry the reason %q", what, err.Error(), reason)
	}
	t.Logf("%s: reverted: %q", what, reason)
	return reason
}

// govWantRevert checks a revert whose reason contains every one of subs.
func govWantRevert(t *testing.T, what string, err error, subs ...string) {
	t.Helper()
	reason := govRevertReason(t, what, err)
	for _, s := range subs {
		if !strings.Contains(reason, s) {
			t.Errorf("%s: revert reason %q does not contain %q", what, reason, s)
		}
	}
}

// govKey returns a deterministic key for label.
func govKey(label string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("cocogeth governance test " + label)))
	if err != nil {
		panic(err)
	}
	return k
}

// govWaitBlock waits until node n has applied block number (the README's
// read-your-write rule across nodes).
func govWaitBlock(t *testing.T, n *testnode.Node, number uint64) {
	t.Helper()
	var head hexutil.Uint64
	if err := testnode.CallNode(n, &head, "coco_waitForBlock", hexutil.Uint64(number), hexutil.Uint64(10000)); err != nil {
		t.Fatalf("coco_waitForBlock(%d): %v", number, err)
	}
}

// startGoverned starts the governed 3-node cluster (skipped with -short).
func startGoverned(t *testing.T) *testnode.Governed {
	t.Helper()
	if testing.Short() {
		t.Skip("governance tests start a 3-node cluster; skipped with -short")
	}
	start := time.Now()
	g := testnode.StartGoverned(t, testnode.GovernedOptions{})
	t.Logf("governed 3-node cluster up, %s leads, in %v", g.IDs[g.Leader()], time.Since(start).Round(time.Millisecond))
	return g
}

// govSendErr signs a 1-wei transfer from key and submits it to client,
// returning the submission error.
func govSendErr(t *testing.T, client *ethclient.Client, key *ecdsa.PrivateKey, nonce uint64) (*types.Transaction, error) {
	t.Helper()
	w := testnode.NewWallet(client, key, testnode.DevChainID)
	tip, feeCap := w.Fees(t)
	to := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	tx := w.Sign(t, &types.DynamicFeeTx{
		ChainID: testnode.DevChainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
		Gas: 21000, To: &to, Value: big.NewInt(1),
	})
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tx, client.SendTransaction(c, tx)
}
