package main

import (
	"bytes"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/console"
	"github.com/ethereum/go-ethereum/rpc"
)

// fakeCoco and fakeRaft answer the console's coco_ and raft_ calls.
type fakeCoco struct{}

func (fakeCoco) Constitution(block *string) map[string]any {
	return map[string]any{"version": 7, "block": 3}
}
func (fakeCoco) Proposal(id uint64, block *string) map[string]any {
	return map[string]any{"id": id, "state": "passed"}
}
func (fakeCoco) Proposals(open *bool, block *string) []map[string]any {
	return []map[string]any{{"id": 1, "open": open == nil || *open}}
}
func (fakeCoco) Governance() map[string]any { return map[string]any{"address": governance.Address} }
func (fakeCoco) NodeInfo() map[string]any   { return map[string]any{"leader": true} }
func (fakeCoco) WaitForBlock(n hexutil.Uint64, timeout *hexutil.Uint64) hexutil.Uint64 {
	return n
}

type fakeRaft struct{}

func (fakeRaft) Role() string              { return "follower" }
func (fakeRaft) Leader() map[string]string { return map[string]string{"id": "node2"} }
func (fakeRaft) Cluster() map[string]any   { return map[string]any{"self": "node1"} }
func (fakeRaft) Stats() map[string]string  { return map[string]string{"state": "Follower"} }

// fakeEth records the transactions the console sends and answers each
// with a receipt holding a ProposalCreated log of proposal 9.
type fakeEth struct {
	mu  sync.Mutex
	txs []map[string]any
}

func (e *fakeEth) Accounts() []common.Address {
	return []common.Address{common.HexToAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")}
}
func (e *fakeEth) BlockNumber() hexutil.Uint64 { return 5 }
func (e *fakeEth) EstimateGas(tx map[string]any, block *string, overrides, blockOverrides *map[string]any) hexutil.Uint64 {
	return 50_000
}
func (e *fakeEth) SendTransaction(tx map[string]any) common.Hash {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.txs = append(e.txs, tx)
	return common.Hash{byte(len(e.txs))}
}
func (e *fakeEth) GetTransactionReceipt(hash common.Hash) map[string]any {
	created := governance.ABI().Events["ProposalCreated"].ID
	return map[string]any{
		"transactionHash": hash, "status": "0x1", "blockNumber": "0x6", "gasUsed": "0x1", "cumulativeGasUsed": "0x1",
		"transactionIndex": "0x0", "blockHash": common.Hash{1}, "contractAddress": nil,
		"logs": []map[string]any{{
			"address": governance.Address, "topics": []common.Hash{created, common.BigToHash(big.NewInt(9))},
			"data": "0x", "blockNumber": "0x6", "transactionIndex": "0x0", "logIndex": "0x0",
			"transactionHash": hash, "blockHash": common.Hash{1},
		}},
	}
}

func newTestConsole(t *testing.T) (*console.Console, *bytes.Buffer, *fakeEth) {
	t.Helper()
	srv := rpc.NewServer()
	eth := new(fakeEth)
	for ns, svc := range map[string]any{"coco": fakeCoco{}, "raft": fakeRaft{}, "eth": eth} {
		if err := srv.RegisterName(ns, svc); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(srv.Stop)
	client := rpc.DialInProc(srv)
	t.Cleanup(client.Close)
	preload, err := writeConsolePreload()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(preload) })
	out := new(bytes.Buffer)
	c, err := console.New(console.Config{DataDir: t.TempDir(), DocRoot: ".", Client: client, Printer: out, Preload: []string{preload}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(false) })
	return c, out, eth
}

func evaluate(c *console.Console, out *bytes.Buffer, js string) string {
	out.Reset()
	c.Evaluate(js)
	return strings.TrimSpace(out.String())
}

func TestConsolePreload(t *testing.T) {
	c, out, eth := newTestConsole(t)
	for js, want := range map[string]string{
		"coco.constitution().version":             "7",
		"coco.constitution(3).block":              "3",
		"coco.proposal(4).state":                  `"passed"`,
		"coco.proposals()[0].open":                "true",
		"coco.proposals(false)[0].open":           "false",
		"coco.nodeInfo().leader":                  "true",
		"coco.waitForBlock(12)":                   "12",
		"coco.governance().address.toLowerCase()": `"` + strings.ToLower(governance.Address.Hex()) + `"`,
		"raft.role()":                             `"follower"`,
		"raft.leader().id":                        `"node2"`,
		"raft.cluster().self":                     `"node1"`,
		"raft.stats().state":                      `"Follower"`,
		"coco.gov.address":                        `"` + governance.Address.Hex() + `"`,
		"typeof coco.gov.vote.sendTransaction":    `"function"`,
	} {
		if got := evaluate(c, out, js); got != want {
			t.Errorf("%s = %s, want %s", js, got, want)
		}
	}

	// The helpers encode the governance calls, send them from the given
	// account with room for a deciding ballot and read the outcome.
	b := "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
	if got := evaluate(c, out, `coco.propose('set-policy', 'majority', {from: '`+b+`'})`); got != "9" {
		t.Fatalf("coco.propose returned %s", got)
	}
	if got := evaluate(c, out, `coco.propose('add-member', 'E', '0x1111111111111111111111111111111111111111', '0x05')`); got != "9" {
		t.Fatalf("coco.propose (default account) returned %s", got)
	}
	if got := evaluate(c, out, `coco.vote(9, true, {from: '`+b+`'})`); got != `"passed"` {
		t.Fatalf("coco.vote returned %s", got)
	}
	if got := evaluate(c, out, `coco.propose('add-tea', 'sgx')`); !strings.Contains(got, "unknown action add-tea") {
		t.Errorf("unknown action: %s", got)
	}
	if got := evaluate(c, out, `coco.propose('set-recovery-threshold', 'majority', {from: '`+b+`'})`); got != "9" {
		t.Fatalf("coco.propose set-recovery-threshold majority returned %s", got)
	}
	if got := evaluate(c, out, `coco.propose('set-recovery-threshold', 2, {from: '`+b+`'})`); got != "9" {
		t.Fatalf("coco.propose set-recovery-threshold 2 returned %s", got)
	}
	if len(eth.txs) != 5 {
		t.Fatalf("%d transactions sent: %v", len(eth.txs), eth.txs)
	}
	policy, _ := governance.ABI().Pack("proposeSetPolicy", uint8(governance.Majority), uint64(0))
	member, _ := governance.ABI().Pack("proposeAddMember", "E", []common.Address{common.HexToAddress("0x1111111111111111111111111111111111111111")}, []byte{5}, []byte{})
	vote, _ := governance.ABI().Pack("vote", big.NewInt(9), true)
	majority, _ := governance.ABI().Pack("proposeSetRecoveryThreshold", uint16(0))
	two, _ := governance.ABI().Pack("proposeSetRecoveryThreshold", uint16(2))
	for i, want := range [][]byte{policy, member, vote, majority, two} {
		tx := eth.txs[i]
		if !strings.EqualFold(tx["from"].(string), b) || !strings.EqualFold(tx["to"].(string), governance.Address.Hex()) {
			t.Errorf("tx %d: from %v to %v", i, tx["from"], tx["to"])
		}
		if tx["data"] != hexutil.Encode(want) {
			t.Errorf("tx %d: data %v, want %x", i, tx["data"], want)
		}
		if tx["gas"] != hexutil.EncodeUint64(2*50_000+300_000) {
			t.Errorf("tx %d: gas %v", i, tx["gas"])
		}
	}
}
