package eth

import (
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/metrics"
)

// Metrics in go-ethereum's registry; served in Prometheus format by
// --metrics (see cmd/cocogeth).
var (
	// go-ethereum's core registers chain/head/block itself: share it.
	headBlockGauge   = metrics.GetOrRegisterGauge("chain/head/block", nil)
	txsCommitted     = metrics.NewRegisteredCounter("chain/txs/committed", nil)
	blocksCommitted  = metrics.NewRegisteredCounter("chain/blocks/committed", nil)
	blockTxsGauge    = metrics.NewRegisteredGauge("chain/head/txs", nil)
	poolPendingGauge = metrics.NewRegisteredGauge("txpool/pending", nil)
	poolQueuedGauge  = metrics.NewRegisteredGauge("txpool/queued", nil)
	poolRejectMeter  = metrics.NewRegisteredMeter("txpool/rejected", nil)
	blockExecTimer   = metrics.NewRegisteredTimer("chain/execution", nil)
	blockWriteTimer  = metrics.NewRegisteredTimer("chain/write", nil)
)

func blockCommitted(block *types.Block, receipts types.Receipts) {
	headBlockGauge.Update(int64(block.NumberU64()))
	blockTxsGauge.Update(int64(len(block.Transactions())))
	txsCommitted.Inc(int64(len(block.Transactions())))
	blocksCommitted.Inc(1)
}
