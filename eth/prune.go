package eth

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/trie"
)

// Garbage collection modes, named as go-ethereum names them.
const (
	GCModeFull    = "full"    // keep the states of the recent blocks only
	GCModeArchive = "archive" // keep the state of every block
)

// DefaultKeepStates is how many recent blocks' states a pruning node keeps
// readable, as go-ethereum keeps 128.
const DefaultKeepStates = 128

// DefaultGCInterval is how often a pruning node looks for garbage.
const DefaultGCInterval = 5 * time.Minute

// errPruneAborted ends a round that was told to stop (the node stops, or a
// snapshot replaces the database).
var errPruneAborted = errors.New("pruning aborted")

// pruner deletes the trie nodes that no recent state reaches. The chain
// writes every block's new trie nodes to disk with the block, so a crash
// never loses state and followers stay simple; what goes out of reach
// (the old versions of every changed path) is garbage that a round of
// pruning collects while the chain runs:
//
//  1. Under the chain's write lock it takes the roots of the most recent
//     keep blocks and starts recording every trie node the chain writes.
//  2. Mark: it walks the account and storage tries of those roots,
//     skipping subtrees already marked (content addressing: a marked node's
//     subtree is marked).
//  3. Sweep: it iterates the database's trie node keys and deletes, in
//     small batches under the write lock, those neither marked nor written
//     since the round began.
//
// Why that is safe: every node of a state committed after the round began
// is either new in some block since (recorded, so kept) or inherited from
// its parent and so, by induction, from the head at the start, whose
// roots were marked. A block built but not committed holds its new nodes
// in memory and writes them, recorded, when it commits. Contract code is
// never pruned. (An account-trie subtree cannot be byte-identical to a
// storage-trie one, whose values are at most 33 bytes against an account's
// 70 or more, so a subtree skipped as marked had its storage tries walked
// too; see stateWalker.) Nothing of the state of a kept block is ever deleted;
// reading a pruned block's state fails with go-ethereum's missing trie
// node error.
type pruner struct {
	chain *Chain
	keep  uint64

	// written records the nodes committed while a round runs; nil between
	// rounds. Guarded by the chain's writeMu.
	written map[common.Hash]struct{}

	// round is held for the whole of a round; halt takes it to wait a
	// round out.
	round  sync.Mutex
	stopMu sync.Mutex
	stop   chan struct{} // closed by halt to abort the running round
	halted bool

	lastHead uint64 // head at the start of the last completed round; the pruning goroutine's only
	// below is the lowest block whose state the last round (or the running
	// one) keeps: states under it are gone from disk, or going (caches may
	// still hold pieces of them, which must not make a pruned state look
	// readable).
	below atomic.Uint64

	afterMark func() // test hook between mark and sweep
	pace      bool   // sleep between pieces of a round (off in tests)
}

func newPruner(c *Chain, keep uint64) *pruner {
	if keep == 0 {
		keep = DefaultKeepStates
	}
	return &pruner{chain: c, keep: keep, stop: make(chan struct{}), pace: true}
}

// wrote records the nodes of a block being committed; called under the
// chain's write lock.
func (p *pruner) wrote(ws *WriteSet) {
	if p.written == nil {
		return
	}
	for _, n := range ws.Nodes {
		p.written[n.Hash] = struct{}{}
	}
}

// halt aborts a running round and keeps new ones from starting until
// resume; used around replacing the database with a snapshot.
func (p *pruner) halt() {
	p.stopMu.Lock()
	if !p.halted {
		close(p.stop)
		p.halted = true
	}
	p.stopMu.Unlock()
	p.round.Lock() // wait for a running round to end
	p.round.Unlock()
}

func (p *pruner) resume() {
	p.stopMu.Lock()
	if p.halted {
		p.stop = make(chan struct{})
		p.halted = false
	}
	p.stopMu.Unlock()
}

func (p *pruner) stopping() <-chan struct{} {
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	return p.stop
}

// prunedError is the answer for the state of a block pruned away: the
// text go-ethereum gives for it, with the block.
func (p *pruner) prunedError(h *types.Header) error {
	if n := h.Number.Uint64(); n < p.below.Load() {
		return fmt.Errorf("%w: state of block %d is pruned; this node keeps the states of its last %d blocks (--gcmode archive keeps all)",
			&trie.MissingNodeError{NodeHash: h.Root, Path: []byte{}}, n, p.keep)
	}
	return nil
}

// pruneStats is what one round did.
type pruneStats struct {
	Head    uint64 // head when the round began
	Roots   int    // states kept
	Marked  int    // trie nodes reachable from them
	Scanned int    // trie nodes on disk
	Deleted int    // of which garbage, deleted
	Bytes   int64  // bytes of the deleted nodes
	Elapsed time.Duration
}

