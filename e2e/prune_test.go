package e2e

import (
	"context"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/confidential"
	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// pruneBlocks is more than the 128 states a full node keeps.
const pruneBlocks = 150

// sendOnePerBlock sends count transfers of 1 wei to to, each waiting for
// its receipt (so each lands in its own block), and returns the block of
// each.
func sendOnePerBlock(t *testing.T, n *testnode.Node, to common.Address, count int) []uint64 {
	t.Helper()
	w := n.Wallet(t)
	blocks := make([]uint64, count)
	for i := range blocks {
		r := w.SendAndWait(t, w.DynamicTx(t, &to, big.NewInt(1), params.TxGas, nil))
		blocks[i] = r.BlockNumber.Uint64()
	}
	return blocks
}

// pruneBeyond sends one transfer per block until n logs a pruning round
// whose kept window starts after block: block's state is then gone.
func pruneBeyond(t *testing.T, n *testnode.Node, to common.Address, block uint64) {
	t.Helper()
	re := regexp.MustCompile(`Pruned state +head=(\d+)`)
	for i := 0; i < 3*pruneBlocks; i++ {
		for _, m := range re.FindAllStringSubmatch(n.Log(), -1) {
			if head, _ := strconv.ParseUint(m[1], 10, 64); head >= block+128 {
				return
			}
		}
		sendOnePerBlock(t, n, to, 1)
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no pruning round went past block %d", block)
}

// A full node (the default) keeps the states of its last 128 blocks:
// reads at older blocks give go-ethereum's missing trie node error naming
// the block, never a wrong answer; recent and head reads are exact, also
// after a restart.
func TestFullNodePrunesOldStates(t *testing.T) {
	n := startDev(t, "--gc.interval", "300ms")
	to := common.HexToAddress("0x000000000000000000000000000000000000c0de")
	blocks := sendOnePerBlock(t, n, to, pruneBlocks)
	pruneBeyond(t, n, to, blocks[0])
	c := n.Client()
	total, err := c.BalanceAt(ctx(t), to, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		old := new(big.Int).SetUint64(blocks[0])
		_, err := c.BalanceAt(ctx(t), to, old)
		if err == nil || !strings.Contains(err.Error(), "missing trie node") || !strings.Contains(err.Error(), "block "+old.String()) {
			t.Fatalf("%s: eth_getBalance at pruned block %v: %v, want missing trie node naming the block", when, old, err)
		}
		_, err = c.CallContract(ctx(t), ethereum.CallMsg{To: &to}, old)
		if err == nil || !strings.Contains(err.Error(), "missing trie node") {
			t.Fatalf("%s: eth_call at pruned block: %v", when, err)
		}
		for _, i := range []int{pruneBlocks - 1, pruneBlocks - 100} {
			bal, err := c.BalanceAt(ctx(t), to, new(big.Int).SetUint64(blocks[i]))
			if err != nil || bal.Int64() != int64(i+1) {
				t.Fatalf("%s: balance at kept block %d = %v, %v; want %d", when, blocks[i], bal, err, i+1)
			}
		}
	}
	check("running")
	n.Restart()
	check("after a restart")
	sendOnePerBlock(t, n, to, 1)
	if bal, err := c.BalanceAt(ctx(t), to, nil); err != nil || bal.Int64() != total.Int64()+1 {
		t.Fatalf("balance after restart and one more: %v, %v; want %d", bal, err, total.Int64()+1)
	}
}

// An archive node keeps every state.
func TestArchiveNodeKeepsEveryState(t *testing.T) {
	n := startDev(t, "--gcmode", "archive", "--gc.interval", "300ms")
	to := common.HexToAddress("0x000000000000000000000000000000000000c0de")
	blocks := sendOnePerBlock(t, n, to, pruneBlocks)
	time.Sleep(time.Second) // rounds would have run
	if strings.Contains(n.Log(), "Pruned state") {
		t.Fatal("an archive node pruned")
	}
	bal, err := n.Client().BalanceAt(ctx(t), to, new(big.Int).SetUint64(blocks[0]))
	if err != nil || bal.Int64() != 1 {
		t.Fatalf("balance at the first block: %v, %v", bal, err)
	}
}

// An unknown mode is refused at start with a clear message.
func TestUnknownGCModeRefused(t *testing.T) {
	res := testnode.Run(t, testnode.Build(t), time.Minute, "--dev", "--datadir", t.TempDir(), "--http.port", "0", "--ws.port", "0", "--gcmode", "fast")
	if res.ExitCode == 0 || !strings.Contains(res.Output, `unknown gcmode "fast"`) {
		t.Fatalf("--gcmode fast: exit %d\n%s", res.ExitCode, res.Output)
	}
}

// On a full node, what a pruned block holds is judged for confidentiality
// by the latest state: a confidential contract's logs, receipt and
// transaction stay its parties', public ones stay public.
func TestConfidentialReadsOfPrunedBlocks(t *testing.T) {
	n := startDev(t, "--gc.interval", "300ms")
	c := context.Background()
	devKey := testnode.DevKey()
	msg, sig, err := confidential.SignIn(devKey, testnode.DevChainID, n.HTTPURL(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var login confidential.LoginResult
	if err := n.RPC().CallContext(c, &login, "coco_login", msg, sig); err != nil {
		t.Fatal(err)
	}
	party, err := rpc.DialOptions(c, n.HTTPURL(), rpc.WithHeader("Authorization", "Bearer "+login.Token))
	if err != nil {
		t.Fatal(err)
	}
	defer party.Close()
	anon, err := rpc.DialOptions(c, n.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()

	w := testnode.NewWallet(ethclient.NewClient(party), devKey, testnode.DevChainID)
	art := testcontracts.MustLoad("Shipments")
	shipments := w.SendAndWait(t, w.DynamicTx(t, nil, nil, 2_000_000, art.Bytecode)).ContractAddress
	shipData, _ := art.ABI.Pack("ship", common.HexToAddress("0xb0"), "forty pallets of tea")
	shipped := w.SendAndWait(t, w.DynamicTx(t, &shipments, nil, 500_000, shipData))
	to := common.HexToAddress("0x000000000000000000000000000000000000c0de")
	public := w.SendAndWait(t, w.DynamicTx(t, &to, big.NewInt(1), params.TxGas, nil))
	pruneBeyond(t, n, to, shipped.BlockNumber.Uint64())
	if _, err := ethclient.NewClient(anon).BalanceAt(c, to, shipped.BlockNumber); err == nil {
		t.Fatal("the state of the shipment's block is still there; the test proves nothing")
	}
	for name, cl := range map[string]*rpc.Client{"party": party, "anonymous": anon} {
		logs, err := ethclient.NewClient(cl).FilterLogs(c, ethereum.FilterQuery{Addresses: []common.Address{shipments}, FromBlock: big.NewInt(0)})
		if err != nil {
			t.Fatalf("%s: eth_getLogs: %v", name, err)
		}
		var receipt, tx, pub map[string]any
		if err := cl.CallContext(c, &receipt, "eth_getTransactionReceipt", shipped.TxHash); err != nil {
			t.Fatal(err)
		}
		if err := cl.CallContext(c, &tx, "eth_getTransactionByHash", shipped.TxHash); err != nil {
			t.Fatal(err)
		}
		if err := cl.CallContext(c, &pub, "eth_getTransactionReceipt", public.TxHash); err != nil {
			t.Fatal(err)
		}
		want := name == "party"
		if (len(logs) == 1) != want || (receipt != nil) != want || (tx != nil) != want || pub == nil {
			t.Errorf("%s: %d logs, receipt %v, transaction %v (visible: want %v); public receipt %v", name, len(logs), receipt != nil, tx != nil, want, pub != nil)
		}
	}
}
