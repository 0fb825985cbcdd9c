package e2e

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// Helpers of the cluster tests (cluster_*_test.go): funded keys, a load
// generator that survives dying nodes, and checks over the whole chain.

// startCluster starts a 3-node cluster; cluster tests are skipped by -short.
func startCluster(t *testing.T, opts testnode.ClusterOptions) *testnode.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("cluster tests start three nodes; skipped with -short")
	}
	start := time.Now()
	c := testnode.StartCluster(t, 3, opts)
	t.Logf("3-node cluster up, %s leads, in %v", c.IDs[c.Leader()], time.Since(start).Round(time.Millisecond))
	return c
}

// clusterKeys returns n deterministic keys, distinct per label.
func clusterKeys(label string, n int) []*ecdsa.PrivateKey {
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		k, err := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("cocogeth cluster test %s %d", label, i))))
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
}

// allocFor funds every key with 1000 ether in the genesis.
func allocFor(keys ...[]*ecdsa.PrivateKey) map[common.Address]*big.Int {
	alloc := map[common.Address]*big.Int{}
	for _, ks := range keys {
		for _, k := range ks {
			alloc[crypto.PubkeyToAddress(k.PublicKey)] = testnode.Ether(1000)
		}
	}
	return alloc
}

var clusterSigner = types.LatestSignerForChainID(testnode.DevChainID)

// transfer signs a 21000-gas transfer of value wei with a fee cap of
// 100 gwei (blocks are far below the gas target, so the base fee only
// falls from its initial 1 gwei).
func transfer(key *ecdsa.PrivateKey, nonce uint64, to common.Address, value int64) *types.Transaction {
	tx, err := types.SignNewTx(key, clusterSigner, &types.DynamicFeeTx{
		ChainID: testnode.DevChainID, Nonce: nonce, GasTipCap: testnode.Gwei(1), GasFeeCap: testnode.Gwei(100),
		Gas: params.TxGas, To: &to, Value: big.NewInt(value),
	})
	if err != nil {
		panic(err)
	}
	return tx
}

// sendRaw submits tx to node i.
func sendRaw(c *testnode.Cluster, i int, tx *types.Transaction) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Nodes[i].Client().SendTransaction(ctx, tx)
}

// sendBatch submits txs to node i in JSON-RPC batches and returns the
// transactions the node accepted and the first refusal.
func sendBatch(c *testnode.Cluster, i int, txs []*types.Transaction) ([]*types.Transaction, error) {
	var accepted []*types.Transaction
	var firstErr error
	for len(txs) > 0 {
		n := min(len(txs), 500)
		elems := make([]rpc.BatchElem, n)
		hashes := make([]common.Hash, n)
		for k, tx := range txs[:n] {
			raw, err := tx.MarshalBinary()
			if err != nil {
				return accepted, err
			}
			elems[k] = rpc.BatchElem{Method: "eth_sendRawTransaction", Args: []any{hexutil.Bytes(raw)}, Result: &hashes[k]}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.Nodes[i].RPC().BatchCallContext(ctx, elems)
		cancel()
		if err != nil {
			return accepted, err
		}
		for k, e := range elems {
			if e.Error == nil {
				accepted = append(accepted, txs[k])
			} else if firstErr == nil {
				firstErr = fmt.Errorf("nonce %d: %w", txs[k].Nonce(), e.Error)
			}
		}
		txs = txs[n:]
	}
	return accepted, firstErr
}

// receiptOn returns node i's receipt of hash, nil if it has none.
func receiptOn(c *testnode.Cluster, i int, hash common.Hash) (*types.Receipt, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Nodes[i].Client().TransactionReceipt(ctx, hash)
	if errors.Is(err, ethereum.NotFound) {
		return nil, nil
	}
	return r, err
}

// waitReceipts polls node i until it has the receipts of all hashes.
func waitReceipts(c *testnode.Cluster, i int, hashes []common.Hash, timeout time.Duration) (map[common.Hash]*types.Receipt, error) {
	got := map[common.Hash]*types.Receipt{}
	err := testnode.Poll(timeout, 20*time.Millisecond, func() error {
		for _, h := range hashes {
			if got[h] != nil {
				continue
			}
			r, err := receiptOn(c, i, h)
			if err != nil {
				return err
			}
			if r == nil {
				return fmt.Errorf("%d of %d receipts on %s; none yet for %s", len(got), len(hashes), c.IDs[i], h)
			}
			got[h] = r
		}
		return nil
	})
	return got, err
}

// waitReceiptsProgress waits for receipts as long as node i's head keeps
// advancing: it fails only when the head stood still for stall, or after
// limit in all. Tests that commit thousands of blocks use it, so that a
// slow machine is slow, not a failure.
func waitReceiptsProgress(c *testnode.Cluster, i int, hashes []common.Hash, stall, limit time.Duration) (map[common.Hash]*types.Receipt, error) {
	deadline := time.Now().Add(limit)
	var last uint64
	for {
		got, err := waitReceipts(c, i, hashes, stall)
		if err == nil || time.Now().After(deadline) {
			return got, err
		}
		h, herr := c.HeadOf(i)
		if herr != nil || uint64(h.Number) == last {
			return got, fmt.Errorf("%v (head stood still at #%d for %v)", err, last, stall)
		}
		last = uint64(h.Number)
	}
}

// answered reports whether err is an answer of the node (a JSON-RPC
// error) rather than a failure to reach it.
func answered(err error) bool {
	var re rpc.Error
	return errors.As(err, &re)
}

// confirmedTx is a transaction whose receipt a node returned.
type confirmedTx struct {
	block  common.Hash
	number uint64
	node   int // node that returned the receipt
}

// load sends transfers from several keys through chosen nodes and records
// every transaction whose receipt any node returned. A sender whose node
// stops answering moves to the next node and takes its nonce from there.
type load struct {
	c     *testnode.Cluster
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	conf  map[common.Hash]confirmedTx
	sent  int            // transactions a node accepted
	notes map[string]int // refusals and failures, by kind
}

// startLoad starts one sender per key; sender g starts on nodes[g%len]
// and moves only among nodes.
func startLoad(t *testing.T, c *testnode.Cluster, keys []*ecdsa.PrivateKey, nodes []int) *load {
	l := &load{c: c, stop: make(chan struct{}), conf: map[common.Hash]confirmedTx{}, notes: map[string]int{}}
	for g, k := range keys {
		l.wg.Add(1)
		go l.sender(g, k, nodes, g%len(nodes))
	}
	t.Cleanup(l.halt)
	return l
}

func (l *load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// Stop stops the senders and returns what was confirmed.
func (l *load) Stop() map[common.Hash]confirmedTx {
	l.halt()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[common.Hash]confirmedTx, len(l.conf))
	for h, c := range l.conf {
		out[h] = c
	}
	return out
}

// Confirmed is how many receipts were returned so far.
func (l *load) Confirmed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conf)
}

