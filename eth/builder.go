package eth

import (
	"errors"
	"sync"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/log"
)

// maxSpeculative is how many proposed but not yet applied blocks the leader
// may build on top of: block N+1 executes while N is being replicated.
const maxSpeculative = 3

// trailingBlockDelay is how long after the last block with transactions the
// leader adds one empty block when no transaction came since.
//
// Why a block at all: ethers v6's TransactionResponse.wait() looks the
// receipt up once, then re-checks it only on "block" events of a
// PollingBlockSubscriber whose first eth_blockNumber merely records a
// baseline (ethers/lib.esm/providers/provider.js wait(),
// subscriber-polling.js PollingBlockSubscriber and
// PollingTransactionSubscriber). A block that lands between the lookup and
// the baseline is never announced; on a chain that makes blocks only for
// transactions the waiter would hang until someone else transacts. Any
// later block releases it.
//
// Why this value: the block must land after ethers took its baseline, a few
// round trips after its lookup (eth_blockNumber with
// eth_getTransactionCount, eth_getTransactionByHash, each after ethers' 10 ms
// batch stall): if it came earlier it would be the baseline and the waiter
// would hang again, so the delay must exceed a slow client's round trips by
// far. On the other side, a block that lands before ethers' first poll
// after the baseline (4 s later with the default pollingInterval) costs a
// default client nothing; one that lands later costs it one more poll, not
// a hang. So 3 s: a client may take up to 3 s between its lookup and its
// baseline, and a default client still resolves at its first poll.
const trailingBlockDelay = 3 * time.Second

// builder cuts blocks on the leader: a block when maxTxs transactions are
// waiting or blockTime has passed since the first one arrived. Each block is
// executed once and proposed to the ledger as one entry. It may build on its
// own proposed blocks before they commit; when a proposal fails (leadership
// lost) the blocks built on it are dropped and their transactions go back
// to the pool.
//
// It builds no empty block but one: when the head holds transactions and
// no transaction has come for trailingBlockDelay since it committed (or since
// this node became leader on top of it), the leader proposes one empty
// block on it, through the ledger like any other, so that clients waiting
// for "the next block" (see trailingBlockDelay) are released. An idle chain,
// whose head is empty, gets nothing more: one trailing block per burst.
type builder struct {
	chain     *Chain
	pool      *TxPool
	fsm       *fsm
	ledger    cocobackend.Ledger
	leaderCh  <-chan struct{} // leadership changes, may be nil
	blockTime time.Duration
	maxTxs    int
	now       func() time.Time

	// newTimer makes the trailing block's timer: a time.Timer unless a test
	// fakes the clock (with now).
	newTimer func(d time.Duration) (<-chan time.Time, func() bool)

	quit chan struct{}
	wg   sync.WaitGroup

	// Speculation, owned by the loop goroutine.
	spec    *types.Header // last block built and proposed, nil: the chain head
	pending []*proposal   // in proposal order
	done    chan *proposal

	// The trailing empty block, owned by the loop goroutine: trailHead is
	// the head (a block with transactions) that is owed one, due at
	// trailAt; zero when none is owed. leading is IsLeader as last seen.
	trailHead common.Hash
	trailAt   time.Time
	leading   bool
}

type proposal struct {
	built *builtBlock
	res   cocobackend.Result
	err   error
}

func (b *builder) start() {
	b.quit = make(chan struct{})
	b.done = make(chan *proposal, maxSpeculative)
	if b.newTimer == nil {
		b.newTimer = func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		}
	}
	// A node that starts as the leader (a single node) owes nothing for the
	// head it opens: no block was made by this process yet. Becoming leader
	// later (Raft) is a leadership change, see leadershipChanged.
	b.leading = b.ledger.IsLeader()
	b.wg.Add(1)
	go b.loop()
}

func (b *builder) stop() {
	close(b.quit)
	b.wg.Wait()
}

