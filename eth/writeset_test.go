package eth

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/rlp"
)

// A follower that applies the leader's entry to a copy of the parent state,
// without the EVM and without hashing the trie, ends on the header's state
// root with identical accounts, code and storage.
func TestWriteSetReproducesStateRoot(t *testing.T) {
	leader, _ := newTestService(t)
	follower, _ := newTestService(t)

	txs := []*types.Transaction{
		transfer(t, keyA, 0, addrB, 1_000_000_000_000_000_000),
		transfer(t, keyA, 1, recvAddr, 7),
		create(t, keyA, 2),
	}
	b, entry := buildAndCommit(t, leader, txs)
	if n := len(b.block.Transactions()); n != 3 {
		t.Fatalf("block has %d txs, want 3 (rejected: %v)", n, b.rejected)
	}
	if len(b.writes.Nodes) == 0 || len(b.writes.Codes) != 1 {
		t.Fatalf("write set: %d nodes, %d codes; want nodes and 1 code", len(b.writes.Nodes), len(b.writes.Codes))
	}
	// The follower never saw the block: it decodes the entry.
	if err := follower.fsm.Apply(1, entry); err != nil {
		t.Fatal(err)
	}
	lh, fh := leader.chain.CurrentHeader(), follower.chain.CurrentHeader()
	if lh.Hash() != fh.Hash() || fh.Root != b.block.Root() {
		t.Fatalf("follower head %s root %s, leader head %s root %s", fh.Hash(), fh.Root, lh.Hash(), lh.Root)
	}
	ls, _ := leader.chain.State()
	fs, err := follower.chain.State()
	if err != nil {
		t.Fatalf("follower cannot open state at header root: %v", err)
	}
	contract := crypto.CreateAddress(addrA, 2)
	for _, a := range []common.Address{addrA, addrB, recvAddr, contract} {
		if ls.GetBalance(a).Cmp(fs.GetBalance(a)) != 0 || ls.GetNonce(a) != fs.GetNonce(a) {
			t.Errorf("account %s differs", a)
		}
	}
	if got := fs.GetState(contract, common.Hash{}); got != common.BigToHash(big.NewInt(42)) {
		t.Errorf("contract slot 0 = %x, want 42", got)
	}
	if !bytes.Equal(fs.GetCode(contract), []byte{0x00}) {
		t.Errorf("contract code = %x, want 00", fs.GetCode(contract))
	}
	// Receipts are served with derived fields on the follower too.
	rs := follower.chain.GetReceiptsByHash(fh.Hash())
	if len(rs) != 3 || rs[2].ContractAddress != contract || rs[0].BlockHash != fh.Hash() {
		t.Fatalf("follower receipts wrong: %+v", rs)
	}
	// Applying the same entry again changes nothing.
	if err := follower.fsm.Apply(1, entry); err != nil {
		t.Fatal(err)
	}
	if follower.chain.CurrentHeader().Number.Uint64() != 1 {
		t.Fatal("entry applied twice")
	}
}

// A tampered write set is refused as divergence and leaves the chain as it
// was.
func TestTamperedEntryIsDivergence(t *testing.T) {
	leader, _ := newTestService(t)
	_, entry := buildAndCommit(t, leader, []*types.Transaction{transfer(t, keyA, 0, addrB, 5)})

	tamper := func(mut func(e *blockEntry)) []byte {
		var e blockEntry
		if err := rlp.DecodeBytes(entry[entryHeaderLen:], &e); err != nil {
			t.Fatal(err)
		}
		mut(&e)
		body, err := rlp.EncodeToBytes(&e)
		if err != nil {
			t.Fatal(err)
		}
		return append(append([]byte{}, entry[:entryHeaderLen]...), body...)
	}
	cases := map[string][]byte{
		"root node blob": tamper(func(e *blockEntry) {
			for i := range e.Nodes {
				if e.Nodes[i].Hash == e.Root {
					e.Nodes[i].Blob = append([]byte{}, e.Nodes[i].Blob...)
					e.Nodes[i].Blob[len(e.Nodes[i].Blob)-1] ^= 1
				}
			}
		}),
		"root node missing": tamper(func(e *blockEntry) {
			var keep []HashBlob
			for _, n := range e.Nodes {
				if n.Hash != e.Root {
					keep = append(keep, n)
				}
			}
			e.Nodes = keep
		}),
		"receipt status": tamper(func(e *blockEntry) { e.Receipts[0].Status = 0 }),
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			follower, _ := newTestService(t)
			err := follower.fsm.Apply(1, bad)
			if !errors.Is(err, ErrDivergence) {
				t.Fatalf("Apply = %v, want divergence", err)
			}
			if n := follower.chain.CurrentHeader().Number.Uint64(); n != 0 {
				t.Fatalf("head moved to %d", n)
			}
		})
	}
}

