package e2e

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Cluster tests: three real cocogeth processes forming a Raft cluster
// (internal/testnode.StartCluster), each behind a TCP proxy of the test so
// that partitions can be made. Skipped with -short.

// maxFailover is the longest a 3-node cluster at default timeouts (800 ms
// heartbeat, election and lease; a new leader measured 1.3-1.8 s after the
// old one died) may stay without a leader after the leader dies.
const maxFailover = 3 * time.Second

// TestClusterFollowerWorkflow: leader election, then a JSON-RPC workflow
// through a follower: send there, receipt there, read-after-write on the
// other follower with coco_waitForBlock, the follower's pending nonce
// counting a forwarded transaction that is not committed yet.
func TestClusterFollowerWorkflow(t *testing.T) {
	c := startCluster(t, testnode.ClusterOptions{})
	lead := c.Leader()
	others := c.Others(lead)
	f, g := others[0], others[1]

	// Every node names the same leader; roles and membership agree.
	for i := range c.Nodes {
		if l, err := c.RaftLeader(i); err != nil || l != lead {
			t.Errorf("raft_leader on %s = %d (%v), want %s", c.IDs[i], l, err, c.IDs[lead])
		}
		// The address is the one peers know the leader by (its genesis
		// raftAddr, as raft_cluster lists it), not where it listens.
		if a := leaderAddr(c, i); a != c.RaftAddrs[lead] {
			t.Errorf("raft_leader on %s names address %s; %s's raftAddr is %s (it listens on %s)", c.IDs[i], a, c.IDs[lead], c.RaftAddrs[lead], c.ListenAddrs[lead])
		}
		role, err := c.Role(i)
		want := "follower"
		if i == lead {
			want = "leader"
		}
		if err != nil || role != want {
			t.Errorf("raft_role on %s = %q (%v), want %q", c.IDs[i], role, err, want)
		}
		info, err := c.Info(i)
		if err != nil || info.Leader != (i == lead) || info.ChainID.ToInt().Cmp(testnode.DevChainID) != 0 || info.NodeChannel != "mutual TLS" {
			t.Errorf("coco_nodeInfo on %s = %+v (%v)", c.IDs[i], info, err)
		}
		var cl struct {
			Self    string `json:"self"`
			Servers []struct {
				ID, Address, Suffrage string
				Leader                bool
			} `json:"servers"`
			Halted string `json:"halted"`
		}
		if err := c.Call(i, &cl, "raft_cluster"); err != nil {
			t.Fatalf("raft_cluster on %s: %v", c.IDs[i], err)
		}
		if cl.Self != c.IDs[i] || len(cl.Servers) != 3 || cl.Halted != "" {
			t.Errorf("raft_cluster on %s = %+v", c.IDs[i], cl)
		}
		for _, s := range cl.Servers {
			k := c.Index(s.ID)
			if k < 0 || s.Address != c.RaftAddrs[k] || s.Suffrage != "Voter" || s.Leader != (k == lead) {
				t.Errorf("raft_cluster on %s: server %+v", c.IDs[i], s)
			}
		}
	}

	// A transfer sent to follower f: receipt from f.
	fw := testnode.NewWallet(c.Nodes[f].Client(), testnode.DevKey(), testnode.DevChainID)
	to := crypto.PubkeyToAddress(clusterKeys("workflow", 1)[0].PublicKey)
	r := fw.Transfer(t, to, big.NewInt(12345))
	t.Logf("transfer via follower %s: block #%d", c.IDs[f], r.BlockNumber)

	// Read-after-write on follower g: wait for the receipt's block there.
	var head hexutil.Uint64
	if err := c.Call(g, &head, "coco_waitForBlock", hexutil.Uint64(r.BlockNumber.Uint64()), hexutil.Uint64(10000)); err != nil {
		t.Fatalf("coco_waitForBlock(%d) on %s: %v", r.BlockNumber, c.IDs[g], err)
	}
	if uint64(head) < r.BlockNumber.Uint64() {
		t.Errorf("coco_waitForBlock on %s returned head %d < %d", c.IDs[g], head, r.BlockNumber)
	}
	gc := c.Nodes[g].Client()
	if bal, err := gc.BalanceAt(ctx(t), to, nil); err != nil || bal.Int64() != 12345 {
		t.Errorf("balance on %s after waitForBlock = %v (%v), want 12345", c.IDs[g], bal, err)
	}
	for _, i := range []int{g, lead} {
		ri, err := receiptOn(c, i, r.TxHash)
		if err != nil || ri == nil || ri.BlockHash != r.BlockHash {
			t.Errorf("receipt on %s = %+v (%v), want block %s", c.IDs[i], ri, err, r.BlockHash)
		}
	}
	// An already reached block answers at once; a far one times out.
	if err := c.Call(g, &head, "coco_waitForBlock", hexutil.Uint64(1), hexutil.Uint64(1)); err != nil {
		t.Errorf("coco_waitForBlock(1) on %s: %v", c.IDs[g], err)
	}
	start := time.Now()
	err := c.Call(g, &head, "coco_waitForBlock", hexutil.Uint64(1<<40), hexutil.Uint64(200))
	wantErr(t, "coco_waitForBlock of a far block", err, "timeout")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("coco_waitForBlock timed out after %v, asked 200 ms", d)
	}

	// A contract deployed and used through f, read through g.
	ev := testcontracts.MustLoad("Events")
	evAddr, _ := fw.DeployEvents(t)
	rs := fw.Transact(t, evAddr, ev.ABI, "set", big.NewInt(3), big.NewInt(333))
	if err := c.Call(g, &head, "coco_waitForBlock", hexutil.Uint64(rs.BlockNumber.Uint64()), hexutil.Uint64(10000)); err != nil {
		t.Fatal(err)
	}
	if got := testnode.Call(t, gc, evAddr, ev.ABI, "get", big.NewInt(3))[0].(*big.Int); got.Int64() != 333 {
		t.Errorf("Events.get(3) on %s = %v, want 333", c.IDs[g], got)
	}

	// The pending nonce on f counts a transaction it forwarded: pause the
	// leader so that nothing commits, send to f, ask f.
	latest, err := c.Nodes[f].Client().NonceAt(ctx(t), testnode.DevAddress, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Nodes[lead].Pause()
	pausedAt := time.Now()
	tx := transfer(testnode.DevKey(), latest, to, 1)
	if err := sendRaw(c, f, tx); err != nil {
		t.Fatalf("send to %s while the leader is paused: %v", c.IDs[f], err)
	}
	pending, err := c.Nodes[f].Client().PendingNonceAt(ctx(t), testnode.DevAddress)
	if err != nil || pending != latest+1 {
		t.Errorf("pending nonce on %s right after the send = %d (%v), want %d", c.IDs[f], pending, err, latest+1)
	}
	if got, isPending, err := c.Nodes[f].Client().TransactionByHash(ctx(t), tx.Hash()); err != nil || !isPending || got.Hash() != tx.Hash() {
		t.Errorf("eth_getTransactionByHash on %s: pending %v, %v", c.IDs[f], isPending, err)
	}
	if r, err := receiptOn(c, f, tx.Hash()); err != nil || r != nil {
		t.Errorf("receipt on %s with the leader paused: %v, %v", c.IDs[f], r, err)
	}
	c.Nodes[lead].Resume()
	t.Logf("leader paused for %v", time.Since(pausedAt).Round(time.Millisecond))
	rr := fw.Wait(t, tx.Hash())
	if rr.Status != types.ReceiptStatusSuccessful {
		t.Errorf("forwarded transfer failed: %+v", rr)
	}
	if pending, err := c.Nodes[f].Client().PendingNonceAt(ctx(t), testnode.DevAddress); err != nil || pending != latest+1 {
		t.Errorf("pending nonce on %s after the receipt = %d (%v), want %d", c.IDs[f], pending, err, latest+1)
	}
	c.WaitSameHead(10 * time.Second)
}

