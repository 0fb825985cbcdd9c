package eth

import (
	"errors"
	"sync"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/log"
)

// maxSpeculative is how many proposed but not yet applied blocks the leader
// may build on top of: block N+1 executes while N is being replicated.
const maxSpeculative = 3

// builder cuts blocks on the leader: a block when maxTxs transactions are
// waiting or blockTime has passed since the first one arrived; never an
// empty block. Each block is executed once and proposed to the ledger as
// one entry. It may build on its own proposed blocks before they commit;
// when a proposal fails (leadership lost) the blocks built on it are
// dropped and their transactions go back to the pool.
type builder struct {
	chain     *Chain
	pool      *TxPool
	fsm       *fsm
	ledger    cocobackend.Ledger
	leaderCh  <-chan struct{} // leadership changes, may be nil
	blockTime time.Duration
	maxTxs    int
	now       func() time.Time

	quit chan struct{}
	wg   sync.WaitGroup

	// Speculation, owned by the loop goroutine.
	spec    *types.Header // last block built and proposed, nil: the chain head
	pending []*proposal   // in proposal order
	done    chan *proposal
}

type proposal struct {
	built *builtBlock
	res   cocobackend.Result
	err   error
}

func (b *builder) start() {
	b.quit = make(chan struct{})
	b.done = make(chan *proposal, maxSpeculative)
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
		// Wait until there is something to build and room to build it.
		for !b.canBuild() {
			select {
			case <-b.quit:
				return
			case <-b.pool.Wake():
			case <-b.leaderCh:
			case p := <-b.done:
				b.settle(p)
			}
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
