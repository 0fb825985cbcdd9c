package main

import (
	"fmt"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

const (
	txPending uint8 = iota
	txCommitted
	txFailed
)

// maxDistinctErrors bounds how many distinct rejection messages are kept.
const maxDistinctErrors = 20

// blockStat describes one block observed during the measured phase.
type blockStat struct {
	Number     uint64  `json:"number"`
	ObservedMs float64 `json:"observed_ms"` // since the start of the measured phase
	Timestamp  uint64  `json:"timestamp"`
	Txs        int     `json:"txs"`
	Ours       int     `json:"ours"`
	GasUsed    uint64  `json:"gas_used"`
	GasLimit   uint64  `json:"gas_limit"`
	BaseFeeWei string  `json:"base_fee_wei,omitempty"`
}

// receiptInfo is what the tracker needs of a receipt.
type receiptInfo struct {
	TxHash common.Hash
	Status uint64
}

// tracker records the submit and inclusion time of every transaction of the
// measured phase. Times are nanoseconds since start; -1 means "not yet".
type tracker struct {
	mu    sync.Mutex
	start time.Time

	txs       []*signedTx
	txBatch   []int
	hashIndex map[common.Hash]int
	batchSent []int64
	batchDone []int64

	state     []uint8
	inclAt    []int64
	inclBlock []uint64
	rejected  []bool

	sent, rejectedN, committed, failed int
	errCounts                          map[string]int
	errOrder                           []string

	blocks       []blockStat
	lastProgress int64
	changes      uint64 // bumped on every answer and block, to skip needless rechecks
}

func newTracker(flat []*signedTx, batches []*sendBatch) *tracker {
	t := &tracker{
		txs:       flat,
		txBatch:   make([]int, len(flat)),
		hashIndex: make(map[common.Hash]int, len(flat)),
		batchSent: make([]int64, len(batches)),
		batchDone: make([]int64, len(batches)),
		state:     make([]uint8, len(flat)),
		inclAt:    make([]int64, len(flat)),
		inclBlock: make([]uint64, len(flat)),
		rejected:  make([]bool, len(flat)),
		errCounts: make(map[string]int),
	}
	for i, tx := range flat {
		t.hashIndex[tx.hash] = i
		t.inclAt[i] = -1
	}
	for bi, b := range batches {
		t.batchSent[bi], t.batchDone[bi] = -1, -1
		for _, i := range b.txs {
			t.txBatch[i] = bi
		}
	}
	return t
}

// begin sets the reference time of the measured phase.
func (t *tracker) begin(now time.Time) {
	t.mu.Lock()
	t.start = now
	t.mu.Unlock()
}

// since returns the nanoseconds between the start and now.
func (t *tracker) since(now time.Time) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int64(now.Sub(t.start))
}

// markSent records that batch bi is being sent at time at (ns since start).
func (t *tracker) markSent(bi int, at int64, ntx int) {
	t.mu.Lock()
	t.batchSent[bi] = at
	t.sent += ntx
	t.lastProgress = max(t.lastProgress, at)
	t.mu.Unlock()
}

// markResult records the answer to batch bi. batchErr rejects the whole
// batch; otherwise txErrs[k] (nil for success) is the answer for the k-th
// transaction of the batch.
func (t *tracker) markResult(b *sendBatch, bi int, at int64, batchErr error, txErrs []error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.changes++
	t.batchDone[bi] = at
	for k, i := range b.txs {
		var err error
		if batchErr != nil {
			err = batchErr
		} else if k < len(txErrs) {
			err = txErrs[k]
		}
		if err == nil {
			continue
		}
		t.rejected[i] = true
		t.rejectedN++
		msg := err.Error()
		if _, ok := t.errCounts[msg]; !ok {
			if len(t.errOrder) >= maxDistinctErrors {
				msg = "(other errors)"
			}
			if _, ok := t.errCounts[msg]; !ok {
				t.errOrder = append(t.errOrder, msg)
			}
		}
		t.errCounts[msg]++
	}
}

// applyBlock records a block first observed at observed (ns since start)
// and its receipts.
func (t *tracker) applyBlock(number uint64, observed int64, info blockStat, receipts []receiptInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.changes++
	info.Number = number
	info.ObservedMs = float64(observed) / float64(time.Millisecond)
	info.Txs = len(receipts)
	for _, r := range receipts {
		i, ok := t.hashIndex[r.TxHash]
		if !ok || t.state[i] != txPending {
			continue
		}
		info.Ours++
		t.inclAt[i] = observed
		t.inclBlock[i] = number
		if r.Status == 1 {
			t.state[i] = txCommitted
			t.committed++
		} else {
			t.state[i] = txFailed
			t.failed++
		}
		t.lastProgress = max(t.lastProgress, observed)
	}
	t.blocks = append(t.blocks, info)
}