// TestClusterLeaderKillUnderLoad: kill -9 of the leader while senders
// push transfers through all three nodes. A new leader is named within
// maxFailover, every transfer whose receipt any node returned is in the
// final chain in the block its receipt named, the survivors and then the
// restarted node end on the same head, and the restarted node's log shows
// the replay of its log and its rejoining.
func TestClusterLeaderKillUnderLoad(t *testing.T) {
	keys := clusterKeys("kill", 6)
	c := startCluster(t, testnode.ClusterOptions{Alloc: allocFor(keys)})
	lead := c.Leader()
	survivors := c.Others(lead)
	l := startLoad(t, c, keys, []int{0, 1, 2})
	if err := l.WaitConfirmed(300, 30*time.Second); err != nil {
		t.Fatalf("before the kill: %v", err)
	}
	before := l.Confirmed()

	killedAt := time.Now()
	c.Nodes[lead].Kill()
	newLead := -1
	var failover time.Duration
	err := testnode.Poll(10*time.Second, 5*time.Millisecond, func() error {
		for _, i := range survivors {
			if k, err := c.RaftLeader(i); err == nil && k != lead {
				newLead, failover = k, time.Since(killedAt)
				return nil
			}
		}
		return errors.New("survivors name no other leader")
	})
	if err != nil {
		t.Fatalf("no new leader within 10 s of kill -9 of %s: %v", c.IDs[lead], err)
	}
	t.Logf("kill -9 of leader %s: %s named leader after %v (%d transfers confirmed before)", c.IDs[lead], c.IDs[newLead], failover.Round(time.Millisecond), before)
	if failover > maxFailover {
		t.Errorf("failover took %v, want at most %v", failover, maxFailover)
	}
	if l2 := c.Leader(); l2 == lead {
		t.Fatalf("leader is still %s", c.IDs[lead])
	}
	// The load goes on through the survivors.
	if err := l.WaitConfirmed(before+300, 30*time.Second); err != nil {
		t.Errorf("after the failover: %v", err)
	}
	conf := l.Stop()
	t.Logf("%d transfers confirmed in all; %s", len(conf), l.Notes())
	head := c.WaitSameHead(30 * time.Second)
	checkSameChain(t, c, head, conf)

	// The killed node restarts, replays its log and catches up.
	c.Nodes[lead].StartAgain()
	// RPC answers before the ledger has started: wait for its log.
	for _, want := range []string{"Unclean shutdown detected", "Rejoining Raft cluster"} {
		if !c.Nodes[lead].WaitLog(want, 10*time.Second) {
			t.Errorf("restart of %s: log lacks %q", c.IDs[lead], want)
		}
	}
	for _, line := range strings.Split(c.Nodes[lead].LastLog(), "\n") {
		if strings.Contains(line, "Rejoining Raft cluster") || strings.Contains(line, "Unclean shutdown") {
			t.Logf("%s: %s", c.IDs[lead], strings.TrimSpace(line))
		}
	}
	final := c.WaitSameHead(30 * time.Second)
	if final.Number < head.Number {
		t.Errorf("head went back from %v to %v", head, final)
	}
	checkSameChain(t, c, final, conf)
	// It follows new blocks too, and takes transactions.
	dev := testnode.NewWallet(c.Nodes[lead].Client(), testnode.DevKey(), testnode.DevChainID)
	r := dev.Transfer(t, common.HexToAddress("0xdead"), big.NewInt(1))
	c.WaitHead(r.BlockNumber.Uint64(), 10*time.Second)
	c.WaitSameHead(10 * time.Second)
}

