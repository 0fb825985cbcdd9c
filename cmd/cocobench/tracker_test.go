package main

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// fakeTxs builds n transactions from the given senders with nonces 0,1,...
// per sender, and batches of the given size in order.
func fakeTxs(senders []int, size int) ([]*signedTx, []*sendBatch) {
	var flat []*signedTx
	next := make(map[int]uint64)
	for i, s := range senders {
		flat = append(flat, &signedTx{hash: common.BigToHash(bigInt(i + 1)), sender: s, nonce: next[s]})
		next[s]++
	}
	var batches []*sendBatch
	for start := 0; start < len(flat); start += size {
		b := &sendBatch{}
		for i := start; i < min(start+size, len(flat)); i++ {
			b.txs = append(b.txs, i)
		}
		batches = append(batches, b)
	}
	return flat, batches
}

func TestTrackerResult(t *testing.T) {
	// 6 txs: senders 0,1,0,1,0,1 -> nonces 0,0,1,1,2,2; batches of 2.
	flat, batches := fakeTxs([]int{0, 1, 0, 1, 0, 1}, 2)
	tr := newTracker(flat, batches)
	ms := int64(time.Millisecond)
	tr.markSent(0, 0, 2)
	tr.markResult(batches[0], 0, 5*ms, nil, []error{nil, nil})
	tr.markSent(1, 10*ms, 2)
	// tx 3 (sender 1, nonce 1) rejected: sender 1's nonce 2 (tx 5) is stranded.
	tr.markResult(batches[1], 1, 15*ms, nil, []error{nil, errors.New("txpool is full")})
	tr.markSent(2, 20*ms, 2)
	tr.markResult(batches[2], 2, 25*ms, nil, []error{nil, nil})
	if got := tr.inflight(); got != 5 {
		t.Fatalf("inflight %d, want 5", got)
	}
	if got := tr.outstanding(); got != 4 { // txs 0,1,2,4
		t.Fatalf("outstanding %d, want 4", got)
	}
	tr.applyBlock(7, 100*ms, blockStat{GasUsed: 42000, BaseFeeWei: "7"}, []receiptInfo{
		{TxHash: flat[0].hash, Status: 1},
		{TxHash: flat[1].hash, Status: 0},      // failed
		{TxHash: common.Hash{0xff}, Status: 1}, // someone else's
	})
	tr.applyBlock(8, 200*ms, blockStat{BaseFeeWei: "9"}, nil) // empty block between
	tr.applyBlock(9, 300*ms, blockStat{BaseFeeWei: "8"}, []receiptInfo{
		{TxHash: flat[2].hash, Status: 1},
		{TxHash: flat[4].hash, Status: 1},
		{TxHash: flat[0].hash, Status: 1}, // duplicate report is ignored
	})
	tr.applyBlock(10, 400*ms, blockStat{}, nil) // after the last of ours
	if got := tr.outstanding(); got != 0 {
		t.Fatalf("outstanding %d, want 0", got)
	}
	r := tr.result()
	if r.Submitted != 6 || r.Committed != 3 || r.Failed != 1 || r.Rejected != 1 || r.Missing != 1 || r.Unreachable != 1 {
		t.Fatalf("counts: %+v", r)
	}
	// Latencies of committed txs: tx0 100-0, tx2 300-10, tx4 300-20 (ms).
	want := LatencyStats{Count: 3, Min: 100, Mean: (100.0 + 290 + 280) / 3, P50: 280, P90: 290, P99: 290, Max: 290}
	if r.Latency != want {
		t.Fatalf("latency %+v, want %+v", r.Latency, want)
	}
	// By submission window of 15 ms: tx0 and tx2 in the first, tx4 in the
	// second.
	wr := tr.resultWindows(time.Duration(15 * ms))
	if len(wr.Windows) != 2 || wr.Windows[0].Count != 2 || wr.Windows[0].P50 != 100 || wr.Windows[0].P99 != 290 ||
		wr.Windows[1].Count != 1 || wr.Windows[1].P99 != 280 || wr.Windows[1].StartSeconds != 0.015 {
		t.Fatalf("windows %+v", wr.Windows)
	}
	if r.SubmitSeconds != 0.025 || r.SubmittedTPS != 6/0.025 {
		t.Fatalf("submit: %v s, %v tx/s", r.SubmitSeconds, r.SubmittedTPS)
	}
	if r.CommitSeconds != 0.3 || r.CommittedTPS != 3/0.3 {
		t.Fatalf("commit: %v s, %v tx/s", r.CommitSeconds, r.CommittedTPS)
	}
	if r.Blocks != 3 || r.FirstBlock != 7 || r.LastBlock != 9 || r.BlockTxs != 6 || r.MeanTxsPerBlock != 2 || r.MaxTxsPerBlock != 3 {
		t.Fatalf("blocks: %+v", r)
	}
	if r.MaxBaseFeeWei != "9" {
		t.Fatalf("max base fee %s", r.MaxBaseFeeWei)
	}
	if len(r.RejectedErrors) != 1 || r.RejectedErrors[0] != "txpool is full (x1)" {
		t.Fatalf("errors %v", r.RejectedErrors)
	}
}