// WaitConfirmed waits until at least n receipts were returned.
func (l *load) WaitConfirmed(n int, timeout time.Duration) error {
	return testnode.Poll(timeout, 10*time.Millisecond, func() error {
		if got := l.Confirmed(); got < n {
			return fmt.Errorf("%d of %d transfers confirmed (notes %s)", got, n, l.Notes())
		}
		return nil
	})
}

// Notes summarises refusals and failures the senders met.
func (l *load) Notes() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for k, v := range l.notes {
		parts = append(parts, fmt.Sprintf("%dx %s", v, k))
	}
	sort.Strings(parts)
	return fmt.Sprintf("sent %d; %s", l.sent, strings.Join(parts, "; "))
}

func (l *load) note(kind string, err error) {
	msg := kind
	if err != nil {
		msg += ": " + err.Error()
		if len(msg) > 120 {
			msg = msg[:120]
		}
	}
	l.mu.Lock()
	l.notes[msg]++
	l.mu.Unlock()
}

func (l *load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// sender sends batches of transfers and waits for their receipts.
func (l *load) sender(g int, key *ecdsa.PrivateKey, nodes []int, at int) {
	defer l.wg.Done()
	from := crypto.PubkeyToAddress(key.PublicKey)
	to := common.BigToAddress(big.NewInt(int64(0x20000 + g)))
	next := func() { at = (at + 1) % len(nodes) }
	const batch = 6
	known := false
	var nonce uint64
	for !l.stopped() {
		node := nodes[at]
		if l.c.Nodes[node].Pid() == 0 || l.c.Nodes[node].Paused() {
			next()
			continue
		}
		if !known {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			n, err := l.c.Nodes[node].Client().PendingNonceAt(ctx, from)
			cancel()
			if err != nil {
				l.note("pending nonce", err)
				next()
				continue
			}
			nonce, known = n, true
		}
		var sent []common.Hash
		for k := 0; k < batch; k++ {
			tx := transfer(key, nonce+uint64(k), to, 1)
			if err := sendRaw(l.c, node, tx); err != nil {
				l.note("send", err)
				known = false
				if !answered(err) {
					next()
				}
				break
			}
			sent = append(sent, tx.Hash())
		}
		l.mu.Lock()
		l.sent += len(sent)
		l.mu.Unlock()
		if len(sent) < batch {
			continue
		}
		// Receipts: from the node sent to while it answers, else from
		// another one. A transaction the dead node held alone is lost:
		// give up after a while and take the nonce afresh.
		for _, h := range sent {
			if !l.awaitReceipt(h, nodes, &at) {
				known = false
				break
			}
		}
		if known {
			nonce += batch
		}
	}
}

// awaitReceipt polls for the receipt of h, moving to another node when the
// current one fails; it reports whether a receipt came.
func (l *load) awaitReceipt(h common.Hash, nodes []int, at *int) bool {
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if l.stopped() {
			return false
		}
		node := nodes[*at]
		r, err := receiptOn(l.c, node, h)
		if err != nil {
			l.note("receipt", err)
			*at = (*at + 1) % len(nodes)
		} else if r != nil {
			l.mu.Lock()
			l.conf[h] = confirmedTx{block: r.BlockHash, number: r.BlockNumber.Uint64(), node: node}
			l.mu.Unlock()
			return true
		}
		<-tick.C
	}
	l.note("no receipt within 20s", nil)
	return false
}