// inflight is the number of sent, not rejected transactions not yet seen in
// a block.
func (t *tracker) inflight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return max(0, t.sent-t.rejectedN-t.committed-t.failed)
}

// progress returns counters for progress logs.
func (t *tracker) progress() (sent, rejected, included int, lastProgress int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sent, t.rejectedN, t.committed + t.failed, t.lastProgress
}

// noteProgress moves the last-progress mark (used when submission ends).
func (t *tracker) noteProgress(at int64) {
	t.mu.Lock()
	t.lastProgress = max(t.lastProgress, at)
	t.mu.Unlock()
}

// version changes whenever an answer or a block was recorded.
func (t *tracker) version() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changes
}

// outstanding counts transactions that may still be included: not yet
// included, not rejected, and not behind a rejected nonce of their sender.
func (t *tracker) outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.outstandingLocked()
}

func (t *tracker) outstandingLocked() int {
	gaps := t.nonceGapsLocked()
	n := 0
	for i, st := range t.state {
		if st != txPending || t.rejected[i] || unreachable(gaps, t.txs[i]) {
			continue
		}
		n++
	}
	return n
}

// nonceGapsLocked maps each sender that has a rejected, never included
// transaction to the lowest such nonce: the sender's later nonces cannot be
// included.
func (t *tracker) nonceGapsLocked() map[int]uint64 {
	gaps := make(map[int]uint64)
	for i, rej := range t.rejected {
		if !rej || t.state[i] != txPending {
			continue
		}
		tx := t.txs[i]
		if n, ok := gaps[tx.sender]; !ok || tx.nonce < n {
			gaps[tx.sender] = tx.nonce
		}
	}
	return gaps
}

func unreachable(gaps map[int]uint64, tx *signedTx) bool {
	n, ok := gaps[tx.sender]
	return ok && tx.nonce > n
}

// Result is the outcome of one benchmark run.
type Result struct {
	Label      string   `json:"label,omitempty"`
	Mode       string   `json:"mode"`
	Nodes      []string `json:"nodes"`
	ChainID    uint64   `json:"chain_id"`
	Senders    int      `json:"senders"`
	Txs        int      `json:"txs"`
	Rate       float64  `json:"rate"`
	Batch      int      `json:"batch"`
	Conns      int      `json:"conns"`
	GasLimit   uint64   `json:"gas_limit"`
	FeeCapGwei float64  `json:"fee_cap_gwei"`
	TipGwei    float64  `json:"tip_gwei"`
	Stop       string   `json:"stop"`

	Submitted      int      `json:"submitted"`
	Rejected       int      `json:"rejected"`
	RejectedErrors []string `json:"rejected_errors,omitempty"`
	Committed      int      `json:"committed"`
	Failed         int      `json:"failed"`
	Missing        int      `json:"missing"`
	Unreachable    int      `json:"missing_behind_rejected_nonce"`
	Unsent         int      `json:"unsent"`

	SubmitSeconds float64 `json:"submit_seconds"`
	SubmittedTPS  float64 `json:"submitted_tps"`
	CommitSeconds float64 `json:"commit_seconds"`
	CommittedTPS  float64 `json:"committed_tps"`

	Latency LatencyStats `json:"latency"`
	// Windows are the latencies of the transactions submitted in each
	// successive window (--window), for long runs.
	Windows []WindowStats `json:"windows,omitempty"`

	Blocks          int         `json:"blocks"`
	FirstBlock      uint64      `json:"first_block"`
	LastBlock       uint64      `json:"last_block"`
	BlockTxs        int         `json:"block_txs"`
	MeanTxsPerBlock float64     `json:"mean_txs_per_block"`
	MaxTxsPerBlock  int         `json:"max_txs_per_block"`
	MaxBaseFeeWei   string      `json:"max_base_fee_wei,omitempty"`
	BlockList       []blockStat `json:"block_list,omitempty"`

	// RecoveryMicros is one signature recovery on this machine, measured
	// by cocobench in the run; NodeCPU the node processes' CPU per
	// committed transaction (--node-pid).
	RecoveryMicros float64   `json:"recovery_us,omitempty"`
	NodeCPU        []NodeCPU `json:"node_cpu,omitempty"`

	Notes []string `json:"notes,omitempty"`
}