func TestTrackerRejectedThenIncluded(t *testing.T) {
	// A transaction reported as rejected (e.g. a timed-out request) that
	// still lands counts as committed and does not strand later nonces.
	flat, batches := fakeTxs([]int{0, 0}, 1)
	tr := newTracker(flat, batches)
	tr.markSent(0, 0, 1)
	tr.markResult(batches[0], 0, 1, errors.New("timeout"), nil)
	tr.markSent(1, 2, 1)
	tr.markResult(batches[1], 1, 3, nil, []error{nil})
	if got := tr.outstanding(); got != 0 {
		t.Fatalf("outstanding %d before inclusion, want 0 (nonce 1 is behind a rejected nonce)", got)
	}
	tr.applyBlock(1, 10, blockStat{}, []receiptInfo{{TxHash: flat[0].hash, Status: 1}})
	if got := tr.outstanding(); got != 1 {
		t.Fatalf("outstanding %d after the rejected tx landed, want 1", got)
	}
	tr.applyBlock(2, 20, blockStat{}, []receiptInfo{{TxHash: flat[1].hash, Status: 1}})
	r := tr.result()
	if r.Committed != 2 || r.Rejected != 0 || r.Missing != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestTrackerUnsent(t *testing.T) {
	flat, batches := fakeTxs([]int{0, 1, 2, 3}, 2)
	tr := newTracker(flat, batches)
	tr.markSent(0, 0, 2)
	tr.markResult(batches[0], 0, 1, nil, []error{nil, nil})
	tr.applyBlock(1, 10, blockStat{}, []receiptInfo{{TxHash: flat[0].hash, Status: 1}})
	r := tr.result()
	if r.Committed != 1 || r.Missing != 1 || r.Unsent != 2 || r.Submitted != 2 {
		t.Fatalf("%+v", r)
	}
}

func TestTrackerDistinctErrorCap(t *testing.T) {
	var senders []int
	for i := 0; i < maxDistinctErrors+5; i++ {
		senders = append(senders, i)
	}
	flat, batches := fakeTxs(senders, len(senders))
	tr := newTracker(flat, batches)
	tr.markSent(0, 0, len(flat))
	errs := make([]error, len(flat))
	for i := range errs {
		errs[i] = errors.New("error " + string(rune('a'+i)))
	}
	tr.markResult(batches[0], 0, 1, nil, errs)
	r := tr.result()
	if len(r.RejectedErrors) != maxDistinctErrors+1 || r.RejectedErrors[maxDistinctErrors] != "(other errors) (x5)" {
		t.Fatalf("errors: %v", r.RejectedErrors)
	}
}

func bigInt(i int) *big.Int { return big.NewInt(int64(i)) }

func TestExplainMissing(t *testing.T) {
	r := &Result{Missing: 3, BlockList: []blockStat{{Number: 5, BaseFeeWei: "200"}}}
	r.explainMissing(big.NewInt(100))
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "--maxfee") {
		t.Fatalf("notes %v", r.Notes)
	}
	r = &Result{Missing: 3, Unreachable: 1, BlockList: []blockStat{{Number: 5, BaseFeeWei: "50"}}}
	r.explainMissing(big.NewInt(100))
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "2 accepted transactions") {
		t.Fatalf("notes %v", r.Notes)
	}
	r = &Result{}
	r.explainMissing(big.NewInt(100))
	if r.Notes != nil {
		t.Fatalf("notes %v", r.Notes)
	}
}
