package eth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/ethereum/go-ethereum/log"
)

// builder cuts blocks on the leader: a block when maxTxs transactions are
// waiting or blockTime has passed since the first one arrived; never an
// empty block. Each block is executed once and proposed to the ledger as
// one entry.
type builder struct {
	chain     *Chain
	pool      *TxPool
	fsm       *fsm
	ledger    cocobackend.Ledger
	blockTime time.Duration
	maxTxs    int
	now       func() time.Time

	quit chan struct{}
	wg   sync.WaitGroup
}

func (b *builder) start() {
	b.quit = make(chan struct{})
	b.wg.Add(1)
	go b.loop()
}

func (b *builder) stop() {
	close(b.quit)
	b.wg.Wait()
}

func (b *builder) loop() {
	defer b.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		if b.pool.ReadyCount() == 0 {
			select {
			case <-b.quit:
				return
			case <-b.pool.Wake():
				continue
			}
		}
		// Transactions are waiting: give the batch blockTime to fill.
		if b.pool.ReadyCount() < b.maxTxs {
			timer.Reset(b.blockTime)
		wait:
			for b.pool.ReadyCount() < b.maxTxs {
				select {
				case <-b.quit:
					timer.Stop()
					return
				case <-b.pool.Wake():
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
			if errors.Is(err, cocobackend.ErrStopped) {
				return
			}
			log.Error("Block building failed", "err", err)
			select {
			case <-b.quit:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// buildOne executes one block from the waiting transactions and proposes it.
func (b *builder) buildOne() error {
	txs := b.pool.Take(b.maxTxs)
	if len(txs) == 0 {
		return nil
	}
	parent := b.chain.CurrentHeader()
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
	if _, err := b.ledger.Propose(context.Background(), entry); err != nil {
		if lost := b.fsm.forget(built.block.Hash()); lost != nil {
			b.chain.overlay.remove(built.writes)
			b.pool.Return(built.block.Transactions(), nil)
		}
		return err
	}
	log.Debug("Built block", "number", built.block.NumberU64(), "txs", len(built.block.Transactions()),
		"gas", built.block.GasUsed(), "elapsed", time.Since(start))
	return nil
}
