package eth

import (
	"fmt"
	"sync"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/trie"
)

// fsm applies ledger entries to the chain. It implements
// cocobackend.FSM. Blocks this node built are applied from memory; blocks
// from another node are decoded, checked as far as is cheap (hash, parent,
// transaction and receipt roots, state root node) and written without
// re-execution.
type fsm struct {
	chain *Chain
	pool  *TxPool
	kv    ethdb.KeyValueStore // the store under chain.db, for snapshots

	// Hooks around Restore (the log index is rebuilt on the new chain).
	beforeRestore, afterRestore func()

	// keys receives the secrets of epoch entries and travels in
	// snapshots; nil on a node that stores plaintext. recordDir mirrors
	// the epochs' recovery records ("" for none).
	keys      EpochKeys
	recordDir string

	mu    sync.Mutex
	local map[common.Hash]*builtBlock // built here, proposed, not yet applied

	// Progress summary, touched only by Apply (one entry at a time).
	statBlocks, statTxs int
	statSince           time.Time
	statEvery           time.Duration // progressEvery unless a test sets it
}

// newFSM applies entries to chain and pool; kv is the store under the
// chain's database (snapshots read and replace it). before and after run
// around every Restore (nil: nothing), e.g. to stop and rebuild the log
// index on the new chain.
func newFSM(chain *Chain, pool *TxPool, kv ethdb.KeyValueStore, before, after func()) *fsm {
	return &fsm{chain: chain, pool: pool, kv: kv, beforeRestore: before, afterRestore: after, local: make(map[common.Hash]*builtBlock)}
}

var _ cocobackend.FSM = (*fsm)(nil)

func (f *fsm) AppliedIndex() uint64 { return f.chain.AppliedIndex() }

// remember registers a block built here before it is proposed.
func (f *fsm) remember(b *builtBlock) {
	f.mu.Lock()
	f.local[b.block.Hash()] = b
	f.mu.Unlock()
}

// forget removes a block from the local set and returns it, nil if it was
// not there (applied already, or dropped).
func (f *fsm) forget(hash common.Hash) *builtBlock {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.local[hash]
	delete(f.local, hash)
	return b
}

// dropLocal abandons a block built here that will not be applied: its
// write set leaves the overlay and its transactions go back to the pool.
func (f *fsm) dropLocal(hash common.Hash) {
	b := f.forget(hash)
	if b == nil {
		return
	}
	f.chain.overlay.remove(b.writes)
	f.pool.Return(b.block.Transactions(), nil)
}

func (f *fsm) Apply(index uint64, entry []byte) error {
	if index <= f.chain.AppliedIndex() {
		return nil // replayed entry, already on disk
	}
	if len(entry) > 0 && entry[0] == entryEpochV1 {
		return f.applyEpoch(index, entry)
	}
	_, hash, err := peekEntry(entry)
	if err != nil {
		return err
	}
	head := f.chain.CurrentHeader()
	if existing := f.chain.GetHeaderByHash(hash); existing != nil && existing.Number.Uint64() <= head.Number.Uint64() {
		// The block is already part of this chain (a retried proposal).
		return f.chain.skipEntry(index)
	}
	if parent, ok := peekParent(entry); ok && parent != head.Hash() {
		// Built on a head that is no longer ours: a leader's speculative
		// block after leadership moved, or a block proposed by a former
		// leader. Every node skips it at this index; its transactions
		// return to the pool of the node that built it.
		log.Debug("Skipped stale block", "hash", hash, "parent", parent, "head", head.Number, "index", index)
		f.dropLocal(hash)
		return f.chain.skipEntry(index)
	}
	b := f.forget(hash)
	if b == nil {
		if b, err = decodeBlockEntry(entry, f.chain.Config()); err != nil {
			return err
		}
		if err := f.check(head, b); err != nil {
			return err
		}
		f.chain.overlay.add(b.writes)
	}
	start := time.Now()
	if err := f.chain.commitBlock(index, b.block, b.receipts, b.writes); err != nil {
		return err
	}
	blockWriteTimer.UpdateSince(start)
	f.pool.onBlock(b.block)
	log.Debug("Committed block", "number", b.block.NumberU64(), "hash", hash, "txs", len(b.block.Transactions()), "index", index)
	f.progress(b.block, index)
	return nil
}

// progressEvery is how often committed blocks are summarised at info
// level (a node replaying or catching up shows its progress this way).
const progressEvery = 8 * time.Second

// progress logs a summary of the blocks committed since the last one.
func (f *fsm) progress(block *types.Block, index uint64) {
	f.statBlocks++
	f.statTxs += len(block.Transactions())
	now := time.Now()
	if f.statSince.IsZero() {
		f.statSince = now
	}
	every := f.statEvery
	if every == 0 {
		every = progressEvery
	}
	if now.Sub(f.statSince) < every {
		return
	}
	log.Info("Committed blocks", "count", f.statBlocks, "txs", f.statTxs, "head", block.NumberU64(),
		"hash", block.Hash(), "index", index,
		"elapsed", common.PrettyDuration(now.Sub(f.statSince)))
	f.statBlocks, f.statTxs, f.statSince = 0, 0, now
}

// check verifies a block from another node without executing it.
func (f *fsm) check(head *types.Header, b *builtBlock) error {
	block := b.block
	if block.ParentHash() != head.Hash() || block.NumberU64() != head.Number.Uint64()+1 {
		return fmt.Errorf("%w: block %d does not extend head %d", ErrDivergence, block.NumberU64(), head.Number.Uint64())
	}
	if block.Time() <= head.Time {
		return fmt.Errorf("%w: block %d time %d not after parent time %d", ErrDivergence, block.NumberU64(), block.Time(), head.Time)
	}
	if h := types.DeriveSha(block.Transactions(), trie.NewStackTrie(nil)); h != block.TxHash() {
		return fmt.Errorf("%w: block %d transaction root mismatch", ErrDivergence, block.NumberU64())
	}
	if len(b.receipts) != len(block.Transactions()) {
		return fmt.Errorf("%w: block %d has %d receipts for %d transactions", ErrDivergence, block.NumberU64(), len(b.receipts), len(block.Transactions()))
	}
	var blobGasPrice = eip4844.CalcBlobFee(f.chain.Config(), block.Header())
	if err := b.receipts.DeriveFields(f.chain.Config(), block.Hash(), block.NumberU64(), block.Time(), block.BaseFee(), blobGasPrice, block.Transactions()); err != nil {
		return fmt.Errorf("%w: block %d receipts: %v", ErrDivergence, block.NumberU64(), err)
	}
	if h := types.DeriveSha(b.receipts, trie.NewStackTrie(nil)); h != block.ReceiptHash() {
		return fmt.Errorf("%w: block %d receipt root mismatch", ErrDivergence, block.NumberU64())
	}
	return b.writes.verify(block.Root(), head.Root)
}