// due tells whether enough blocks left the kept window since the last
// round (a quarter of it) for one to be worth its walk over the state.
func (p *pruner) due() bool {
	head := p.chain.CurrentHeader().Number.Uint64()
	return head >= p.keep && head >= p.lastHead+p.keep/4
}

// run performs one round; quit (and halt) abort it.
func (p *pruner) run(quit <-chan struct{}) (pruneStats, error) {
	p.round.Lock()
	defer p.round.Unlock()
	stop := p.stopping()
	select {
	case <-stop:
		return pruneStats{}, errPruneAborted
	default:
	}
	// aborted is polled between pieces of work; it also paces the round
	// to about a quarter of one core (sleeping three times what the piece
	// took), so that a round spreads out instead of starving the chain.
	lastPause := time.Now()
	aborted := func() bool {
		if p.pace {
			worked := time.Since(lastPause)
			select {
			case <-quit:
				return true
			case <-stop:
				return true
			case <-time.After(3 * worked):
			}
			lastPause = time.Now()
		}
		select {
		case <-quit:
			return true
		case <-stop:
			return true
		default:
			return false
		}
	}
	start := time.Now()
	c := p.chain

	// 1. The roots to keep, and recording from now on. A node that
	// installed a snapshot of the head state alone holds fewer: the roots
	// stop at the first state not on disk. From here on, the states below
	// the window count as pruned (before anything is deleted, so that no
	// read meets a state half gone).
	c.writeMu.Lock()
	head := c.head.Load()
	var roots []common.Hash
	for n := head.Number.Uint64(); ; n-- {
		h := c.GetHeaderByNumber(n)
		if h == nil {
			c.writeMu.Unlock()
			return pruneStats{}, fmt.Errorf("header %d missing", n)
		}
		if ok, _ := c.db.Has(h.Root[:]); !ok && len(roots) > 0 {
			break
		}
		roots = append(roots, h.Root)
		if n == 0 || uint64(len(roots)) == p.keep {
			break
		}
	}
	p.below.Store(head.Number.Uint64() + 1 - uint64(len(roots)))
	p.written = make(map[common.Hash]struct{})
	c.writeMu.Unlock()
	defer func() {
		c.writeMu.Lock()
		p.written = nil
		c.writeMu.Unlock()
	}()
	st := pruneStats{Head: head.Number.Uint64(), Roots: len(roots)}

	// 2. Mark.
	w := newStateWalker(c.triedb)
	w.aborted = aborted
	for _, root := range roots {
		if err := w.state(root); errors.Is(err, errWalkAborted) {
			return st, errPruneAborted
		} else if err != nil {
			return st, fmt.Errorf("mark state %s: %w", root, err)
		}
	}
	marked := w.seen
	st.Marked = len(marked)
	if p.afterMark != nil {
		p.afterMark()
	}

	// 3. Sweep, in batches under the write lock.
	it := c.db.NewIterator(nil, nil)
	defer it.Release()
	const batchKeys = 4096
	var cands [][]byte
	flush := func() error {
		if len(cands) == 0 {
			return nil
		}
		if aborted() { // paces, so not under the lock
			return errPruneAborted
		}
		c.writeMu.Lock()
		defer c.writeMu.Unlock()
		batch := c.db.NewBatch()
		for _, k := range cands {
			if _, ok := p.written[common.BytesToHash(k)]; ok {
				continue
			}
			batch.Delete(k)
			st.Deleted++
		}
		cands = cands[:0]
		return batch.Write()
	}
	for n := 1; it.Next(); n++ {
		if n%(16*batchKeys) == 0 && aborted() {
			return st, errPruneAborted
		}
		k := it.Key()
		if len(k) != common.HashLength {
			continue
		}
		st.Scanned++
		if _, ok := marked[common.BytesToHash(k)]; ok {
			continue
		}
		st.Bytes += int64(len(it.Value()))
		cands = append(cands, common.CopyBytes(k))
		if len(cands) == batchKeys {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	if err := it.Error(); err != nil {
		return st, err
	}
	if err := flush(); err != nil {
		return st, err
	}
	p.lastHead = st.Head
	st.Elapsed = time.Since(start)
	return st, nil
}

// logRound reports a round's outcome.
func (p *pruner) logRound(st pruneStats, err error) {
	switch {
	case errors.Is(err, errPruneAborted):
		log.Debug("State pruning round aborted")
	case err != nil:
		log.Warn("State pruning round failed; nothing is lost, it runs again later", "err", err)
	default:
		log.Info("Pruned state", "head", st.Head, "kept", st.Roots, "reachable", st.Marked,
			"nodes", st.Scanned, "deleted", st.Deleted, "freed", common.StorageSize(st.Bytes),
			"elapsed", common.PrettyDuration(st.Elapsed))
	}
}
