package e2e

import (
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// fileEpochs returns the epochs a node's chain database files are under.
func fileEpochs(t *testing.T, nd *testnode.Node) map[uint64]int {
	t.Helper()
	out := map[uint64]int{}
	m, _ := filepath.Glob(filepath.Join(nd.DataDir(), "cocogeth", "chaindata", "*"))
	for _, f := range m {
		e, enc, err := store.FileEpoch(f)
		if err != nil {
			continue // compacted away meanwhile
		}
		if enc {
			out[e]++
		}
	}
	return out
}

// latestRecord reads the newest recovery record a node mirrored.
func latestRecord(t *testing.T, nd *testnode.Node) *recovery.Record {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(nd.DataDir(), "cocogeth", "recovery", "epoch-*.rec"))
	if len(m) == 0 {
		t.Fatal("no recovery record")
	}
	b, err := os.ReadFile(m[len(m)-1]) // names sort by epoch
	if err != nil {
		t.Fatal(err)
	}
	r := new(recovery.Record)
	if err := r.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEpochRolloverUnderLoad: with an epoch of 15 blocks, transfers flow
// through all nodes while epochs roll; then a member is added, which starts
// an epoch whose record includes the new member's key. No transaction is
// lost, the data of old epochs stays readable after restarts, and new
// files are under the new epochs.
func TestEpochRolloverUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	g := testnode.StartGoverned(t, testnode.GovernedOptions{EpochLength: 15})
	waitRecords(t, g.Nodes)
	first := latestRecord(t, g.Nodes[0]).Epoch

	// Load: 3 senders, 40 transfers each, through all three nodes.
	var sent []*types.Transaction
	for k, actor := range []string{"A", "B", "C"} {
		w := g.Wallet(k, actor)
		for i := 0; i < 40; i++ {
			to := common.BigToAddress(big.NewInt(int64(0xe0000 + k*100 + i)))
			tx := w.DynamicTx(t, &to, big.NewInt(int64(i+1)), 21_000, nil)
			w.Send(t, tx)
			sent = append(sent, tx)
			if i%8 == 0 {
				w.Wait(t, tx.Hash()) // spread over blocks, and epochs
			}
		}
	}
	var lastBlock uint64
	for _, tx := range sent {
		r := testnode.NewWallet(g.Nodes[0].Client(), testnode.GovKey("A"), testnode.DevChainID).Wait(t, tx.Hash())
		if r.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("transfer %s failed", tx.Hash())
		}
		lastBlock = max(lastBlock, r.BlockNumber.Uint64())
	}
	g.WaitHead(lastBlock, 30*time.Second)
	// Epochs roll as blocks are made: keep making some until two rolled.
	wD := g.Wallet(0, "D")
	for i := 0; latestRecord(t, g.Nodes[0]).Epoch < first+2; i++ {
		if i == 100 {
			t.Fatalf("epochs did not roll: still %d after %d more blocks", latestRecord(t, g.Nodes[0]).Epoch, i)
		}
		r := wD.Transfer(t, common.HexToAddress("0x00000000000000000000000000000000000e0e0d"), big.NewInt(1))
		g.WaitHead(r.BlockNumber.Uint64(), 30*time.Second)
	}

	// A new member with a recovery key starts an epoch protected for four.
	keyE, _ := crypto.GenerateKey()
	recE := testnode.RecoveryKey("E")
	before := latestRecord(t, g.Nodes[0]).Epoch
	wA, wB := g.Wallet(g.Leader(), "A"), g.Wallet(g.Leader(), "B")
	id := govProposalID(t, govTransact(t, wA, "proposeAddMember", "E", []common.Address{crypto.PubkeyToAddress(keyE.PublicKey)}, []byte{0x05}, []byte(recE.Public())))
	govTransact(t, wB, "vote", id, true)
	if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
		r := latestRecord(t, g.Nodes[2])
		return r.Epoch > before && r.IndexOf(recE.Public()) >= 0 && len(r.Keys) == 4
	}) {
		t.Fatalf("no epoch protected for member E after it was added (latest %d)", latestRecord(t, g.Nodes[2]).Epoch)
	}

	if r := latestRecord(t, g.Nodes[2]); r.Threshold != 3 {
		t.Fatalf("four keys, default threshold: %d, want a majority (3)", r.Threshold)
	}
	// The members lower the threshold to 2 of the 4: a new epoch says so.
	before = latestRecord(t, g.Nodes[0]).Epoch
	id = govProposalID(t, govTransact(t, wA, "proposeSetRecoveryThreshold", uint16(2)))
	govTransact(t, wB, "vote", id, true)
	if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
		r := latestRecord(t, g.Nodes[1])
		return r.Epoch > before && r.Threshold == 2 && len(r.Keys) == 4
	}) {
		t.Fatalf("no epoch with threshold 2 after the vote (latest %+v)", latestRecord(t, g.Nodes[1]).Threshold)
	}

	// Every node restarts and still reads every transaction; its newest
	// files are under a later epoch than its first.
	for i, nd := range g.Nodes {
		nd.Restart()
		for _, tx := range sent {
			if _, pending, err := nd.Client().TransactionByHash(ctx(t), tx.Hash()); err != nil || pending {
				t.Fatalf("%s lost %s after epochs rolled: %v", g.IDs[i], tx.Hash(), err)
			}
		}
		epochs := fileEpochs(t, nd)
		newest := uint64(0)
		for e := range epochs {
			newest = max(newest, e)
		}
		if newest <= first {
			t.Fatalf("%s: files under epochs %v, none after the first (%d)", g.IDs[i], epochs, first)
		}
		t.Logf("%s: chain database files by epoch %v", g.IDs[i], epochs)
	}
	r := g.Wallet(g.Leader(), "A").Transfer(t, common.HexToAddress("0x00000000000000000000000000000000000e0e0e"), big.NewInt(1))
	g.WaitHead(r.BlockNumber.Uint64(), 30*time.Second)
}