func (b *builder) loop() {
	defer b.wg.Done()
	defer b.drain()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		// Wait until there is something to build and room to build it, or
		// the trailing block is due.
		for !b.canBuild() {
			trail, stopTrail := b.trailTimer()
			select {
			case <-b.quit:
				stopTrail()
				return
			case <-b.pool.Wake():
			case <-b.leaderCh:
				b.leadershipChanged()
			case p := <-b.done:
				b.settle(p)
			case <-trail:
				if err := b.buildTrailing(); err != nil {
					log.Error("Trailing block building failed", "err", err)
				}
			}
			stopTrail()
		}
		// Transactions are waiting: cut when maxTxs wait or the oldest has
		// waited blockTime.
		if oldest, ok := b.pool.OldestReady(); ok && b.pool.ReadyCount() < b.maxTxs {
			timer.Reset(time.Until(oldest.Add(b.blockTime)))
		wait:
			for b.pool.ReadyCount() < b.maxTxs {
				select {
				case <-b.quit:
					timer.Stop()
					return
				case <-b.pool.Wake():
				case p := <-b.done:
					b.settle(p)
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		if !b.ledger.IsLeader() {
			continue
		}
		if err := b.buildOne(); err != nil {
			log.Error("Block building failed", "err", err)
			select {
			case <-b.quit:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// canBuild reports whether a block may be built now.
func (b *builder) canBuild() bool {
	return b.pool.ReadyCount() > 0 && len(b.pending) < maxSpeculative && b.ledger.IsLeader()
}

// buildOne executes one block from the waiting transactions and proposes it.
// A block whose transactions were all rejected is dropped, not proposed.
func (b *builder) buildOne() error {
	txs := b.pool.Take(b.maxTxs)
	if len(txs) == 0 {
		return nil
	}
	parent := b.spec
	if parent == nil {
		parent = b.chain.CurrentHeader()
	}
	start := time.Now()
	built, err := b.chain.executeBlock(parent, uint64(b.now().Unix()), txs)
	if err != nil {
		b.pool.Return(txs, nil)
		return err
	}
	blockExecTimer.UpdateSince(start)
	b.pool.Return(built.deferred, built.rejected)
	if len(built.block.Transactions()) == 0 {
		b.chain.overlay.remove(built.writes)
		return nil
	}
	return b.propose(built, start)
}

// propose proposes an executed block to the ledger and speculates on it.
func (b *builder) propose(built *builtBlock, start time.Time) error {
	entry, err := encodeBlockEntry(built)
	if err != nil {
		b.chain.overlay.remove(built.writes)
		b.pool.Return(built.block.Transactions(), nil)
		return err
	}
	b.fsm.remember(built)
	p := &proposal{built: built, res: b.ledger.Propose(entry)}
	b.pending = append(b.pending, p)
	b.spec = built.block.Header()
	go func() {
		_, p.err = p.res.Wait()
		b.done <- p
	}()
	log.Debug("Proposed block", "number", built.block.NumberU64(), "txs", len(built.block.Transactions()),
		"gas", built.block.GasUsed(), "elapsed", time.Since(start))
	return nil
}

// settle handles a finished proposal. Proposals finish in order; a failed
// one invalidates everything built on it.
func (b *builder) settle(p *proposal) {
	for i, q := range b.pending {
		if q == p {
			b.pending = append(b.pending[:i], b.pending[i+1:]...)
			break
		}
	}
	hash := p.built.block.Hash()
	if p.err == nil && b.chain.GetHeaderByHash(hash) != nil {
		if len(b.pending) == 0 {
			b.spec = nil
		}
		if len(p.built.block.Transactions()) > 0 {
			// Committed now: the trailing block is due trailingBlockDelay
			// from here, unless more transactions come first.
			b.trailHead, b.trailAt = hash, b.now().Add(trailingBlockDelay)
		} else if b.trailHead == p.built.block.ParentHash() {
			b.trailHead = common.Hash{} // the trailing block is in
		}
		return
	}
	// Not committed (error), or committed but skipped as stale by the state
	// machine: give the transactions back and stop speculating on it.
	if p.err != nil && !errors.Is(p.err, cocobackend.ErrStopped) {
		log.Warn("Block proposal failed", "number", p.built.block.NumberU64(), "hash", hash, "err", p.err)
	}
	b.fsm.dropLocal(hash)
	b.spec = nil
}

// drain waits for outstanding proposals at shutdown so none is left
// half-settled.
func (b *builder) drain() {
	for len(b.pending) > 0 {
		b.settle(<-b.done)
	}
}

// leadershipChanged handles a signal of the ledger's leadership. A node that
// becomes leader on a head with transactions owes its trailing block: the
// previous leader may have gone before making it.
func (b *builder) leadershipChanged() {
	leading := b.ledger.IsLeader()
	if leading && !b.leading {
		if head := b.chain.CurrentHeader(); head.TxHash != types.EmptyTxsHash {
			b.trailHead, b.trailAt = head.Hash(), b.now().Add(trailingBlockDelay)
		}
	}
	b.leading = leading
}

// trailingDue reports whether the trailing block may be built now, but for
// its time: this node leads, nothing is in flight or waiting, and the head
// is still the block that is owed one.
func (b *builder) trailingDue() bool {
	return b.trailHead != (common.Hash{}) && len(b.pending) == 0 && b.pool.ReadyCount() == 0 &&
		b.ledger.IsLeader() && b.chain.CurrentHeader().Hash() == b.trailHead
}

// trailTimer returns a channel that fires when the trailing block is due,
// and its stop function; a nil channel when none is due.
func (b *builder) trailTimer() (<-chan time.Time, func() bool) {
	if !b.trailingDue() {
		return nil, func() bool { return false }
	}
	return b.newTimer(b.trailAt.Sub(b.now()))
}

// buildTrailing executes an empty block on the head and proposes it. The
// block is made like any other (timestamp after its parent's, system calls
// of the active forks) and followers apply its write set like any other.
func (b *builder) buildTrailing() error {
	if !b.trailingDue() {
		return nil
	}
	// Were this proposal to fail while this node still leads, try again a
	// delay later rather than at once.
	b.trailAt = b.now().Add(trailingBlockDelay)
	start := time.Now()
	built, err := b.chain.executeBlock(b.chain.CurrentHeader(), uint64(b.now().Unix()), nil)
	if err != nil {
		return err
	}
	blockExecTimer.UpdateSince(start)
	log.Debug("Proposing trailing empty block", "number", built.block.NumberU64(), "parent", built.block.ParentHash())
	return b.propose(built, start)
}