// BenchmarkBlock1000Transfers measures executing, encoding and committing
// a block of 1000 pre-signed transfers (sender recovery is cached, as after
// admission).
func BenchmarkBlock1000Transfers(b *testing.B) {
	s, _ := newTestService(b)
	b.ReportAllocs()
	b.StopTimer()
	nonce := uint64(0)
	for i := 0; i < b.N; i++ {
		txs := make([]*types.Transaction, 0, 1000)
		for j := 0; j < 1000; j++ {
			tx := transfer(b, keyA, nonce, common.BigToAddress(big.NewInt(int64(1000+j))), 1)
			types.Sender(testSig, tx)
			txs = append(txs, tx)
			nonce++
		}
		b.StartTimer()
		buildAndCommit(b, s, txs)
		b.StopTimer()
	}
}

// BenchmarkLeaderVsFollower1000Transfers compares the leader's cost to
// build a block (execute, hash, encode, write) with a follower's cost to
// apply the same entry (decode, cheap checks, write). Reported as
// leader-ns/block, follower-ns/block and their ratio.
func BenchmarkLeaderVsFollower1000Transfers(b *testing.B) {
	leader, _ := newTestService(b)
	follower, _ := newTestService(b)
	b.ReportAllocs()
	b.StopTimer()
	var leaderNs, followerNs int64
	nonce := uint64(0)
	for i := 0; i < b.N; i++ {
		txs := make([]*types.Transaction, 0, 1000)
		for j := 0; j < 1000; j++ {
			tx := transfer(b, keyA, nonce, common.BigToAddress(big.NewInt(int64(1000+j+i*1000))), 1)
			types.Sender(testSig, tx)
			txs = append(txs, tx)
			nonce++
		}
		start := time.Now()
		_, entry := buildAndCommit(b, leader, txs)
		leaderNs += time.Since(start).Nanoseconds()
		start = time.Now()
		if err := follower.fsm.Apply(uint64(i+1), entry); err != nil {
			b.Fatal(err)
		}
		followerNs += time.Since(start).Nanoseconds()
	}
	b.ReportMetric(float64(leaderNs)/float64(b.N), "leader-ns/block")
	b.ReportMetric(float64(followerNs)/float64(b.N), "follower-ns/block")
	b.ReportMetric(float64(followerNs)/float64(leaderNs), "follower/leader")
}

// A node applying blocks reports its progress at info level: how many
// blocks and transactions, and the head it reached.
func TestApplyLogsProgress(t *testing.T) {
	var buf bytes.Buffer
	prev := log.Root()
	log.SetDefault(log.NewLogger(log.NewTerminalHandlerWithLevel(&buf, log.LevelInfo, false)))
	defer log.SetDefault(prev)

	leader, _ := newTestService(t)
	follower, _ := newTestService(t)
	follower.fsm.statEvery = time.Nanosecond
	_, e1 := buildAndCommit(t, leader, []*types.Transaction{transfer(t, keyA, 0, addrB, 1)})
	_, e2 := buildAndCommit(t, leader, []*types.Transaction{transfer(t, keyA, 1, addrB, 1), transfer(t, keyA, 2, addrB, 1)})
	buf.Reset()
	for i, e := range [][]byte{e1, e2} {
		if err := follower.fsm.Apply(uint64(i+1), e); err != nil {
			t.Fatal(err)
		}
	}
	out := buf.String()
	if !strings.Contains(out, "Committed blocks") || !strings.Contains(out, "count=2") || !strings.Contains(out, "txs=3") || !strings.Contains(out, "head=2") {
		t.Fatalf("no progress line for the applied blocks in:\n%s", out)
	}
}
