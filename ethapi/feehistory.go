package ethapi

import (
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
)

// eth_feeHistory limits, geth's defaults.
const (
	// feeHistoryMaxBlocks is the most blocks one request covers; longer
	// requests are silently shortened (geth's MaxHeaderHistory and
	// MaxBlockHistory are both 1024).
	feeHistoryMaxBlocks = 1024
	// feeHistoryMaxPercentiles is the most reward percentiles one request
	// may ask for.
	feeHistoryMaxPercentiles = 100
)

var (
	errInvalidPercentile = errors.New("invalid reward percentile")
	// errRequestBeyondHead is geth's error for a newest block above the head;
	// geth words it fmt.Errorf("%w: requested %d, head %d", ...).
	errRequestBeyondHead = errors.New("request beyond head block")
)

// feeHistoryResult is the JSON result of eth_feeHistory, as geth's.
type feeHistoryResult struct {
	OldestBlock      *hexutil.Big     `json:"oldestBlock"`
	Reward           [][]*hexutil.Big `json:"reward,omitempty"`
	BaseFee          []*hexutil.Big   `json:"baseFeePerGas,omitempty"`
	GasUsedRatio     []float64        `json:"gasUsedRatio"`
	BlobBaseFee      []*hexutil.Big   `json:"baseFeePerBlobGas,omitempty"`
	BlobGasUsedRatio []float64        `json:"blobGasUsedRatio,omitempty"`
}

// validateRewardPercentiles checks the percentile argument of eth_feeHistory
// with geth's rules and messages: at most 100 values, each within [0, 100],
// strictly increasing.
func validateRewardPercentiles(percentiles []float64) error {
	if len(percentiles) > feeHistoryMaxPercentiles {
		return fmt.Errorf("%w: over the query limit %d", errInvalidPercentile, feeHistoryMaxPercentiles)
	}
	for i, p := range percentiles {
		if p < 0 || p > 100 {
			return fmt.Errorf("%w: %f", errInvalidPercentile, p)
		}
		if i > 0 && p <= percentiles[i-1] {
			return fmt.Errorf("%w: #%d:%f >= #%d:%f", errInvalidPercentile, i-1, percentiles[i-1], i, p)
		}
	}
	return nil
}

// feeHistoryRange applies geth's range rules to a request whose newest block
// (already resolved from a tag and checked against the head) is newest: at
// most feeHistoryMaxBlocks blocks, none before genesis. It returns the oldest
// block number and the number of blocks; count 0 means an empty result.
func feeHistoryRange(blockCount, newest uint64) (oldest, count uint64) {
	count = min(blockCount, feeHistoryMaxBlocks)
	if count > newest+1 {
		count = newest + 1
	}
	if count == 0 {
		return 0, 0
	}
	return newest + 1 - count, count
}

// blockFeeData is what one block contributes to a fee history.
type blockFeeData struct {
	baseFee, nextBaseFee         *big.Int
	blobBaseFee, nextBlobBaseFee *big.Int
	gasUsedRatio                 float64
	blobGasUsedRatio             float64
	reward                       []*big.Int // nil when not requested or unavailable
}

