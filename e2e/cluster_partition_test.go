package e2e

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// TestClusterPartitionedMinority: a follower cut off by the proxies makes
// no progress while the majority commits; transactions sent to it are
// accepted into its pool but not committed. After the partition heals it
// rejoins, reaches the majority's head, and the transactions it held are
// forwarded to the leader and committed.
func TestClusterPartitionedMinority(t *testing.T) {
	keys := clusterKeys("minority", 2)
	c := startCluster(t, testnode.ClusterOptions{Alloc: allocFor(keys)})
	lead := c.Leader()
	m, g := c.Others(lead)[0], c.Others(lead)[1]
	mAddr := crypto.PubkeyToAddress(keys[0].PublicKey)
	to := common.HexToAddress("0x4000")

	c.Isolate(m)
	isolatedAt := time.Now()
	h0, err := c.HeadOf(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s isolated at %v", c.IDs[m], h0)

	// Sent to the isolated node: accepted into its pool.
	var held []*types.Transaction
	for n := uint64(0); n < 3; n++ {
		tx := transfer(keys[0], n, to, int64(n+1))
		if err := sendRaw(c, m, tx); err != nil {
			t.Fatalf("eth_sendRawTransaction to isolated %s (nonce %d): %v", c.IDs[m], n, err)
		}
		held = append(held, tx)
	}
	if p, err := c.Nodes[m].Client().PendingNonceAt(ctx(t), mAddr); err != nil || p != 3 {
		t.Errorf("pending nonce on isolated %s = %d (%v), want 3", c.IDs[m], p, err)
	}
	if _, isPending, err := c.Nodes[m].Client().TransactionByHash(ctx(t), held[2].Hash()); err != nil || !isPending {
		t.Errorf("eth_getTransactionByHash on isolated %s: pending %v (%v)", c.IDs[m], isPending, err)
	}

	// The majority commits, through both of its nodes; m stays put.
	var majority []*types.Receipt
	for k := 0; k < 12; k++ {
		via := []int{lead, g}[k%2]
		tx := transfer(keys[1], uint64(k), to, 1000)
		if err := sendRaw(c, via, tx); err != nil {
			t.Fatalf("send to %s: %v", c.IDs[via], err)
		}
		rs, err := waitReceipts(c, via, []common.Hash{tx.Hash()}, 10*time.Second)
		if err != nil {
			t.Fatalf("majority transfer %d via %s: %v", k, c.IDs[via], err)
		}
		majority = append(majority, rs[tx.Hash()])
		if h, err := c.HeadOf(m); err != nil || h != h0 {
			t.Fatalf("isolated %s moved from %v to %v (%v)", c.IDs[m], h0, h, err)
		}
	}
	top := majority[len(majority)-1].BlockNumber.Uint64()
	if top < uint64(h0.Number)+12 {
		t.Errorf("majority at #%d, isolated node at %v: want 12 blocks of progress", top, h0)
	}
	leaked := false
	for _, tx := range held {
		for _, i := range []int{lead, g} {
			if r, err := receiptOn(c, i, tx.Hash()); err != nil || r != nil {
				leaked = true
				t.Errorf("transaction %s held by isolated %s committed during the partition: %s has it in block %v (%v); raft_leader on %s names %s, %s's raftAddr is %s",
					tx.Hash(), c.IDs[m], c.IDs[i], blockOf(r), err, c.IDs[m], leaderAddr(c, m), c.IDs[lead], c.RaftAddrs[lead])
			}
		}
	}
	if n, err := c.Nodes[lead].Client().NonceAt(ctx(t), mAddr, nil); err != nil || n != 0 {
		t.Errorf("nonce on the majority of the isolated node's sender = %d (%v), want 0", n, err)
	}
	// The partition lasts until m has noticed it: no leader any more.
	err = testnode.Poll(15*time.Second, 20*time.Millisecond, func() error {
		if k, err := c.RaftLeader(m); err == nil {
			return fmt.Errorf("isolated %s still names %s leader", c.IDs[m], c.IDs[k])
		}
		return nil
	})
	if err != nil {
		t.Errorf("isolated node never noticed the partition: %v", err)
	}
	role, _ := c.Role(m)
	info, _ := c.Info(m)
	t.Logf("after %v isolated, %s says role %q, builds %v, head %v; majority at #%d",
		time.Since(isolatedAt).Round(time.Millisecond), c.IDs[m], role, info.Leader, h0, top)
	if role == "leader" || info.Leader {
		t.Errorf("isolated %s claims to lead", c.IDs[m])
	}
	if h, err := c.HeadOf(m); err != nil || h != h0 {
		t.Errorf("isolated %s moved from %v to %v (%v)", c.IDs[m], h0, h, err)
	}
	for _, tx := range held {
		if r, err := receiptOn(c, lead, tx.Hash()); !leaked && (err != nil || r != nil) {
			t.Errorf("transaction %s held by isolated %s committed during the partition (block %v, %v)", tx.Hash(), c.IDs[m], blockOf(r), err)
		}
	}

	// Heal: m rejoins and what it held is committed.
	c.Heal()
	healedAt := time.Now()
	hashes := []common.Hash{held[0].Hash(), held[1].Hash(), held[2].Hash()}
	rs, err := waitReceipts(c, c.Leader(), hashes, 30*time.Second)
	if err != nil {
		t.Fatalf("transactions held by %s not committed after heal: %v", c.IDs[m], err)
	}
	t.Logf("held transactions committed %v after heal (block #%d)", time.Since(healedAt).Round(time.Millisecond), rs[hashes[2]].BlockNumber)
	head := c.WaitSameHead(30 * time.Second)
	t.Logf("%s rejoined: all nodes at %v", c.IDs[m], head)
	for _, h := range hashes {
		if r, err := receiptOn(c, m, h); err != nil || r == nil || r.BlockHash != rs[h].BlockHash || r.Status != 1 {
			t.Errorf("receipt of %s on %s: %+v (%v)", h, c.IDs[m], r, err)
		}
	}
	if role, err := c.Role(m); err != nil || role != "follower" {
		t.Errorf("raft_role of %s after heal = %q (%v)", c.IDs[m], role, err)
	}
	txs := checkSameChain(t, c, head, nil)
	for _, r := range majority {
		if txs[r.TxHash] != r.BlockHash {
			t.Errorf("majority transfer %s not in block %s", r.TxHash, r.BlockHash)
		}
	}
}

// TestClusterLeaderIsolated: the leader is cut off right after it accepted
// a burst of transactions (its blocks in flight), while senders push
// transfers through the followers. The followers elect a new leader and
// go on; after the partition heals the old leader is a follower on the same
// head, every transaction it accepted is committed, every confirmed
// transfer is in the block its receipt named, and no transaction is in the
// chain twice.
func TestClusterLeaderIsolated(t *testing.T) {
	keys := clusterKeys("isolated", 5)
	c := startCluster(t, testnode.ClusterOptions{Alloc: allocFor(keys)})
	old := c.Leader()
	fs := c.Others(old)
	l := startLoad(t, c, keys[1:], fs)
	if err := l.WaitConfirmed(100, 30*time.Second); err != nil {
		t.Fatalf("before the partition: %v", err)
	}

	// A burst the leader accepts, then at once the partition.
	burst := make([]*types.Transaction, 300)
	for n := range burst {
		burst[n] = transfer(keys[0], uint64(n), common.HexToAddress("0x5000"), 1)
	}
	acc, err := sendBatch(c, old, burst)
	if err != nil || len(acc) != len(burst) {
		t.Fatalf("burst to the leader: %d of %d accepted: %v", len(acc), len(burst), err)
	}
	c.Isolate(old)
	isolatedAt := time.Now()
	atIsolation, _ := c.HeadOf(old)

	// The majority elects a new leader.
	newLead := -1
	err = testnode.Poll(15*time.Second, 5*time.Millisecond, func() error {
		for _, i := range fs {
			if k, err := c.RaftLeader(i); err == nil && k != old {
				newLead = k
				return nil
			}
		}
		return errors.New("followers name no new leader")
	})
	if err != nil {
		t.Fatalf("no new leader after isolating %s: %v", c.IDs[old], err)
	}
	t.Logf("leader %s isolated (head %v); %s named leader after %v", c.IDs[old], atIsolation, c.IDs[newLead], time.Since(isolatedAt).Round(time.Millisecond))
	if l2 := c.Leader(); l2 == old {
		t.Fatalf("the majority still follows %s", c.IDs[old])
	}
	// The old leader steps down and commits nothing while cut off.
	var stale testnode.Head
	err = testnode.Poll(10*time.Second, 20*time.Millisecond, func() error {
		role, err := c.Role(old)
		if err != nil {
			return err
		}
		if info, err := c.Info(old); err != nil || info.Leader || role == "leader" {
			return fmt.Errorf("isolated old leader says role %q, builds %v (%v)", role, info.Leader, err)
		}
		stale, err = c.HeadOf(old)
		return err
	})
	if err != nil {
		t.Errorf("old leader did not step down: %v", err)
	}
	before := l.Confirmed()
	if err := l.WaitConfirmed(before+200, 30*time.Second); err != nil {
		t.Errorf("the majority did not go on: %v", err)
	}
	if h, err := c.HeadOf(old); err != nil || h != stale {
		t.Errorf("isolated old leader moved from %v to %v (%v)", stale, h, err)
	}

	c.Heal()
	healedAt := time.Now()
	conf := l.Stop()
	t.Logf("%d transfers confirmed through the followers; %s", len(conf), l.Notes())
	// Every transaction the old leader accepted is committed.
	hashes := make([]common.Hash, len(burst))
	for n, tx := range burst {
		hashes[n] = tx.Hash()
	}
	lead := c.Leader()
	if _, err := waitReceipts(c, lead, hashes, 30*time.Second); err != nil {
		t.Errorf("burst accepted by the old leader not all committed after heal: %v", err)
	}
	head := c.WaitSameHead(30 * time.Second)
	t.Logf("after heal (%v): %s leads, all at %v", time.Since(healedAt).Round(time.Millisecond), c.IDs[lead], head)
	if role, err := c.Role(old); err != nil || role != "follower" {
		t.Errorf("raft_role of the old leader %s after heal = %q (%v)", c.IDs[old], role, err)
	}
	txs := checkSameChain(t, c, head, conf)
	early := 0
	for _, h := range hashes {
		if b, ok := txs[h]; ok {
			var r *types.Receipt
			if r, _ = receiptOn(c, lead, h); r != nil && r.BlockHash == b && r.BlockNumber.Uint64() <= uint64(atIsolation.Number) {
				early++
			}
		}
	}
	t.Logf("of the %d burst transfers, %d were in blocks up to the old leader's head at isolation", len(burst), early)
}

func blockOf(r *types.Receipt) any {
	if r == nil {
		return nil
	}
	return r.BlockNumber
}

// TestClusterForwardAcrossShortPartition: a follower is cut off from the
// others for less than the election timeout (it never stops naming the
// leader) and a transaction is sent to it meanwhile. The follower keeps
// the transaction in its pool and must get it to the leader once the link
// is back, although no leader change tells it to forward its pool again.
func TestClusterForwardAcrossShortPartition(t *testing.T) {
	keys := clusterKeys("short", 1)
	c := startCluster(t, testnode.ClusterOptions{Alloc: allocFor(keys)})
	lead := c.Leader()
	f := c.Others(lead)[0]
	// A first forwarded transfer opens f's forwarding connection.
	first := transfer(keys[0], 0, common.HexToAddress("0x6000"), 1)
	if err := sendRaw(c, f, first); err != nil {
		t.Fatal(err)
	}
	if _, err := waitReceipts(c, f, []common.Hash{first.Hash()}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Isolate(f)
	tx := transfer(keys[0], 1, common.HexToAddress("0x6000"), 1)
	if err := sendRaw(c, f, tx); err != nil {
		t.Fatalf("send to %s while it is cut off: %v", c.IDs[f], err)
	}
	// Keep the link down until f's forwarder has dialled the leader (its
	// raftAddr, the proxy) and been refused, then heal well before f's
	// election timeout.
	_, refused0, _ := c.Proxies[lead].Stats()
	err := testnode.Poll(900*time.Millisecond, 5*time.Millisecond, func() error {
		if _, refused, _ := c.Proxies[lead].Stats(); refused == refused0 {
			return fmt.Errorf("%s did not dial the leader's raftAddr %s within 900 ms of the send", c.IDs[f], c.RaftAddrs[lead])
		}
		return nil
	})
	c.Heal()
	if err != nil {
		t.Errorf("forwarding bypasses the leader's raftAddr: %v (raft_leader names %s)", err, leaderAddr(c, f))
	}
	if k, err := c.RaftLeader(f); err != nil || k != lead {
		t.Fatalf("%s noticed the partition (leader %d, %v): the partition was not short", c.IDs[f], k, err)
	}
	start := time.Now()
	if _, err := waitReceipts(c, lead, []common.Hash{tx.Hash()}, 15*time.Second); err != nil {
		var pending uint64
		pending, _ = c.Nodes[f].Client().PendingNonceAt(ctx(t), crypto.PubkeyToAddress(keys[0].PublicKey))
		t.Fatalf("transaction sent to %s during a short partition never reached the leader (it is still in %s's pool: pending nonce %d): %v", c.IDs[f], c.IDs[f], pending, err)
	}
	t.Logf("committed %v after heal", time.Since(start).Round(time.Millisecond))
	c.WaitSameHead(10 * time.Second)
}

// leaderAddr is the address raft_leader on node i names.
func leaderAddr(c *testnode.Cluster, i int) string {
	var li struct {
		Address string `json:"address"`
	}
	if err := c.Call(i, &li, "raft_leader"); err != nil {
		return err.Error()
	}
	return li.Address
}
