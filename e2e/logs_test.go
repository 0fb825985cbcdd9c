package e2e

import (
	"math/big"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

func TestERC20TransferLogs(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	c := n.Client()
	ws := n.DialWS(t)
	tok := testcontracts.MustLoad("TestToken")
	supply := big.NewInt(1_000_000)
	tokAddr, _ := w.DeployTestToken(t, "Test", "TST", supply)
	transferID := tok.ABI.Events["Transfer"].ID
	recipient := common.HexToAddress("0x00000000000000000000000000000000000a11ce")

	// Subscriptions and filters are installed before the transfer.
	query := ethereum.FilterQuery{Addresses: []common.Address{tokAddr}, Topics: [][]common.Hash{{transferID}}}
	logsCh := make(chan types.Log, 16)
	logSub, err := ws.SubscribeFilterLogs(ctx(t), query, logsCh)
	if err != nil {
		t.Fatalf("eth_subscribe(logs): %v", err)
	}
	defer logSub.Unsubscribe()
	headCh := make(chan *types.Header, 64)
	headSub, err := ws.SubscribeNewHead(ctx(t), headCh)
	if err != nil {
		t.Fatalf("eth_subscribe(newHeads): %v", err)
	}
	defer headSub.Unsubscribe()
	var logFilter, blockFilter string
	if err := n.RPC().CallContext(ctx(t), &logFilter, "eth_newFilter", map[string]any{
		"address": tokAddr, "topics": []any{transferID},
	}); err != nil {
		t.Fatalf("eth_newFilter: %v", err)
	}
	if err := n.RPC().CallContext(ctx(t), &blockFilter, "eth_newBlockFilter"); err != nil {
		t.Fatalf("eth_newBlockFilter: %v", err)
	}

	r := w.Transact(t, tokAddr, tok.ABI, "transfer", recipient, big.NewInt(1000))
	if len(r.Logs) != 1 {
		t.Fatalf("transfer receipt has %d logs, want 1", len(r.Logs))
	}
	want := *r.Logs[0]
	checkTransferLog(t, "receipt", want, tokAddr, transferID, w.Address, recipient, 1000)
	if want.BlockHash != r.BlockHash || want.TxHash != r.TxHash || want.BlockNumber != r.BlockNumber.Uint64() {
		t.Errorf("receipt log position %+v does not match the receipt", want)
	}
	if got := testnode.Call(t, c, tokAddr, tok.ABI, "balanceOf", recipient)[0].(*big.Int); got.Int64() != 1000 {
		t.Errorf("balanceOf(recipient) = %v, want 1000", got)
	}

	// eth_getLogs, by range and by block hash, with a recipient topic.
	toTopic := common.BytesToHash(recipient.Bytes())
	got, err := c.FilterLogs(ctx(t), ethereum.FilterQuery{
		FromBlock: r.BlockNumber, ToBlock: r.BlockNumber, Addresses: []common.Address{tokAddr},
		Topics: [][]common.Hash{{transferID}, nil, {toTopic}},
	})
	if err != nil {
		t.Fatalf("eth_getLogs: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("eth_getLogs returned %d logs, want 1: %+v", len(got), got)
	}
	sameLog(t, "eth_getLogs", got[0], want)
	bh := r.BlockHash
	got, err = c.FilterLogs(ctx(t), ethereum.FilterQuery{BlockHash: &bh})
	if err != nil || len(got) != 1 {
		t.Fatalf("eth_getLogs(blockHash) = %d logs, %v; want 1", len(got), err)
	}
	sameLog(t, "eth_getLogs(blockHash)", got[0], want)
	// A topic that matches nothing.
	got, err = c.FilterLogs(ctx(t), ethereum.FilterQuery{
		FromBlock: big.NewInt(0), Addresses: []common.Address{tokAddr},
		Topics: [][]common.Hash{{transferID}, nil, {common.HexToHash("0xdead")}},
	})
	if err != nil || len(got) != 0 {
		t.Errorf("eth_getLogs with a non-matching topic = %d logs, %v; want 0", len(got), err)
	}
	// From genesis: the mint and the transfer.
	got, err = c.FilterLogs(ctx(t), ethereum.FilterQuery{FromBlock: big.NewInt(0), Addresses: []common.Address{tokAddr}})
	if err != nil || len(got) != 2 {
		t.Errorf("eth_getLogs from 0 = %d logs, %v; want 2 (mint, transfer)", len(got), err)
	}

	// The WS log subscription delivers the same log.
	select {
	case l := <-logsCh:
		sameLog(t, "logs subscription", l, want)
	case err := <-logSub.Err():
		t.Fatalf("logs subscription failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("logs subscription delivered nothing within 10s")
	}

	// newHeads delivers the transfer's block (after the deploy's).
	deadline := time.After(10 * time.Second)
	var lastHead uint64
	for seen := false; !seen; {
		select {
		case h := <-headCh:
			if h.Number.Uint64() <= lastHead && lastHead != 0 {
				t.Errorf("newHeads went from #%d to #%d", lastHead, h.Number.Uint64())
			}
			lastHead = h.Number.Uint64()
			if h.Number.Cmp(r.BlockNumber) == 0 {
				seen = true
				if h.Hash() != r.BlockHash {
					t.Errorf("newHeads header #%d hashes to %s, want the receipt's block %s", lastHead, h.Hash(), r.BlockHash)
				}
			}
		case err := <-headSub.Err():
			t.Fatalf("newHeads subscription failed: %v", err)
		case <-deadline:
			t.Fatalf("newHeads did not deliver block #%v within 10s (last #%d)", r.BlockNumber, lastHead)
		}
	}

	// eth_getFilterChanges: the log once, then nothing.
	var changes []types.Log
	if err := n.RPC().CallContext(ctx(t), &changes, "eth_getFilterChanges", logFilter); err != nil {
		t.Fatalf("eth_getFilterChanges(log filter): %v", err)
	}
	if len(changes) != 1 {
		t.Fatalf("eth_getFilterChanges returned %d logs, want 1", len(changes))
	}
	sameLog(t, "eth_getFilterChanges", changes[0], want)
	if err := n.RPC().CallContext(ctx(t), &changes, "eth_getFilterChanges", logFilter); err != nil || len(changes) != 0 {
		t.Errorf("second eth_getFilterChanges = %d logs, %v; want none", len(changes), err)
	}
	var filterLogs []types.Log
	if err := n.RPC().CallContext(ctx(t), &filterLogs, "eth_getFilterLogs", logFilter); err != nil {
		t.Errorf("eth_getFilterLogs: %v", err)
	} else if len(filterLogs) != 1 {
		t.Errorf("eth_getFilterLogs returned %d logs, want 1", len(filterLogs))
	}
	var hashes []common.Hash
	if err := n.RPC().CallContext(ctx(t), &hashes, "eth_getFilterChanges", blockFilter); err != nil {
		t.Fatalf("eth_getFilterChanges(block filter): %v", err)
	}
	found := false
	for _, h := range hashes {
		found = found || h == r.BlockHash
	}
	if !found {
		t.Errorf("block filter changes %v do not include the transfer's block %s", hashes, r.BlockHash)
	}
	var ok bool
	if err := n.RPC().CallContext(ctx(t), &ok, "eth_uninstallFilter", logFilter); err != nil || !ok {
		t.Errorf("eth_uninstallFilter = %v, %v; want true", ok, err)
	}
	err = n.RPC().CallContext(ctx(t), &changes, "eth_getFilterChanges", logFilter)
	wantErr(t, "eth_getFilterChanges after uninstall", err, "filter not found")
}

func checkTransferLog(t *testing.T, what string, l types.Log, token common.Address, id common.Hash, from, to common.Address, value int64) {
	t.Helper()
	if l.Address != token || len(l.Topics) != 3 || l.Topics[0] != id ||
		l.Topics[1] != common.BytesToHash(from.Bytes()) || l.Topics[2] != common.BytesToHash(to.Bytes()) ||
		new(big.Int).SetBytes(l.Data).Int64() != value || len(l.Data) != 32 {
		t.Errorf("%s: log %+v (data %s) is not Transfer(%s, %s, %d) of %s", what, l, hexutil.Encode(l.Data), from, to, value, token)
	}
}

func sameLog(t *testing.T, what string, got, want types.Log) {
	t.Helper()
	if got.Address != want.Address || got.BlockHash != want.BlockHash || got.BlockNumber != want.BlockNumber ||
		got.TxHash != want.TxHash || got.TxIndex != want.TxIndex || got.Index != want.Index || got.Removed ||
		hexutil.Encode(got.Data) != hexutil.Encode(want.Data) || len(got.Topics) != len(want.Topics) {
		t.Errorf("%s: log %+v, want %+v", what, got, want)
		return
	}
	for i := range got.Topics {
		if got.Topics[i] != want.Topics[i] {
			t.Errorf("%s: topic %d = %s, want %s", what, i, got.Topics[i], want.Topics[i])
		}
	}
}

// The log index follows the head at most once a second; eth_getLogs still
// answers for the newest blocks at once (through their receipts), over a
// range that spans indexed and not yet indexed blocks, and the same after
// the index caught up.
func TestLogsOfBlocksNotYetIndexed(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	c := n.Client()
	tok := testcontracts.MustLoad("TestToken")
	tokAddr, deployed := w.DeployTestToken(t, "Test", "TST", big.NewInt(1_000_000))
	transferID := tok.ABI.Events["Transfer"].ID
	query := ethereum.FilterQuery{FromBlock: deployed.BlockNumber, Addresses: []common.Address{tokAddr}, Topics: [][]common.Hash{{transferID}}}
	time.Sleep(1500 * time.Millisecond) // the index reaches the deployment
	var blocks []uint64
	for i := 1; i <= 5; i++ {
		r := w.Transact(t, tokAddr, tok.ABI, "transfer", common.BigToAddress(big.NewInt(int64(0xa11ce0+i))), big.NewInt(int64(i)))
		blocks = append(blocks, r.BlockNumber.Uint64())
	}
	check := func(when string) {
		t.Helper()
		logs, err := c.FilterLogs(ctx(t), query)
		if err != nil {
			t.Fatalf("%s: eth_getLogs: %v", when, err)
		}
		var got []uint64
		for _, l := range logs {
			if l.BlockNumber > deployed.BlockNumber.Uint64() {
				got = append(got, l.BlockNumber)
			}
		}
		if len(got) != len(blocks) {
			t.Fatalf("%s: logs in blocks %v, want %v", when, got, blocks)
		}
		for i := range got {
			if got[i] != blocks[i] {
				t.Fatalf("%s: logs in blocks %v, want %v", when, got, blocks)
			}
		}
	}
	check("at once")
	time.Sleep(1500 * time.Millisecond)
	check("after the index moved")
}