// chainBlock is what the chain checks read of a block.
type chainBlock struct {
	Number hexutil.Uint64 `json:"number"`
	Hash   common.Hash    `json:"hash"`
	Parent common.Hash    `json:"parentHash"`
	Root   common.Hash    `json:"stateRoot"`
	Txs    []common.Hash  `json:"transactions"`
}

// scanChain reads blocks 0..head of node i, checks that they link up, and
// returns the block hash of every transaction; a transaction found in two
// places is reported in dups.
func scanChain(t *testing.T, c *testnode.Cluster, i int, head uint64) (txs map[common.Hash]common.Hash, blocks []chainBlock, dups []string) {
	t.Helper()
	txs = map[common.Hash]common.Hash{}
	for from := uint64(0); from <= head; from += 200 {
		n := min(head-from+1, 200)
		part := make([]chainBlock, n)
		elems := make([]rpc.BatchElem, n)
		for k := range elems {
			elems[k] = rpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{hexutil.Uint64(from + uint64(k)), false}, Result: &part[k]}
		}
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.Nodes[i].RPC().BatchCallContext(cctx, elems)
		cancel()
		if err != nil {
			t.Fatalf("%s: blocks from #%d: %v", c.IDs[i], from, err)
		}
		for k, e := range elems {
			if e.Error != nil || part[k].Hash == (common.Hash{}) {
				t.Fatalf("%s: block #%d: %v (hash %s)", c.IDs[i], from+uint64(k), e.Error, part[k].Hash)
			}
		}
		blocks = append(blocks, part...)
	}
	for k, b := range blocks {
		if uint64(b.Number) != uint64(k) {
			t.Fatalf("%s: block #%d reports number %d", c.IDs[i], k, b.Number)
		}
		if k > 0 && b.Parent != blocks[k-1].Hash {
			t.Errorf("%s: block #%d's parent %s is not block #%d %s", c.IDs[i], k, b.Parent, k-1, blocks[k-1].Hash)
		}
		for _, h := range b.Txs {
			if prev, ok := txs[h]; ok {
				dups = append(dups, fmt.Sprintf("%s in %s and #%d %s", h, prev, k, b.Hash))
			}
			txs[h] = b.Hash
		}
	}
	return txs, blocks, dups
}

// checkSameChain scans the chain up to head on every live node: the same
// blocks everywhere, no transaction twice, and every confirmed transfer in
// the block its receipt named. It returns the transactions of the chain.
func checkSameChain(t *testing.T, c *testnode.Cluster, head testnode.Head, conf map[common.Hash]confirmedTx) map[common.Hash]common.Hash {
	t.Helper()
	var ref []chainBlock
	var refTxs map[common.Hash]common.Hash
	for _, i := range c.Live() {
		txs, blocks, dups := scanChain(t, c, i, uint64(head.Number))
		if len(dups) > 0 {
			t.Errorf("%s: %d transactions committed twice, e.g. %s", c.IDs[i], len(dups), dups[0])
		}
		if blocks[len(blocks)-1].Hash != head.Hash {
			t.Errorf("%s: block #%d is %s, want %s", c.IDs[i], head.Number, blocks[len(blocks)-1].Hash, head.Hash)
		}
		missing, moved := 0, 0
		for h, cf := range conf {
			switch b, ok := txs[h]; {
			case !ok:
				missing++
				if missing <= 3 {
					t.Errorf("%s: confirmed transfer %s (receipt from %s in #%d) is not in the chain", c.IDs[i], h, c.IDs[cf.node], cf.number)
				}
			case b != cf.block:
				moved++
				if moved <= 3 {
					t.Errorf("%s: confirmed transfer %s is in block %s, its receipt from %s named #%d %s", c.IDs[i], h, b, c.IDs[cf.node], cf.number, cf.block)
				}
			}
		}
		if missing+moved > 0 {
			t.Errorf("%s: %d of %d confirmed transfers missing, %d in another block", c.IDs[i], missing, len(conf), moved)
		}
		if ref == nil {
			ref, refTxs = blocks, txs
			continue
		}
		for k := range blocks {
			if !sameBlock(blocks[k], ref[k]) {
				t.Errorf("%s: block #%d differs from %s's: %+v vs %+v", c.IDs[i], k, c.IDs[c.Live()[0]], blocks[k], ref[k])
				break
			}
		}
	}
	return refTxs
}

func sameBlock(a, b chainBlock) bool {
	if a.Number != b.Number || a.Hash != b.Hash || a.Parent != b.Parent || a.Root != b.Root || len(a.Txs) != len(b.Txs) {
		return false
	}
	for k := range a.Txs {
		if a.Txs[k] != b.Txs[k] {
			return false
		}
	}
	return true
}
