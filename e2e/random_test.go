package e2e

import (
	"math/big"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
)

// Enclave randomness (eth/IRandom.sol at 0x…c0c1) through a lottery on a
// 3-VN cluster, across a leader change: each draw takes the leader's
// random(), every node holds the same value afterwards (followers take
// the leader's results), two draws differ, and eth_call gives a fresh
// value each time. Gas is estimated with the node's own EVM (go-ethereum's
// estimator knows no such contract).
func TestEnclaveRandomnessAcrossLeaderChange(t *testing.T) {
	c := testnode.StartCluster(t, 3, testnode.ClusterOptions{})
	lottery := testcontracts.MustLoad("Lottery")
	lead := c.Leader()
	w := testnode.NewWallet(c.Nodes[lead].Client(), testnode.DevKey(), testnode.DevChainID)
	addr, _ := w.Deploy(t, lottery)

	peek := func(i int) common.Hash {
		t.Helper()
		return testnode.Call(t, c.Nodes[i].Client(), addr, lottery.ABI, "peek")[0].([32]byte)
	}
	if a, b := peek(lead), peek(lead); a == b || a == (common.Hash{}) {
		t.Fatalf("eth_call of random() twice: %x, %x; want two different values", a, b)
	}
	draw := func(w *testnode.Wallet) common.Hash {
		t.Helper()
		enter, _ := lottery.ABI.Pack("enter")
		w.SendAndWait(t, w.DynamicTx(t, &addr, big.NewInt(1000), 200_000, enter))
		r := w.Transact(t, addr, lottery.ABI, "draw") // gas estimated by the node
		c.WaitHead(r.BlockNumber.Uint64(), 30*time.Second)
		var first common.Hash
		for _, i := range c.Live() {
			got := testnode.Call(t, c.Nodes[i].Client(), addr, lottery.ABI, "lastRandom")[0].([32]byte)
			if first == (common.Hash{}) {
				first = got
			}
			if got != first || got == (common.Hash{}) {
				t.Fatalf("%s holds lastRandom %x, others %x", c.IDs[i], got, first)
			}
		}
		ev, err := lottery.ABI.Unpack("Drawn", r.Logs[0].Data)
		if err != nil || common.Hash(ev[1].([32]byte)) != first {
			t.Fatalf("Drawn event %v (%v), state %x", ev, err, first)
		}
		return first
	}
	r1 := draw(w)
	c.Nodes[lead].Kill()
	next, err := c.LeaderErr(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w2 := testnode.NewWallet(c.Nodes[next].Client(), testnode.DevKey(), testnode.DevChainID)
	r2 := draw(w2)
	if r1 == r2 {
		t.Fatalf("two draws gave the same randomness %x", r1)
	}
	c.Nodes[lead].StartAgain()
	head := c.WaitSameHead(60 * time.Second)
	if got := testnode.Call(t, c.Nodes[lead].Client(), addr, lottery.ABI, "lastRandom")[0].([32]byte); got != r2 {
		t.Fatalf("the restarted node holds %x at head %d, want %x", got, head.Number, r2)
	}
}
