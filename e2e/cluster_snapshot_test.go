package e2e

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

// snapshotBlocks is how many blocks the cluster makes while a follower is
// down.
const snapshotBlocks = 10_200

// TestClusterSnapshotCatchUp: a follower is down while the others make
// more than 10,000 blocks (one transfer per block) and compact their logs
// (snapshot threshold 256, 128 trailing entries). Restarted, it installs a
// state snapshot from the leader, reaches the same head and state root,
// serves the same balances (latest and historical) and follows new blocks.
//
// hashicorp/raft checks whether to take a snapshot every 30-60 s
// (cocobackend's SnapshotInterval, not a flag), so the test waits for the
// leader's first snapshot after the blocks are made.
func TestClusterSnapshotCatchUp(t *testing.T) {
	keys := clusterKeys("snapshot", 4)
	c := startCluster(t, testnode.ClusterOptions{
		BlockTime: "1ms", MaxTxs: 1, Alloc: allocFor(keys),
		Args: []string{"--raft.snapshot-threshold", "256", "--raft.trailing-logs", "128", "--raft.snapshot-interval", "3s"},
	})
	lead := c.Leader()
	f, g := c.Others(lead)[0], c.Others(lead)[1]
	if err := c.Nodes[f].Stop(); err != nil {
		t.Fatalf("stop %s: %v", c.IDs[f], err)
	}
	down := c.WaitSameHead(10 * time.Second)
	var fInfo testnode.NodeInfo
	t.Logf("%s stopped at block #%d", c.IDs[f], down.Number)

	// One transfer per block: each key sends its transfers in nonce order
	// to recipients that repeat, half through the leader, half through the
	// live follower (which forwards them).
	start := time.Now()
	perKey := snapshotBlocks / len(keys)
	recipients := make([]common.Address, 40)
	for k := range recipients {
		recipients[k] = common.BigToAddress(big.NewInt(int64(0x30000 + k)))
	}
	var last []common.Hash
	for k, key := range keys {
		txs := make([]*types.Transaction, perKey)
		for n := range txs {
			txs[n] = transfer(key, uint64(n), recipients[(k*perKey+n)%len(recipients)], int64(n+1))
		}
		via := lead
		if k%2 == 1 {
			via = g
		}
		acc, err := sendBatch(c, via, txs)
		if err != nil || len(acc) != len(txs) {
			t.Fatalf("key %d via %s: %d of %d accepted: %v", k, c.IDs[via], len(acc), len(txs), err)
		}
		last = append(last, txs[len(txs)-1].Hash())
	}
	t.Logf("%d transfers sent in %v", perKey*len(keys), time.Since(start).Round(time.Millisecond))
	// The last nonce of every key committed means all of them did.
	if _, err := waitReceiptsProgress(c, lead, last, 30*time.Second, 10*time.Minute); err != nil {
		t.Fatalf("transfers not committed: %v", err)
	}
	head := c.WaitSameHead(30 * time.Second)
	made := uint64(head.Number) - uint64(down.Number)
	t.Logf("%d blocks made in %v (%.0f blocks/s) while %s was down", made, time.Since(start).Round(time.Millisecond),
		float64(made)/time.Since(start).Seconds(), c.IDs[f])
	if made < 10_000 {
		t.Fatalf("only %d blocks made while %s was down, want more than 10,000", made, c.IDs[f])
	}

	// The leader must have compacted its log past what f has: a snapshot
	// at least trailing-logs beyond f's last entry.
	var stats map[string]string
	var snapIndex uint64
	waitStart := time.Now()
	err := testnode.Poll(90*time.Second, 100*time.Millisecond, func() error {
		if err := c.Call(lead, &stats, "raft_stats"); err != nil {
			return err
		}
		snapIndex, _ = strconv.ParseUint(stats["last_snapshot_index"], 10, 64)
		if snapIndex < uint64(down.Number)+1024 {
			return fmt.Errorf("leader's last snapshot at index %d", snapIndex)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("no snapshot on the leader: %v", err)
	}
	t.Logf("leader snapshot at index %d (waited %v)", snapIndex, time.Since(waitStart).Round(time.Millisecond))

	// f comes back: it must install a snapshot, not replay the log.
	restart := time.Now()
	c.Nodes[f].StartAgain()
	if !c.Nodes[f].WaitLog("Installed state snapshot", 60*time.Second) {
		t.Fatalf("%s did not log \"Installed state snapshot\" after its restart", c.IDs[f])
	}
	final := c.WaitSameHead(60 * time.Second)
	t.Logf("%s caught up to %v in %v", c.IDs[f], final, time.Since(restart).Round(time.Millisecond))
	for _, line := range strings.Split(c.Nodes[f].LastLog(), "\n") {
		if strings.Contains(line, "Installed state snapshot") || strings.Contains(line, "HALTED") {
			t.Logf("%s: %s", c.IDs[f], strings.TrimSpace(line))
		}
	}
	if strings.Contains(c.Nodes[f].LastLog(), "HALTED") {
		t.Errorf("%s halted after the snapshot", c.IDs[f])
	}
	if err := c.Call(f, &fInfo, "coco_nodeInfo"); err != nil || uint64(fInfo.Head) != uint64(final.Number) {
		t.Errorf("coco_nodeInfo on %s = %+v (%v)", c.IDs[f], fInfo, err)
	}

	// Reads on f equal reads on the leader: latest balances and nonces,
	// blocks and receipts. The snapshot carried the current state only
	// (the nodes are full nodes): older states answer the missing trie
	// node error, as on a geth node that synced, never a wrong balance.
	var addrs []common.Address
	addrs = append(addrs, recipients...)
	for _, k := range keys {
		addrs = append(addrs, crypto.PubkeyToAddress(k.PublicKey))
	}
	compareReads(t, c, lead, f, addrs, rpc.BlockNumber(final.Number))
	mid := big.NewInt(int64(down.Number) + int64(made)/2)
	if _, err := c.Nodes[f].Client().BalanceAt(ctx(t), addrs[0], mid); err == nil || !strings.Contains(err.Error(), "missing trie node") {
		t.Errorf("balance at #%v on %s, whose snapshot carried the current state only: %v, want missing trie node", mid, c.IDs[f], err)
	}
	if hl, hf := headerOn(t, c, lead, mid), headerOn(t, c, f, mid); hl != hf {
		t.Errorf("block #%v: %s %s, %s %s", mid, c.IDs[lead], hl, c.IDs[f], hf)
	}
	// The balance of a recipient is the sum of what it was sent.
	want := map[common.Address]int64{}
	for k := range keys {
		for n := 0; n < perKey; n++ {
			want[recipients[(k*perKey+n)%len(recipients)]] += int64(n + 1)
		}
	}
	for a, v := range want {
		bal, err := c.Nodes[f].Client().BalanceAt(ctx(t), a, nil)
		if err != nil || bal.Cmp(big.NewInt(v)) != 0 {
			t.Errorf("balance of %s on %s = %v (%v), want %d", a, c.IDs[f], bal, err, v)
			break
		}
	}
	for _, h := range last {
		rl, _ := receiptOn(c, lead, h)
		rf, err := receiptOn(c, f, h)
		if err != nil || rf == nil || rl == nil || rf.BlockHash != rl.BlockHash {
			t.Errorf("receipt of %s on %s = %v (%v), leader's %v", h, c.IDs[f], rf, err, rl)
		}
	}

	// It follows new blocks and takes transactions.
	w := testnode.NewWallet(c.Nodes[f].Client(), testnode.DevKey(), testnode.DevChainID)
	r := w.Transfer(t, recipients[0], big.NewInt(1))
	c.WaitHead(r.BlockNumber.Uint64(), 10*time.Second)
	c.WaitSameHead(10 * time.Second)
}

// compareReads fails unless nodes a and b answer the same balances and
// nonces of addrs and the same block at block number at.
func compareReads(t *testing.T, c *testnode.Cluster, a, b int, addrs []common.Address, at rpc.BlockNumber) {
	t.Helper()
	num := big.NewInt(at.Int64())
	ha, err1 := c.Nodes[a].Client().HeaderByNumber(ctx(t), num)
	hb, err2 := c.Nodes[b].Client().HeaderByNumber(ctx(t), num)
	if err1 != nil || err2 != nil || ha.Hash() != hb.Hash() {
		t.Errorf("block #%d: %s %v (%v), %s %v (%v)", at, c.IDs[a], hashOf(ha), err1, c.IDs[b], hashOf(hb), err2)
		return
	}
	for _, addr := range addrs {
		ba, err1 := c.Nodes[a].Client().BalanceAt(ctx(t), addr, num)
		bb, err2 := c.Nodes[b].Client().BalanceAt(ctx(t), addr, num)
		if err1 != nil || err2 != nil || ba.Cmp(bb) != 0 {
			t.Errorf("balance of %s at #%d: %s %v (%v), %s %v (%v)", addr, at, c.IDs[a], ba, err1, c.IDs[b], bb, err2)
			return
		}
		na, err1 := c.Nodes[a].Client().NonceAt(ctx(t), addr, num)
		nb, err2 := c.Nodes[b].Client().NonceAt(ctx(t), addr, num)
		if err1 != nil || err2 != nil || na != nb {
			t.Errorf("nonce of %s at #%d: %s %d (%v), %s %d (%v)", addr, at, c.IDs[a], na, err1, c.IDs[b], nb, err2)
			return
		}
	}
}

// headerOn is the hash of node i's block number n.
func headerOn(t *testing.T, c *testnode.Cluster, i int, n *big.Int) common.Hash {
	t.Helper()
	h, err := c.Nodes[i].Client().HeaderByNumber(ctx(t), n)
	if err != nil {
		t.Errorf("block #%v on %s: %v", n, c.IDs[i], err)
	}
	return hashOf(h)
}

func hashOf(h *types.Header) common.Hash {
	if h == nil {
		return common.Hash{}
	}
	return h.Hash()
}