// TestClusterRestartedNodeTakesTransactions: a follower restarted (SIGTERM
// or kill -9) takes transactions as soon as it answers JSON-RPC. go-ethereum
// opens the RPC endpoints before the node's services start, so a node must
// not refuse writes while its ledger is still starting.
func TestClusterRestartedNodeTakesTransactions(t *testing.T) {
	keys := clusterKeys("restarted", 1)
	c := startCluster(t, testnode.ClusterOptions{Alloc: allocFor(keys)})
	f := c.Others(c.Leader())[0]
	to := common.HexToAddress("0x7000")
	for n := uint64(0); n < 4; n++ {
		how := "SIGTERM"
		if n%2 == 0 {
			c.Nodes[f].Restart()
		} else {
			how = "kill -9"
			c.Nodes[f].Kill()
			c.Nodes[f].StartAgain()
		}
		ready := time.Now()
		tx := transfer(keys[0], n, to, 1)
		refusals := 0
		var first error
		err := testnode.Poll(10*time.Second, 5*time.Millisecond, func() error {
			err := sendRaw(c, f, tx)
			if err != nil {
				refusals++
				if first == nil {
					first = err
				}
			}
			return err
		})
		if err != nil {
			t.Fatalf("restart %d (%s): %s refuses transactions for 10 s: %v", n+1, how, c.IDs[f], err)
		}
		if refusals > 0 {
			t.Errorf("restart %d (%s): %s answered RPC but refused eth_sendRawTransaction %d times for %v: %v",
				n+1, how, c.IDs[f], refusals, time.Since(ready).Round(time.Millisecond), first)
		}
		if _, err := waitReceipts(c, f, []common.Hash{tx.Hash()}, 15*time.Second); err != nil {
			t.Fatalf("restart %d: %v", n+1, err)
		}
	}
	c.WaitSameHead(10 * time.Second)
}
