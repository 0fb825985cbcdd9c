package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
)

const uncleanMsg = "Unclean shutdown detected"

// confirmed is a transaction whose receipt the node returned.
type confirmed struct {
	hash      common.Hash
	blockHash common.Hash
	number    uint64
	sender    int
}

// loadSender sends batches of transfers from one key and records every
// receipt it gets, until stop is closed or the node stops answering.
func loadSender(id int, client *ethclient.Client, w *testnode.Wallet, stop <-chan struct{}, out chan<- confirmed) error {
	to := common.BigToAddress(big.NewInt(int64(0x10000 + id)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nonce, err := client.PendingNonceAt(ctx, w.Address)
	if err != nil {
		return err
	}
	tip, feeCap, err := w.FeesErr(ctx)
	if err != nil {
		return err
	}
	feeCap.Mul(feeCap, big.NewInt(4)) // room for a rising base fee under load
	const batch = 8
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		var hashes []common.Hash
		for i := 0; i < batch; i++ {
			tx, err := types.SignNewTx(w.Key, w.Signer, &types.DynamicFeeTx{
				ChainID: w.ChainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
				Gas: params.TxGas, To: &to, Value: big.NewInt(1),
			})
			if err != nil {
				return err
			}
			if err := client.SendTransaction(ctx, tx); err != nil {
				if len(hashes) == 0 {
					return fmt.Errorf("send nonce %d: %w", nonce, err)
				}
				break
			}
			nonce++
			hashes = append(hashes, tx.Hash())
		}
		for _, h := range hashes {
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			r, err := testnode.PollReceipt(rctx, client, h)
			rcancel()
			if err != nil {
				return fmt.Errorf("receipt of %s: %w", h, err)
			}
			out <- confirmed{hash: h, blockHash: r.BlockHash, number: r.BlockNumber.Uint64(), sender: id}
		}
	}
}

func TestCrashKillDuringLoad(t *testing.T) {
	n := startDev(t)
	dev := n.Wallet(t)
	const senders = 4
	wallets := make([]*testnode.Wallet, senders)
	for i := range wallets {
		wallets[i] = dev.NewFunded(t, testnode.Ether(10))
	}
	// Each sender gets its own HTTP client so that a slow request of one
	// does not hold up the others.
	stop := make(chan struct{})
	results := make(chan confirmed, 1024)
	var wg sync.WaitGroup
	senderErrs := make([]error, senders)
	for i := 0; i < senders; i++ {
		c, err := ethclient.Dial(n.HTTPURL())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func(i int, c *ethclient.Client) {
			defer wg.Done()
			senderErrs[i] = loadSender(i, c, wallets[i], stop, results)
		}(i, c)
	}
	// A monitor records the head (number and hash) as the node reports it.
	type headObs struct {
		number uint64
		hash   common.Hash
	}
	var heads []headObs
	monDone := make(chan struct{})
	go func() {
		defer close(monDone)
		c, err := ethclient.Dial(n.HTTPURL())
		if err != nil {
			return
		}
		defer c.Close()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			h, err := c.HeaderByNumber(cctx, nil)
			cancel()
			if err == nil {
				heads = append(heads, headObs{h.Number.Uint64(), h.Hash()})
			}
		}
	}()

	// Collect receipts until there are enough, then kill -9 mid-load.
	var got []confirmed
	deadline := time.After(20 * time.Second)
	const want = 600
collect:
	for len(got) < want {
		select {
		case c := <-results:
			got = append(got, c)
		case <-deadline:
			break collect
		}
	}
	if len(got) < 50 {
		t.Fatalf("only %d transfers confirmed before the deadline; sender errors %v", len(got), senderErrs)
	}
	n.Kill()
	// Drain whatever was confirmed right up to the kill.
	drained := make(chan struct{})
	go func() {
		for c := range results {
			got = append(got, c)
		}
		close(drained)
	}()
	close(stop)
	wg.Wait()
	<-monDone
	close(results)
	<-drained
	t.Logf("%d transfers confirmed before kill -9; %d head observations", len(got), len(heads))

	// The head only ever moved forward, one hash per number.
	seen := map[uint64]common.Hash{}
	var maxSeen uint64
	for i, h := range heads {
		if i > 0 && h.number < heads[i-1].number {
			t.Errorf("head went backwards under load: #%d after #%d", h.number, heads[i-1].number)
		}
		if prev, ok := seen[h.number]; ok && prev != h.hash {
			t.Errorf("block #%d reported with two hashes: %s and %s", h.number, prev, h.hash)
		}
		seen[h.number] = h.hash
		maxSeen = max(maxSeen, h.number)
	}
	for _, c := range got {
		maxSeen = max(maxSeen, c.number)
	}

	n.StartAgain()
	if !strings.Contains(n.LastLog(), uncleanMsg) {
		t.Errorf("restart after kill -9 did not log %q", uncleanMsg)
	}
	client := n.Client()
	head, err := client.BlockNumber(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if head < maxSeen {
		t.Errorf("head after restart #%d is behind block #%d served before the crash", head, maxSeen)
	}
	missing, moved := 0, 0
	for _, c := range got {
		r, err := client.TransactionReceipt(ctx(t), c.hash)
		if err != nil {
			missing++
			if missing <= 5 {
				t.Errorf("tx %s (sender %d) had a receipt in block #%d %s before the crash, none after: %v", c.hash, c.sender, c.number, c.blockHash, err)
			}
			continue
		}
		if r.BlockHash != c.blockHash || r.BlockNumber.Uint64() != c.number {
			moved++
			if moved <= 5 {
				t.Errorf("tx %s was in block #%d %s before the crash, in #%v %s after", c.hash, c.number, c.blockHash, r.BlockNumber, r.BlockHash)
			}
		}
	}
	if missing+moved > 0 {
		t.Errorf("%d of %d confirmed transactions lost and %d moved by the crash", missing, len(got), moved)
	}
	for num, hash := range seen {
		h, err := client.HeaderByNumber(ctx(t), new(big.Int).SetUint64(num))
		if err != nil {
			t.Errorf("block #%d served before the crash is gone: %v", num, err)
			continue
		}
		if h.Hash() != hash {
			t.Errorf("block #%d was %s before the crash, %s after", num, hash, h.Hash())
		}
	}
	// The chain goes on: every sender can transact from its committed nonce.
	for i, w := range wallets {
		w.Client = client
		nonce, err := client.NonceAt(ctx(t), w.Address, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p := w.PendingNonce(t); p != nonce {
			t.Errorf("sender %d: pending nonce %d after restart, committed nonce %d (the pool is not persisted)", i, p, nonce)
		}
		w.Transfer(t, dev.Address, big.NewInt(1))
	}
}

func TestCleanStopRestart(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	to := common.HexToAddress("0x000000000000000000000000000000000000c1ea")
	r := w.Transfer(t, to, big.NewInt(7))
	if strings.Contains(n.LastLog(), uncleanMsg) {
		t.Errorf("first start of a fresh datadir logged %q", uncleanMsg)
	}

	// SIGTERM: exit status 0, then a restart without the warning.
	if err := n.Stop(); err != nil {
		t.Fatalf("SIGTERM stop: %v", err)
	}
	n.StartAgain()
	if strings.Contains(n.LastLog(), uncleanMsg) {
		t.Errorf("restart after SIGTERM logged %q:\n%s", uncleanMsg, testnode.Tail(n.LastLog(), 20))
	}
	checkReceipt(t, n, r)
	w.Transfer(t, to, big.NewInt(7))

	// SIGINT as well.
	if err := syscall.Kill(n.Pid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.Exited():
	case <-time.After(30 * time.Second):
		t.Fatalf("node did not exit within 30s of SIGINT")
	}
	if err := n.Stop(); err != nil {
		t.Errorf("exit after SIGINT: %v", err)
	}
	n.StartAgain()
	if strings.Contains(n.LastLog(), uncleanMsg) {
		t.Errorf("restart after SIGINT logged %q", uncleanMsg)
	}
	if bal, err := n.Client().BalanceAt(ctx(t), to, nil); err != nil || bal.Int64() != 14 {
		t.Errorf("balance after restarts %v (%v), want 14", bal, err)
	}

	// kill -9 is reported at the next start. (Like geth, the node keeps
	// reporting a recent crash on later starts, so nothing is checked
	// after this.)
	n.Kill()
	n.StartAgain()
	if !strings.Contains(n.LastLog(), uncleanMsg) {
		t.Errorf("restart after kill -9 did not log %q", uncleanMsg)
	}
	checkReceipt(t, n, r)
}

// TestStopRightAfterStart sends SIGTERM as soon as the node answers RPC:
// once it serves requests it must also stop cleanly on the signal.
func TestStopRightAfterStart(t *testing.T) {
	n := startDev(t)
	n.Wallet(t).Transfer(t, common.HexToAddress("0x000000000000000000000000000000000000057a"), big.NewInt(1))
	for i := 0; i < 3; i++ {
		if err := n.Stop(); err != nil {
			t.Errorf("SIGTERM right after the node became ready (try %d): %v, want exit status 0", i, err)
		}
		n.StartAgain()
		if strings.Contains(n.LastLog(), uncleanMsg) {
			t.Errorf("restart after an immediate SIGTERM (try %d) logged %q", i, uncleanMsg)
		}
	}
}

func checkReceipt(t *testing.T, n *testnode.Node, want *types.Receipt) {
	t.Helper()
	got, err := n.Client().TransactionReceipt(ctx(t), want.TxHash)
	if err != nil {
		t.Fatalf("receipt of %s after restart: %v", want.TxHash, err)
	}
	if got.BlockHash != want.BlockHash || got.Status != want.Status {
		t.Errorf("receipt after restart in block %s status %d, want %s status %d", got.BlockHash, got.Status, want.BlockHash, want.Status)
	}
}

// rpcCall is one read of the state snapshot.
type rpcCall struct {
	method string
	params []any
}

func (c rpcCall) String() string {
	p, _ := json.Marshal(c.params)
	return c.method + string(p)
}

// snapshot runs every call and returns the raw JSON results.
func snapshot(t *testing.T, n *testnode.Node, calls []rpcCall) []json.RawMessage {
	t.Helper()
	out := make([]json.RawMessage, len(calls))
	for i, c := range calls {
		if err := n.RPC().CallContext(ctx(t), &out[i], c.method, c.params...); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	return out
}

func TestRestartPersistence(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	c := n.Client()
	ev := testcontracts.MustLoad("Events")
	tok := testcontracts.MustLoad("TestToken")
	alice := common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	bob := common.HexToAddress("0x0000000000000000000000000000000000000b0b")

	tip, feeCap := w.Fees(t)
	feeCap.Mul(feeCap, big.NewInt(2))
	var receipts []*types.Receipt
	send := func(data types.TxData) *types.Receipt {
		t.Helper()
		r := w.SendAndWait(t, w.Sign(t, data))
		testnode.MustSucceed(t, r, fmt.Sprintf("type-%d transaction", r.Type))
		receipts = append(receipts, r)
		return r
	}
	nonce := w.PendingNonce(t)
	next := func() uint64 { nonce++; return nonce - 1 }

	// Legacy: an ETH transfer and the Events deployment.
	send(&types.LegacyTx{Nonce: next(), GasPrice: feeCap, Gas: params.TxGas, To: &alice, Value: big.NewInt(1111)})
	evData, _ := ev.DeployData()
	evAddr := send(&types.LegacyTx{Nonce: next(), GasPrice: feeCap, Gas: 2_000_000, Data: evData}).ContractAddress
	// EIP-2930: storage writes through Events.set, with an access list.
	for _, kv := range [][2]int64{{1, 10}, {2, 20}, {300, 3000}} {
		data, _ := ev.ABI.Pack("set", big.NewInt(kv[0]), big.NewInt(kv[1]))
		send(&types.AccessListTx{ChainID: w.ChainID, Nonce: next(), GasPrice: feeCap, Gas: 200_000, To: &evAddr, Data: data,
			AccessList: types.AccessList{{Address: evAddr, StorageKeys: []common.Hash{{}}}}})
	}
	// EIP-1559: the token deployment, a token transfer, many events, an
	// ETH transfer.
	tokData, _ := tok.DeployData("Persist", "PST", big.NewInt(1_000_000))
	tokAddr := send(&types.DynamicFeeTx{ChainID: w.ChainID, Nonce: next(), GasTipCap: tip, GasFeeCap: feeCap, Gas: 3_000_000, Data: tokData}).ContractAddress
	data, _ := tok.ABI.Pack("transfer", bob, big.NewInt(4321))
	send(&types.DynamicFeeTx{ChainID: w.ChainID, Nonce: next(), GasTipCap: tip, GasFeeCap: feeCap, Gas: 100_000, To: &tokAddr, Data: data})
	data, _ = ev.ABI.Pack("emitMany", big.NewInt(5))
	send(&types.DynamicFeeTx{ChainID: w.ChainID, Nonce: next(), GasTipCap: tip, GasFeeCap: feeCap, Gas: 200_000, To: &evAddr, Data: data})
	send(&types.DynamicFeeTx{ChainID: w.ChainID, Nonce: next(), GasTipCap: tip, GasFeeCap: feeCap, Gas: params.TxGas, To: &bob, Value: big.NewInt(2222)})

	head, err := c.BlockNumber(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	headHex := hexutil.EncodeUint64(head)
	mappingSlot := func(key int64) common.Hash {
		return crypto.Keccak256Hash(common.LeftPadBytes(big.NewInt(key).Bytes(), 32), make([]byte, 32))
	}
	calls := []rpcCall{{"eth_blockNumber", nil}}
	for _, a := range []common.Address{w.Address, alice, bob, evAddr, tokAddr} {
		calls = append(calls,
			rpcCall{"eth_getBalance", []any{a, "latest"}},
			rpcCall{"eth_getBalance", []any{a, headHex}},
			rpcCall{"eth_getTransactionCount", []any{a, "latest"}},
			rpcCall{"eth_getCode", []any{a, "latest"}})
	}
	for _, slot := range []common.Hash{mappingSlot(1), mappingSlot(2), mappingSlot(300), common.BigToHash(big.NewInt(1)), common.BigToHash(big.NewInt(2)), common.BigToHash(big.NewInt(3))} {
		calls = append(calls, rpcCall{"eth_getStorageAt", []any{evAddr, slot, "latest"}}, rpcCall{"eth_getStorageAt", []any{evAddr, slot, headHex}})
	}
	for i := uint64(0); i <= head; i++ {
		calls = append(calls, rpcCall{"eth_getBlockByNumber", []any{hexutil.EncodeUint64(i), true}})
	}
	for _, r := range receipts {
		calls = append(calls, rpcCall{"eth_getTransactionReceipt", []any{r.TxHash}}, rpcCall{"eth_getTransactionByHash", []any{r.TxHash}})
	}
	calls = append(calls,
		rpcCall{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "toBlock": headHex}}},
		rpcCall{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "toBlock": "latest", "address": evAddr}}},
		rpcCall{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "toBlock": "latest", "address": tokAddr, "topics": []any{tok.ABI.Events["Transfer"].ID}}}},
	)
	getData, _ := ev.ABI.Pack("get", big.NewInt(300))
	calls = append(calls, rpcCall{"eth_call", []any{map[string]any{"to": evAddr, "data": hexutil.Bytes(getData)}, "latest"}})
	balData, _ := tok.ABI.Pack("balanceOf", bob)
	calls = append(calls, rpcCall{"eth_call", []any{map[string]any{"to": tokAddr, "data": hexutil.Bytes(balData)}, "latest"}})

	before := snapshot(t, n, calls)
	// Sanity: the reads see the writes.
	var logs []types.Log
	if err := json.Unmarshal(before[len(before)-5], &logs); err != nil || len(logs) != 3+2+6 {
		t.Errorf("eth_getLogs from genesis: %d logs (%v), want 11 (3 ValueSet, mint, transfer, 5 Ping, Anon)", len(logs), err)
	}
	if got := testnode.Call(t, c, evAddr, ev.ABI, "get", big.NewInt(300))[0].(*big.Int); got.Int64() != 3000 {
		t.Errorf("Events.get(300) = %v, want 3000", got)
	}

	compare := func(when string) {
		t.Helper()
		after := snapshot(t, n, calls)
		diffs := 0
		for i := range calls {
			if string(before[i]) != string(after[i]) {
				diffs++
				if diffs <= 5 {
					t.Errorf("%s: %s changed:\nbefore %.400s\nafter  %.400s", when, calls[i], before[i], after[i])
				}
			}
		}
		if diffs > 0 {
			t.Errorf("%s: %d of %d reads differ", when, diffs, len(calls))
		}
	}
	// The head may have moved past the last write by the leader's trailing
	// empty block (README: "Empty blocks"); restarts must keep it.
	blockNumber := func() uint64 {
		t.Helper()
		var bn hexutil.Uint64
		if err := n.RPC().CallContext(ctx(t), &bn, "eth_blockNumber"); err != nil {
			t.Fatal(err)
		}
		return uint64(bn)
	}
	pre := blockNumber()
	n.Restart()
	compare("after SIGTERM restart")
	n.Kill()
	n.StartAgain()
	compare("after kill -9 restart")
	post := blockNumber()
	if post < pre || post > head+1 {
		t.Errorf("head after the restarts is #%d; before them #%d, last write #%d", post, pre, head)
	}

	// Writes continue on top of the restored state.
	w.Client = n.Client()
	r := w.Transact(t, evAddr, ev.ABI, "set", big.NewInt(300), big.NewInt(3001))
	if r.BlockNumber.Uint64() != post+1 {
		t.Errorf("first block after the restarts is #%v, want #%d", r.BlockNumber, post+1)
	}
	if got := testnode.Call(t, c, evAddr, ev.ABI, "counter")[0].(*big.Int); got.Int64() != 4 {
		t.Errorf("Events.counter() = %v, want 4", got)
	}
}