// explainMissing adds notes on why transactions went missing, given the fee
// cap they were signed with.
func (r *Result) explainMissing(feeCap *big.Int) {
	if r.Missing == 0 {
		return
	}
	if n := len(r.BlockList); n > 0 {
		last := r.BlockList[n-1]
		if fee, ok := new(big.Int).SetString(last.BaseFeeWei, 10); ok && fee.Cmp(feeCap) > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("the base fee (%s wei at block %d) exceeds the fee cap (%s wei): raise --maxfee", fee, last.Number, feeCap))
			return
		}
	}
	if r.Missing > r.Unreachable {
		r.Notes = append(r.Notes, fmt.Sprintf("%d accepted transactions were never included: the node may have dropped them from its pool (geth's default pool keeps 5120 pending); --inflight bounds how many are in flight", r.Missing-r.Unreachable))
	}
}

// result computes the Result from what was recorded. Fields describing the
// configuration are left for the caller.
// WindowStats are the inclusion latencies of the transactions submitted
// in one window of a run.
type WindowStats struct {
	StartSeconds float64 `json:"start_s"` // from the first submission
	LatencyStats
}

func (t *tracker) result() *Result { return t.resultWindows(0) }

// resultWindows is result with the latencies also split by submission
// time into windows of the given length (0: none).
func (t *tracker) resultWindows(window time.Duration) *Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := &Result{Submitted: t.sent, Committed: t.committed, Failed: t.failed}

	firstSent, lastDone := int64(-1), int64(-1)
	for bi, s := range t.batchSent {
		if s < 0 {
			continue
		}
		if firstSent < 0 || s < firstSent {
			firstSent = s
		}
		if d := t.batchDone[bi]; d > lastDone {
			lastDone = d
		}
	}
	if firstSent >= 0 && lastDone > firstSent {
		r.SubmitSeconds = float64(lastDone-firstSent) / 1e9
		r.SubmittedTPS = float64(t.sent) / r.SubmitSeconds
	}

	var (
		lats     []time.Duration
		windows  [][]time.Duration
		lastIncl = int64(-1)
		gaps     = t.nonceGapsLocked()
	)
	for i, st := range t.state {
		switch {
		case st != txPending:
			if st == txCommitted {
				sent := t.batchSent[t.txBatch[i]]
				if sent >= 0 {
					lat := time.Duration(max(0, t.inclAt[i]-sent))
					lats = append(lats, lat)
					if window > 0 && firstSent >= 0 {
						w := int((sent - firstSent) / int64(window))
						for len(windows) <= w {
							windows = append(windows, nil)
						}
						windows[w] = append(windows[w], lat)
					}
				}
				lastIncl = max(lastIncl, t.inclAt[i])
			}
		case t.rejected[i]:
			r.Rejected++
		case t.batchSent[t.txBatch[i]] < 0:
			r.Unsent++
		default:
			r.Missing++
			if unreachable(gaps, t.txs[i]) {
				r.Unreachable++
			}
		}
	}
	if firstSent >= 0 && lastIncl > firstSent {
		r.CommitSeconds = float64(lastIncl-firstSent) / 1e9
		r.CommittedTPS = float64(t.committed) / r.CommitSeconds
	}
	r.Latency = summarizeLatencies(lats)
	for i, w := range windows {
		r.Windows = append(r.Windows, WindowStats{StartSeconds: (time.Duration(i) * window).Seconds(), LatencyStats: summarizeLatencies(w)})
	}

	for _, msg := range t.errOrder {
		r.RejectedErrors = append(r.RejectedErrors, fmt.Sprintf("%s (x%d)", msg, t.errCounts[msg]))
	}

	// Blocks: the span from the first to the last block carrying one of our
	// transactions.
	blocks := append([]blockStat(nil), t.blocks...)
	sort.Slice(blocks, func(a, b int) bool { return blocks[a].Number < blocks[b].Number })
	r.BlockList = blocks
	var first, last uint64
	found := false
	for _, b := range blocks {
		if b.Ours == 0 {
			continue
		}
		if !found {
			first, found = b.Number, true
		}
		last = b.Number
	}
	if found {
		r.FirstBlock, r.LastBlock = first, last
		maxFee := new(big.Int)
		for _, b := range blocks {
			if b.Number < first || b.Number > last {
				continue
			}
			r.Blocks++
			r.BlockTxs += b.Txs
			r.MaxTxsPerBlock = max(r.MaxTxsPerBlock, b.Txs)
			if fee, ok := new(big.Int).SetString(b.BaseFeeWei, 10); ok && fee.Cmp(maxFee) > 0 {
				maxFee = fee
			}
		}
		if r.Blocks > 0 {
			r.MeanTxsPerBlock = float64(r.BlockTxs) / float64(r.Blocks)
		}
		r.MaxBaseFeeWei = maxFee.String()
	}
	return r
}