// feeHistory computes eth_feeHistory over consecutive blocks, oldest first.
//
// Without reward percentiles only headers is read: headers[i] is the header
// of the i-th block of the range (blocks and receipts may be nil). With
// percentiles, blocks[i] and receipts[i] must be the i-th block and its
// receipts (receipts carry GasUsed), and the headers are taken from the
// blocks, as geth does. A missing (nil) entry ends the range there, like a
// block geth cannot find; if the very first one is missing the result is
// empty. baseFeePerGas and baseFeePerBlobGas have one more entry than the
// range: the fees of the block after the newest one.
//
// As in geth, a request for zero blocks must be answered with the empty
// result before the percentiles are validated: feeHistory(nil, nil, nil,
// nil, config).
func feeHistory(headers []*types.Header, receipts []types.Receipts, blocks []*types.Block, rewardPercentiles []float64, config *params.ChainConfig) (*feeHistoryResult, error) {
	if err := validateRewardPercentiles(rewardPercentiles); err != nil {
		return nil, err
	}
	withRewards := len(rewardPercentiles) > 0
	var (
		oldest *big.Int
		fees   []*blockFeeData
	)
	for i := 0; ; i++ {
		var (
			header *types.Header
			block  *types.Block
			rcpts  types.Receipts
		)
		if withRewards {
			if i >= len(blocks) || blocks[i] == nil {
				break
			}
			block, header = blocks[i], blocks[i].Header()
			if i < len(receipts) {
				rcpts = receipts[i]
			}
		} else {
			if i >= len(headers) || headers[i] == nil {
				break
			}
			header = headers[i]
		}
		if oldest == nil {
			oldest = new(big.Int).Set(header.Number)
		}
		fees = append(fees, blockFees(header, block, rcpts, rewardPercentiles, config))
	}
	if len(fees) == 0 {
		return &feeHistoryResult{OldestBlock: new(hexutil.Big)}, nil
	}

	res := &feeHistoryResult{
		OldestBlock:      (*hexutil.Big)(oldest),
		BaseFee:          make([]*hexutil.Big, len(fees)+1),
		GasUsedRatio:     make([]float64, len(fees)),
		BlobBaseFee:      make([]*hexutil.Big, len(fees)+1),
		BlobGasUsedRatio: make([]float64, len(fees)),
	}
	if withRewards {
		res.Reward = make([][]*hexutil.Big, len(fees))
	}
	for i, f := range fees {
		res.BaseFee[i] = (*hexutil.Big)(f.baseFee)
		res.BaseFee[i+1] = (*hexutil.Big)(f.nextBaseFee)
		res.BlobBaseFee[i] = (*hexutil.Big)(f.blobBaseFee)
		res.BlobBaseFee[i+1] = (*hexutil.Big)(f.nextBlobBaseFee)
		res.GasUsedRatio[i] = f.gasUsedRatio
		res.BlobGasUsedRatio[i] = f.blobGasUsedRatio
		if withRewards {
			// A block whose receipts are missing gets an empty row, as in geth.
			row := make([]*hexutil.Big, len(f.reward))
			for j, r := range f.reward {
				row[j] = (*hexutil.Big)(r)
			}
			res.Reward[i] = row
		}
	}
	return res, nil
}

// blockFees computes one block's contribution, following geth's
// eth/gasprice processBlock.
func blockFees(header *types.Header, block *types.Block, receipts types.Receipts, percentiles []float64, config *params.ChainConfig) *blockFeeData {
	f := &blockFeeData{baseFee: header.BaseFee}
	if f.baseFee == nil {
		f.baseFee = new(big.Int)
	}
	if config.IsLondon(new(big.Int).Add(header.Number, big.NewInt(1))) {
		f.nextBaseFee = eip1559.CalcBaseFee(config, header)
	} else {
		f.nextBaseFee = new(big.Int)
	}

	if header.ExcessBlobGas != nil {
		f.blobBaseFee = eip4844.CalcBlobFee(config, header)
		excess := eip4844.CalcExcessBlobGas(config, header, header.Time)
		next := &types.Header{Number: header.Number, Time: header.Time, ExcessBlobGas: &excess}
		f.nextBlobBaseFee = eip4844.CalcBlobFee(config, next)
	} else {
		f.blobBaseFee = new(big.Int)
		f.nextBlobBaseFee = new(big.Int)
	}

	f.gasUsedRatio = float64(header.GasUsed) / float64(header.GasLimit)
	if header.BlobGasUsed != nil {
		if limit := eip4844.MaxBlobGasPerBlock(config, header.Time); limit != 0 {
			f.blobGasUsedRatio = float64(*header.BlobGasUsed) / float64(limit)
		}
	}

	if len(percentiles) > 0 {
		f.reward = blockRewards(block, receipts, percentiles)
	}
	return f
}

// blockRewards returns, for each percentile p, the effective priority fee of
// the cheapest transaction at which the gas used by the transactions sorted
// by fee reaches p% of the block's gas used. An empty block gives zeros;
// missing receipts give nil.
func blockRewards(block *types.Block, receipts types.Receipts, percentiles []float64) []*big.Int {
	if block == nil {
		return nil
	}
	txs := block.Transactions()
	rewards := make([]*big.Int, len(percentiles))
	if len(txs) == 0 {
		for i := range rewards {
			rewards[i] = new(big.Int)
		}
		return rewards
	}
	if len(receipts) < len(txs) {
		return nil
	}

	type gasAndTip struct {
		gasUsed uint64
		tip     *big.Int
	}
	sorted := make([]gasAndTip, len(txs))
	for i, tx := range txs {
		tip, _ := tx.EffectiveGasTip(block.BaseFee())
		sorted[i] = gasAndTip{gasUsed: receipts[i].GasUsed, tip: tip}
	}
	slices.SortStableFunc(sorted, func(a, b gasAndTip) int { return a.tip.Cmp(b.tip) })

	idx, cumulative := 0, sorted[0].gasUsed
	for i, p := range percentiles {
		threshold := uint64(float64(block.GasUsed()) * p / 100)
		for cumulative < threshold && idx < len(sorted)-1 {
			idx++
			cumulative += sorted[idx].gasUsed
		}
		rewards[i] = sorted[idx].tip
	}
	return rewards
}
